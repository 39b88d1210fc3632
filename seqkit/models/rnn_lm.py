"""An RNN language model with AWD-LSTM regularisation, weight tying and an optional adaptive softmax.

Embedding (embedding dropout) -> locked dropout -> ``num_layers`` single-layer fused RNNs (``nn.LSTM`` /
``nn.GRU`` / ``nn.RNN``), each with weight drop on its hidden-to-hidden matrix and locked dropout after it ->
decoder. With ``tie_weights`` the last layer's size is the embedding size and the decoder shares the embedding
matrix (Press and Wolf 2017; Inan et al. 2017), as in AWD-LSTM (Merity et al. 2017).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils import parametrize

from seqkit.nn.dropout import DropoutEmbedding, LockedDropout
from seqkit.nn.dropout import weight_drop as apply_weight_drop
from seqkit.nn.recurrent import FUSED_LAYERS, CellType, detach_state, ensure_flat_weights
from seqkit.nn.recurrent import State as LayerState
from seqkit.nn.tying import tie_weights as tie

#: One state per layer (the layers may differ in size, so they are not stacked).
State = list[LayerState]


def detach_layer_states(state: State | None) -> State | None:
    """Cut the graph behind a carried per-layer state (truncated BPTT)."""
    return None if state is None else [detach_state(s) for s in state]


class RNNLanguageModel(nn.Module):
    """Token ids ``(B, T)`` -> next-token logits ``(B, T, V)``, carrying a recurrent state.

    Args:
        vocab_size: Vocabulary size ``V``.
        embedding_dim: Embedding size ``E``.
        hidden_size: Hidden size of every layer but the last (which is ``E`` when tying).
        num_layers: Number of recurrent layers.
        cell: ``lstm``, ``gru`` or ``rnn`` (Elman, tanh); or ``mingru`` / ``minlstm`` (parallel scan, no weight drop).
        dropout: Locked dropout on the last layer's output (AWD-LSTM ``dropout``).
        dropout_input: Locked dropout on the embeddings (``dropouti``).
        dropout_hidden: Locked dropout between layers (``dropouth``).
        dropout_embedding: Embedding (word type) dropout (``dropoute``).
        weight_drop: DropConnect on hidden-to-hidden weights (``wdrop``); 0 disables it.
        tie_weights: Share the embedding with the decoder.
        adaptive_softmax_cutoffs: Use ``nn.AdaptiveLogSoftmaxWithLoss`` with these cutoffs (e.g. ``[20000, 60000]``)
            for large vocabularies; no tying then. Cutoffs not below ``vocab_size`` are dropped.
        pad_id: Padding id (its embedding is zero).
    """

    def __init__(
        self,
        vocab_size: int,
        embedding_dim: int = 400,
        hidden_size: int = 1150,
        num_layers: int = 3,
        cell: CellType = "lstm",
        dropout: float = 0.4,
        dropout_input: float = 0.65,
        dropout_hidden: float = 0.3,
        dropout_embedding: float = 0.1,
        weight_drop: float = 0.5,
        tie_weights: bool = True,
        adaptive_softmax_cutoffs: list[int] | None = None,
        pad_id: int | None = None,
    ) -> None:
        super().__init__()
        self.cell = cell
        self.embedding = DropoutEmbedding(vocab_size, embedding_dim, padding_idx=pad_id, dropout=dropout_embedding)
        self.input_dropout = LockedDropout(dropout_input)
        self.hidden_dropout = LockedDropout(dropout_hidden)
        self.output_dropout = LockedDropout(dropout)
        # Cutoffs at or past the vocabulary size mean nothing (a small corpus, a test slice): keep the rest.
        adaptive_softmax_cutoffs = [c for c in adaptive_softmax_cutoffs or [] if c < vocab_size]
        tie_weights = tie_weights and not adaptive_softmax_cutoffs
        sizes = [embedding_dim] + [hidden_size] * (num_layers - 1) + [embedding_dim if tie_weights else hidden_size]
        self.layers = nn.ModuleList(
            FUSED_LAYERS[cell](sizes[i], sizes[i + 1], batch_first=True) for i in range(num_layers)
        )
        if weight_drop > 0:
            if cell in ("mingru", "minlstm"):
                raise ValueError(f"weight_drop drops hidden-to-hidden weights, which {cell} does not have: "
                                 "set model.init_args.weight_drop 0 (dropout still applies).")
            for layer in self.layers:
                apply_weight_drop(layer, weight_drop)
        self.output_size = sizes[-1]
        if adaptive_softmax_cutoffs:
            self.adaptive = nn.AdaptiveLogSoftmaxWithLoss(self.output_size, vocab_size, adaptive_softmax_cutoffs)
            self.decoder = None
        else:
            self.adaptive = None
            self.decoder = nn.Linear(self.output_size, vocab_size)
            if tie_weights:
                tie(self.decoder, self.embedding)
        self._init_weights()

    def _init_weights(self) -> None:
        nn.init.uniform_(self.embedding.weight, -0.1, 0.1)
        if self.decoder is not None:
            nn.init.zeros_(self.decoder.bias)
        if self.embedding.padding_idx is not None:
            with torch.no_grad():
                self.embedding.weight[self.embedding.padding_idx].zero_()

    def forward(self, ids: Tensor, state: State | None = None) -> tuple[Tensor, State, Tensor]:
        """Run the recurrent stack.

        Args:
            ids: Token ids ``(B, T)``.
            state: Per-layer states from the previous chunk (``(1, B, H_l)``, a pair for LSTM), or ``None``.

        Returns:
            ``output`` ``(B, T, E_out)`` (after output dropout, ready for :meth:`logits`), the new per-layer
            state, and ``raw`` ``(B, T, E_out)``: the last layer's output before dropout (for AR/TAR).
        """
        hidden = self.input_dropout(self.embedding(ids))
        new_state: State = []
        with parametrize.cached():  # one weight-drop mask per forward, shared by every time step
            for index, layer in enumerate(self.layers):
                ensure_flat_weights(layer)  # one cuDNN weight buffer after DDP or loading (no-op on CPU)
                hidden, layer_state = layer(hidden, None if state is None else state[index])
                new_state.append(layer_state)
                if index < len(self.layers) - 1:
                    hidden = self.hidden_dropout(hidden)
        return self.output_dropout(hidden), new_state, hidden

    def logits(self, output: Tensor) -> Tensor:
        """Next-token logits ``(..., V)`` (log-probabilities with the adaptive softmax)."""
        if self.adaptive is not None:
            return self.adaptive.log_prob(output.reshape(-1, output.shape[-1])).view(*output.shape[:-1], -1)
        return self.decoder(output)

    def loss(self, output: Tensor, targets: Tensor) -> Tensor:
        """Mean next-token cross-entropy in nats per token; ``output`` ``(B, T, E_out)``, ``targets`` ``(B, T)``."""
        flat = output.reshape(-1, output.shape[-1])
        if self.adaptive is not None:
            return self.adaptive(flat, targets.reshape(-1)).loss
        return F.cross_entropy(self.decoder(flat), targets.reshape(-1))
