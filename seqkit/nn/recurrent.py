"""Recurrent encoder: embeddings followed by a stacked LSTM, GRU or Elman RNN through the fused kernels."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seqkit.nn.config_checks import at_least, one_of, rate
from seqkit.nn.dropout import DropoutEmbedding, weight_drop
from seqkit.nn.lengths import run_fused_by_length
from seqkit.nn.parallel_scan import MinGRU, MinLSTM, ScanRNN

CellType = Literal["lstm", "gru", "rnn", "mingru", "minlstm"]
LengthMode = Literal["auto", "pack", "split"]
State = Tensor | tuple[Tensor, Tensor]

#: The layer for each cell type: PyTorch's fused kernels, and the parallel-scan cells with the same interface.
FUSED_LAYERS: dict[str, type[nn.Module]] = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN, "mingru": MinGRU,
                                            "minlstm": MinLSTM}

#: ``length_mode="auto"`` splits (rather than packs) CPU training batches at least this long. At 32 the two were
#: within 20% either way, at 16 packing was up to 1.45x faster, from 64 on splitting was 1.25-7x faster
#: (``seqkit bench layers --lengths``; docs/nn.md, "Variable-length batches").
SPLIT_MIN_LENGTH = 32


def detach_state(state: State | None) -> State | None:
    """Cut the graph behind a carried state (truncated backpropagation through time)."""
    if state is None:
        return None
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


def ensure_flat_weights(rnn: nn.RNNBase) -> None:
    """Re-compact a CUDA RNN's weights into one cuDNN buffer when something (DDP, ``load_state_dict`` of new
    tensors, tying) left them in separate storages; cuDNN otherwise copies them on every call and warns
    "RNN module weights are not part of single contiguous chunk of memory". A no-op on CPU, and for a weight-dropped
    RNN in training (:func:`weight_copy_expected`): its dropped matrix is a new tensor at every call, so re-packing
    would only copy every weight into a new buffer at every step."""
    weights = getattr(rnn, "_flat_weights", None)
    if not weights or weights[0] is None or not weights[0].is_cuda or weight_copy_expected(rnn):
        return
    storage = weights[0].untyped_storage().data_ptr()
    if any(w is None or w.untyped_storage().data_ptr() != storage for w in weights):
        rnn.flatten_parameters()


def weight_copy_expected(rnn: nn.Module) -> bool:
    """Whether cuDNN must gather ``rnn``'s weights into one buffer at every call: a weight-dropped RNN in training."""
    return rnn.training and parametrize.is_parametrized(rnn)


@contextmanager
def fused_call(rnn: nn.Module) -> Iterator[None]:
    """Around a call of a fused RNN: cuDNN's warning that it copies the weights into one buffer is silenced where
    that copy is expected (weight drop in training: the copy is the price of a new dropped matrix per step, a few
    milliseconds at most, measured by ``seqkit bench gpu``); anywhere else it stays, since it means a forgotten
    ``flatten_parameters``."""
    if not weight_copy_expected(rnn):
        yield
        return
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="RNN module weights are not part of single contiguous chunk")
        yield


@dataclass(frozen=True)
class EncoderConfig:
    """The :class:`RecurrentEncoder` settings as one group (``model.init_args.network.encoder.hidden_size`` in a
    classifier's recipe); ``RecurrentEncoder(vocab_size, pad_id=..., **asdict(config))`` builds it."""

    embedding_dim: int = 128
    """Size of each token embedding ``E``."""
    hidden_size: int = 128
    """Hidden size ``H`` per direction."""
    num_layers: int = 1
    """Stacked recurrent layers ``L``."""
    cell: CellType = "lstm"
    """``lstm``, ``gru``, ``rnn`` (Elman, tanh), ``mingru`` or ``minlstm`` (parallel scan)."""
    bidirectional: bool = True
    """Run a backward direction too (outputs ``2H`` wide)."""
    dropout: float = 0.2
    """Dropout on the embeddings and between recurrent layers (a classifier applies it before its head too)."""

    def __post_init__(self) -> None:
        at_least(self, "embedding_dim", "hidden_size", "num_layers")
        rate(self, "dropout")
        one_of(self, "cell", FUSED_LAYERS)


class RecurrentEncoder(nn.Module):
    """Token ids -> embeddings -> stacked ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN`` (tanh).

    Args:
        vocab_size: Number of token ids.
        embedding_dim: Size of each embedding ``E``.
        hidden_size: Hidden size ``H`` per direction.
        num_layers: Stacked recurrent layers ``L``.
        cell: ``lstm``, ``gru`` or ``rnn`` (Elman, tanh) through the fused kernels, or ``mingru`` / ``minlstm``
            (:mod:`seqkit.nn.parallel_scan`: gates from the input only, a whole sequence in one parallel scan).
        bidirectional: Run a backward direction too (``D = 2``); outputs are then ``2H`` wide.
        dropout: Dropout on the embeddings and between recurrent layers.
        pad_id: Padding id (its embedding stays zero).
        embedding_dropout: Probability of dropping a whole word type per batch (AWD-LSTM).
        weight_dropout: DropConnect on the hidden-to-hidden weights (AWD-LSTM); the fused kernel still runs.
        length_mode: How batches with padding run. ``pack``: ``PackedSequence`` (cuDNN's native path on GPU).
            ``split``: padded chunks cut at each distinct length (:func:`~seqkit.nn.lengths.run_fused_by_length`),
            exact like packing but without packing's quadratic backward on CPU. ``auto``: ``split`` for CPU
            training batches of at least ``SPLIT_MIN_LENGTH`` steps, ``pack`` otherwise (GPU, inference, short).
    """

    def __init__(
        self,
        vocab_size: int,
        embedding_dim: int = 128,
        hidden_size: int = 128,
        num_layers: int = 1,
        cell: CellType = "lstm",
        bidirectional: bool = False,
        dropout: float = 0.0,
        pad_id: int = 0,
        *,
        embedding_dropout: float = 0.0,
        weight_dropout: float = 0.0,
        length_mode: LengthMode = "auto",
    ) -> None:
        super().__init__()
        if cell not in FUSED_LAYERS:
            raise ValueError(f"cell must be one of {sorted(FUSED_LAYERS)}, got {cell!r}")
        if length_mode not in ("auto", "pack", "split"):
            raise ValueError(f"length_mode must be 'auto', 'pack' or 'split', got {length_mode!r}")
        self.cell = cell
        self.num_layers = num_layers
        self.num_directions = 2 if bidirectional else 1
        self.hidden_size = hidden_size
        self.length_mode = length_mode
        # Same parameters and state dict as nn.Embedding; drops word types only when embedding_dropout > 0.
        self.embedding = DropoutEmbedding(vocab_size, embedding_dim, padding_idx=pad_id, dropout=embedding_dropout)
        self.dropout = nn.Dropout(dropout)
        self.rnn = FUSED_LAYERS[cell](
            embedding_dim, hidden_size, num_layers=num_layers, batch_first=True, bidirectional=bidirectional,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        if weight_dropout:
            if isinstance(self.rnn, ScanRNN):
                raise ValueError(f"weight_dropout drops hidden-to-hidden weights, which {cell} does not have; "
                                 "use dropout instead.")
            weight_drop(self.rnn, weight_dropout)

    @property
    def output_size(self) -> int:
        """Width of each output vector: ``H`` or ``2H``."""
        return self.hidden_size * self.num_directions

    def forward(self, ids: Tensor, lengths: Tensor | None = None, state: State | None = None) -> tuple[Tensor, State]:
        """Encode a batch.

        Args:
            ids: Token ids ``(B, T)``.
            lengths: Real length of each sequence ``(B,)``; positions past it are padding. ``None``: all ``T``.
            state: Initial state, ``(L * D, B, H)`` (a pair ``(h, c)`` for LSTM), e.g. carried from the last batch
                (pass it through :func:`detach_state` to truncate backpropagation).

        Returns:
            ``outputs`` ``(B, T, D * H)`` (zero at padded positions) and the final state, shaped like ``state``,
            taken at each sequence's last real token (a sequence of length 0 keeps its initial state).
        """
        embedded = self.dropout(self.embedding(ids))
        ensure_flat_weights(self.rnn)
        # cached(): with weight drop, every read of a dropped weight in this forward sees the same mask.
        with parametrize.cached(), fused_call(self.rnn):
            if lengths is None:
                return self.rnn(embedded, state)
            lengths_cpu = lengths.cpu()
            if lengths_cpu.numel() and (int(lengths_cpu.max()) > ids.shape[1] or int(lengths_cpu.min()) < 0):
                raise ValueError(f"lengths must lie in [0, {ids.shape[1]}] (the padded length), got {lengths.tolist()}")
            if int(lengths_cpu.min()) == ids.shape[1]:  # no padding: one plain call
                return self.rnn(embedded, state)
            if isinstance(self.rnn, ScanRNN):  # masks padding inside its scan: exact in one call
                return self.rnn(embedded, state, lengths)
            if self._mode(embedded) == "split":
                return run_fused_by_length(self.rnn, embedded, lengths_cpu, state)
            return self._packed(embedded, lengths_cpu, state)

    def _mode(self, embedded: Tensor) -> str:
        if self.length_mode != "auto":
            return self.length_mode
        cpu_training = embedded.device.type == "cpu" and torch.is_grad_enabled()
        return "split" if cpu_training and embedded.shape[1] >= SPLIT_MIN_LENGTH else "pack"

    def _packed(self, embedded: Tensor, lengths: Tensor, state: State | None) -> tuple[Tensor, State]:
        packed = pack_padded_sequence(embedded, lengths.clamp(min=1), batch_first=True, enforce_sorted=False)
        outputs, final = self.rnn(packed, state)
        outputs, _ = pad_packed_sequence(outputs, batch_first=True, total_length=embedded.shape[1])
        empty = lengths == 0
        if bool(empty.any()):  # packing cannot hold empty sequences: they ran one pad step, undo it
            real = (~empty).to(embedded.device)
            outputs = outputs * real[:, None, None]
            if state is None:
                state = tuple(map(torch.zeros_like, final)) if isinstance(final, tuple) else torch.zeros_like(final)
            keep = real[None, :, None]
            final = (tuple(torch.where(keep, f, s) for f, s in zip(final, state)) if isinstance(final, tuple)
                     else torch.where(keep, final, state))
        return outputs, final

    def last_hidden(self, final: State) -> Tensor:
        """Top layer's final hidden state, both directions concatenated: ``(B, D * H)``."""
        h = final[0] if isinstance(final, tuple) else final
        top = h.view(self.num_layers, self.num_directions, h.shape[1], self.hidden_size)[-1]
        return torch.cat(list(top), dim=-1)
