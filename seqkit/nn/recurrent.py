"""Recurrent encoder: embeddings followed by a stacked LSTM, GRU or Elman RNN through the fused kernels."""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

CellType = Literal["lstm", "gru", "rnn"]
State = Tensor | tuple[Tensor, Tensor]

_LAYERS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


class RecurrentEncoder(nn.Module):
    """Token ids -> embeddings -> stacked ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN`` (tanh).

    Args:
        vocab_size: Number of token ids.
        embedding_dim: Size of each embedding ``E``.
        hidden_size: Hidden size ``H`` per direction.
        num_layers: Stacked recurrent layers.
        cell: ``lstm``, ``gru`` or ``rnn`` (Elman, tanh).
        bidirectional: Run a backward direction too; outputs are then ``2H`` wide.
        dropout: Dropout on the embeddings and between recurrent layers.
        pad_id: Padding id (its embedding stays zero).
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
    ) -> None:
        super().__init__()
        self.cell = cell
        self.num_layers = num_layers
        self.num_directions = 2 if bidirectional else 1
        self.hidden_size = hidden_size
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_id)
        self.dropout = nn.Dropout(dropout)
        self.rnn = _LAYERS[cell](
            embedding_dim, hidden_size, num_layers=num_layers, batch_first=True, bidirectional=bidirectional,
            dropout=dropout if num_layers > 1 else 0.0,
        )

    @property
    def output_size(self) -> int:
        """Width of each output vector: ``H`` or ``2H``."""
        return self.hidden_size * self.num_directions

    def forward(self, ids: Tensor, lengths: Tensor | None = None, state: State | None = None) -> tuple[Tensor, State]:
        """Encode a batch.

        Args:
            ids: Token ids ``(B, T)``.
            lengths: Real length of each sequence ``(B,)``; positions past it are padding. ``None``: all ``T``.
            state: Initial state, ``(L * D, B, H)`` (a pair ``(h, c)`` for LSTM), e.g. carried from the last batch.

        Returns:
            ``outputs`` ``(B, T, D * H)`` (zero at padded positions) and the final state, shaped like ``state``,
            taken at each sequence's last real token.
        """
        embedded = self.dropout(self.embedding(ids))
        if lengths is None:
            outputs, final = self.rnn(embedded, state)
            return outputs, final
        packed = pack_padded_sequence(embedded, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False)
        outputs, final = self.rnn(packed, state)
        outputs, _ = pad_packed_sequence(outputs, batch_first=True, total_length=ids.shape[1])
        return outputs, final

    def last_hidden(self, final: State) -> Tensor:
        """Top layer's final hidden state, both directions concatenated: ``(B, D * H)``."""
        h = final[0] if isinstance(final, tuple) else final
        top = h.view(self.num_layers, self.num_directions, h.shape[1], self.hidden_size)[-1]
        return torch.cat(list(top), dim=-1)
