"""Masked attention: additive (Bahdanau), multiplicative (Luong dot and general), concat, and attention pooling.

Every scorer takes ``query`` ``(B, Q)`` (one query per sequence, e.g. a decoder step) or ``(B, T_q, Q)`` (all
decoder steps at once, as in Luong attention), ``keys`` ``(B, S, K)``, optional ``values`` ``(B, S, V)`` (default:
the keys) and ``mask`` ``(B, S)``, ``True`` at real positions. It returns ``(context, weights)``: ``(B, V)`` and
``(B, S)``, or ``(B, T_q, V)`` and ``(B, T_q, S)``. Padded positions get a weight of exactly zero, and a row
with no real position gets all-zero weights and a zero context instead of NaN. A decoder that attends over one
memory at every step projects it once with :meth:`Attention.keys` and calls :meth:`Attention.attend` per step.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def masked_softmax(scores: Tensor, mask: Tensor | None, dim: int = -1) -> Tensor:
    """Softmax of ``scores`` over ``dim`` where ``mask`` is ``True``; exactly ``0`` elsewhere.

    ``mask`` broadcasts against ``scores``. Rows without any ``True`` come out all zero (not NaN).
    """
    if mask is None:
        return torch.softmax(scores, dim=dim)
    scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=dim)
    # exp(-inf) is exactly 0, so real rows need nothing more; an all-padding row is NaN and becomes 0.
    return weights.masked_fill(~mask, 0.0)


class Attention(nn.Module):
    """A scorer in two halves: :meth:`keys` projects the memory once per source, :meth:`score` scores queries
    against those projected keys. A decoder calls :meth:`keys` after encoding and :meth:`attend` at every step, so
    the query-independent work is not repeated per step; :meth:`forward` does both at once."""

    def keys(self, memory: Tensor) -> Tensor:
        """The query-independent half of the scorer: ``memory`` ``(B, S, K)`` -> projected keys ``(B, S, K')``."""
        return memory

    def score(self, query: Tensor, keys: Tensor) -> Tensor:
        """Raw scores ``(B, T_q, S)`` of ``query`` ``(B, T_q, Q)`` against projected ``keys`` ``(B, S, K')``."""
        raise NotImplementedError

    def attend(self, query: Tensor, keys: Tensor, values: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``query`` ``(B, Q)`` or ``(B, T_q, Q)``, ``keys`` from :meth:`keys`, ``values`` ``(B, S, V)``, ``mask``
        ``(B, S)`` -> ``context`` ``(B, V)`` / ``(B, T_q, V)`` and ``weights`` ``(B, S)`` / ``(B, T_q, S)``."""
        single = query.dim() == 2
        if single:
            query = query.unsqueeze(1)
        weights = masked_softmax(self.score(query, keys), None if mask is None else mask[:, None, :])
        context = torch.bmm(weights, values)
        if single:
            return context.squeeze(1), weights.squeeze(1)
        return context, weights

    def forward(self, query: Tensor, keys: Tensor, values: Tensor | None = None,
                mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """As :meth:`attend`, with raw ``keys`` ``(B, S, K)`` (projected here) and ``values`` defaulting to them."""
        return self.attend(query, self.keys(keys), keys if values is None else values, mask)


class AdditiveAttention(Attention):
    """Bahdanau, Cho and Bengio (2015): ``score(q, k) = v^T tanh(W_q q + W_k k)``.

    Args:
        query_size: ``Q``.
        key_size: ``K``.
        attention_size: Width ``A`` of the hidden layer.
        key_bias: Give ``W_k`` a bias (Bahdanau's ``b``; Luong's concat form has none).
    """

    def __init__(self, query_size: int, key_size: int, attention_size: int, key_bias: bool = True) -> None:
        super().__init__()
        self.query_layer = nn.Linear(query_size, attention_size, bias=False)
        self.key_layer = nn.Linear(key_size, attention_size, bias=key_bias)
        self.energy = nn.Linear(attention_size, 1, bias=False)

    def keys(self, memory: Tensor) -> Tensor:
        return self.key_layer(memory)  # (B, S, A)

    def score(self, query: Tensor, keys: Tensor) -> Tensor:
        # (B, T_q, 1, A) + (B, 1, S, A) -> (B, T_q, S)
        return self.energy(torch.tanh(self.query_layer(query).unsqueeze(2) + keys.unsqueeze(1))).squeeze(-1)


class DotAttention(Attention):
    """Luong, Pham and Manning (2015), "dot": ``score(q, k) = q . k`` (``Q == K``).

    Args:
        scaled: Divide by ``sqrt(K)`` (as in Transformers), which keeps the softmax from saturating for large ``K``.
    """

    def __init__(self, scaled: bool = False) -> None:
        super().__init__()
        self.scaled = scaled

    def score(self, query: Tensor, keys: Tensor) -> Tensor:
        scores = torch.bmm(query, keys.transpose(1, 2))
        return scores / math.sqrt(keys.shape[-1]) if self.scaled else scores

    def extra_repr(self) -> str:
        return f"scaled={self.scaled}"


class GeneralAttention(DotAttention):
    """Luong "general": ``score(q, k) = q^T W k``, the dot product of ``q`` with the projected keys ``W k``.

    Args:
        query_size: ``Q``.
        key_size: ``K``.
    """

    def __init__(self, query_size: int, key_size: int) -> None:
        super().__init__()
        self.key_layer = nn.Linear(key_size, query_size, bias=False)

    def keys(self, memory: Tensor) -> Tensor:
        return self.key_layer(memory)  # (B, S, Q)


class ConcatAttention(AdditiveAttention):
    """Luong "concat": ``score(q, k) = v^T tanh(W [q; k])``, which is ``v^T tanh(W_q q + W_k k)``: additive
    attention without a key bias.

    Args:
        query_size: ``Q``.
        key_size: ``K``.
        attention_size: Width ``A`` of the hidden layer.
    """

    def __init__(self, query_size: int, key_size: int, attention_size: int) -> None:
        with torch.random.fork_rng(devices=[]):  # these draws are replaced below: keep them off the seeded stream
            super().__init__(query_size, key_size, attention_size, key_bias=False)
        self.register_load_state_dict_pre_hook(_split_concat_layer)
        # Draw W as one layer over [q; k], then v, and split W: a seed gives the weights it gave that layout.
        joint = nn.Linear(query_size + key_size, attention_size, bias=False).weight
        energy = nn.Linear(attention_size, 1, bias=False).weight
        self.load_state_dict({"layer.weight": joint, "energy.weight": energy})


def _split_concat_layer(module: ConcatAttention, state_dict: dict, prefix: str, *args) -> None:
    """Load weights saved when :class:`ConcatAttention` held one ``layer`` ``(A, Q + K)`` over ``[q; k]``."""
    w = state_dict.pop(prefix + "layer.weight", None)
    if w is not None:
        q = module.query_layer.in_features  # W [q; k] = W[:, :Q] q + W[:, Q:] k
        state_dict[prefix + "query_layer.weight"], state_dict[prefix + "key_layer.weight"] = w[:, :q], w[:, q:]


class AttentionPooling(nn.Module):
    """Attention pooling with a learned context vector (Yang et al., "Hierarchical Attention Networks", 2016).

    ``u_t = tanh(W h_t + b)``, ``a = softmax_t(u_t . u_w)`` over real positions, ``pooled = sum_t a_t h_t``.

    Args:
        input_size: ``H`` of the inputs.
        attention_size: Width ``A`` of ``u_t`` and of the context vector ``u_w``.

    ``forward(inputs (B, T, H), mask (B, T) | None) -> (pooled (B, H), weights (B, T))``.
    """

    def __init__(self, input_size: int, attention_size: int) -> None:
        super().__init__()
        self.projection = nn.Linear(input_size, attention_size)
        self.context = nn.Parameter(torch.empty(attention_size).uniform_(-0.1, 0.1))

    def forward(self, inputs: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        scores = torch.tanh(self.projection(inputs)) @ self.context  # (B, T)
        weights = masked_softmax(scores, mask)
        return torch.bmm(weights.unsqueeze(1), inputs).squeeze(1), weights
