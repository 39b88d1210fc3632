"""AWD-LSTM regularisation: embedding (word) dropout, locked (variational) dropout and weight drop.

Merity, Keskar and Socher, "Regularizing and Optimizing LSTM Language Models" (2017). Weight drop here is a
``torch.nn.utils.parametrize`` parametrization, so ``nn.LSTM``/``nn.GRU``/``nn.RNN`` keep running their fused
kernel with the dropped hidden-to-hidden matrix (the original implementation re-registers parameters in a way
modern PyTorch rejects or silently ignores).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils import parametrize


def embedding_dropout(embedding: nn.Embedding, ids: Tensor, p: float, training: bool = True) -> Tensor:
    """Look up ``ids`` ``(B, T)`` in ``embedding`` with whole word types dropped: ``(B, T, E)``.

    One mask over the vocabulary per call: a dropped word is zero at every position of the batch, kept words are
    scaled by ``1 / (1 - p)``. Identity when not ``training`` or ``p == 0``.
    """
    embedded = nn.Embedding.forward(embedding, ids)  # the plain lookup, also for a DropoutEmbedding
    if not training or p == 0.0:
        return embedded
    keep = embedding.weight.new_empty(embedding.num_embeddings, 1).bernoulli_(1.0 - p) / (1.0 - p)
    # Masking the looked-up rows equals masking the (V, E) matrix, without touching all of it.
    return embedded * F.embedding(ids, keep)


class DropoutEmbedding(nn.Embedding):
    """An ``nn.Embedding`` with embedding dropout: ``(B, T)`` ids -> ``(B, T, E)``.

    Same parameters and state dict as ``nn.Embedding`` (so weight tying works unchanged), plus ``dropout``,
    the probability of dropping a word type for a whole batch (see :func:`embedding_dropout`).
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 dropout: float = 0.1) -> None:
        super().__init__(num_embeddings, embedding_dim, padding_idx=padding_idx)
        self.dropout = dropout

    def forward(self, ids: Tensor) -> Tensor:
        return embedding_dropout(self, ids, self.dropout, self.training)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, dropout={self.dropout}"


class LockedDropout(nn.Module):
    """Variational dropout: one mask per sequence, shared by every time step.

    ``(B, T, F)`` -> ``(B, T, F)`` (``(T, B, F)`` with ``batch_first=False``). Zeros stay zero, so padded
    positions are unaffected. Identity in eval mode.
    """

    def __init__(self, p: float = 0.5, batch_first: bool = True) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = p
        self.batch_first = batch_first

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        shape = (x.shape[0], 1, x.shape[2]) if self.batch_first else (1, x.shape[1], x.shape[2])
        mask = x.new_empty(shape).bernoulli_(1.0 - self.p) / (1.0 - self.p)
        return x * mask

    def extra_repr(self) -> str:
        return f"p={self.p}, batch_first={self.batch_first}"


class WeightDropout(nn.Module):
    """Parametrization applying DropConnect to a weight: ``W -> dropout(W)`` in training, ``W`` in eval.

    Register it with :func:`weight_drop`, not by hand.
    """

    def __init__(self, p: float) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"weight drop probability must be in [0, 1), got {p}")
        self.p = p

    def forward(self, weight: Tensor) -> Tensor:
        # In eval F.dropout returns ``weight`` itself, so nn.LSTM sees unchanged weights and skips re-flattening.
        return F.dropout(weight, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


def weight_drop(module: nn.Module, p: float, names: Iterable[str] | None = None) -> nn.Module:
    """Apply DropConnect to ``module``'s hidden-to-hidden weights, in place; returns ``module``.

    Works on ``nn.LSTM``/``nn.GRU``/``nn.RNN`` (every ``weight_hh_l*`` by default) and on the seqkit cells
    (``weight_hh``). The fused kernel still runs: each forward reads the parametrized weight, and torch's RNN
    modules refresh their weight list when a weight tensor changes. One mask per forward needs the accesses of
    one forward to share it: run the module inside ``torch.nn.utils.parametrize.cached()`` (``RecurrentEncoder``
    and ``CellRNN`` do this themselves); without it, ``nn.LSTM`` draws a second mask it does not use.

    The raw weight becomes ``module.parametrizations.<name>.original`` (the state-dict keys change accordingly).
    ``torch.save(module)`` of a parametrized module is not supported by PyTorch: save the ``state_dict``.

    Args:
        module: The recurrent module.
        p: Probability of zeroing each weight entry.
        names: Parameter names; default every parameter whose name starts with ``weight_hh``.
    """
    if names is None:
        names = [name for name, _ in module.named_parameters(recurse=False) if name.startswith("weight_hh")]
    names = list(names)
    if not names:
        raise ValueError(f"{type(module).__name__} has no weight_hh* parameters to drop")
    for name in names:
        parametrize.register_parametrization(module, name, WeightDropout(p))
    return module
