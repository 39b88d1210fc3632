"""Masked attention: additive (Bahdanau), multiplicative (Luong dot and general), concat, and attention pooling.

Every scorer takes ``query`` ``(B, Q)`` (one query per sequence, e.g. a decoder step) or ``(B, T_q, Q)`` (all
decoder steps at once, as in Luong attention), ``keys`` ``(B, S, K)``, optional ``values`` ``(B, S, V)`` (default:
the keys) and ``mask`` ``(B, S)``, ``True`` at real positions. It returns ``(context, weights)``: ``(B, V)`` and
``(B, S)``, or ``(B, T_q, V)`` and ``(B, T_q, S)``. Padded positions get a weight of exactly zero, and a row
with no real position gets all-zero weights and a zero context instead of NaN.
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


class _Attention(nn.Module):
    """Shared forward: subclasses compute raw scores ``(B, T_q, S)`` in :meth:`score`."""

    def score(self, query: Tensor, keys: Tensor) -> Tensor:
        """Raw scores ``(B, T_q, S)`` for ``query`` ``(B, T_q, Q)`` and ``keys`` ``(B, S, K)``."""
        raise NotImplementedError

    def forward(self, query: Tensor, keys: Tensor, values: Tensor | None = None,
                mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``query`` ``(B, Q)`` or ``(B, T_q, Q)``, ``keys`` ``(B, S, K)``, ``values`` ``(B, S, V)``, ``mask``
        ``(B, S)`` -> ``context`` ``(B, V)`` / ``(B, T_q, V)`` and ``weights`` ``(B, S)`` / ``(B, T_q, S)``."""
        single = query.dim() == 2
        if single:
            query = query.unsqueeze(1)
        values = keys if values is None else values
        weights = masked_softmax(self.score(query, keys), None if mask is None else mask[:, None, :])
        context = torch.bmm(weights, values)
        if single:
            return context.squeeze(1), weights.squeeze(1)
        return context, weights


class AdditiveAttention(_Attention):
    """Bahdanau, Cho and Bengio (2015): ``score(q, k) = v^T tanh(W_q q + W_k k)``.

    Args:
        query_size: ``Q``.
        key_size: ``K``.
        attention_size: Width ``A`` of the hidden layer.
    """

    def __init__(self, query_size: int, key_size: int, attention_size: int) -> None:
        super().__init__()
        self.query_layer = nn.Linear(query_size, attention_size, bias=False)
        self.key_layer = nn.Linear(key_size, attention_size, bias=True)
        self.energy = nn.Linear(attention_size, 1, bias=False)

    def score(self, query: Tensor, keys: Tensor) -> Tensor:
        # (B, T_q, 1, A) + (B, 1, S, A) -> (B, T_q, S)
        hidden = torch.tanh(self.query_layer(query).unsqueeze(2) + self.key_layer(keys).unsqueeze(1))
        return self.energy(hidden).squeeze(-1)


class DotAttention(_Attention):
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


class GeneralAttention(_Attention):
    """Luong "general": ``score(q, k) = q^T W k``.

    Args:
        query_size: ``Q``.
        key_size: ``K``.
    """

    def __init__(self, query_size: int, key_size: int) -> None:
        super().__init__()
        self.key_layer = nn.Linear(key_size, query_size, bias=False)

    def score(self, query: Tensor, keys: Tensor) -> Tensor:
        return torch.bmm(query, self.key_layer(keys).transpose(1, 2))


class ConcatAttention(_Attention):
    """Luong "concat": ``score(q, k) = v^T tanh(W [q; k])``, one layer over the concatenation.

    Args:
        query_size: ``Q``.
        key_size: ``K``.
        attention_size: Width ``A`` of the hidden layer.
    """

    def __init__(self, query_size: int, key_size: int, attention_size: int) -> None:
        super().__init__()
        self.layer = nn.Linear(query_size + key_size, attention_size, bias=False)
        self.energy = nn.Linear(attention_size, 1, bias=False)

    def score(self, query: Tensor, keys: Tensor) -> Tensor:
        steps, length = query.shape[1], keys.shape[1]
        pairs = torch.cat(
            [query.unsqueeze(2).expand(-1, -1, length, -1), keys.unsqueeze(1).expand(-1, steps, -1, -1)], dim=-1
        )  # (B, T_q, S, Q + K)
        return self.energy(torch.tanh(self.layer(pairs))).squeeze(-1)


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
