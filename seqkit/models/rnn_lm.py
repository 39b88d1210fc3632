"""An RNN language model with AWD-LSTM regularisation, weight tying and an optional adaptive softmax.

Embedding (embedding dropout) -> locked dropout -> ``num_layers`` single-layer fused RNNs (``nn.LSTM`` /
``nn.GRU`` / ``nn.RNN``), each with weight drop on its hidden-to-hidden matrix and locked dropout after it ->
decoder. With ``tie_weights`` the last layer's size is the embedding size and the decoder shares the embedding
matrix (Press and Wolf 2017; Inan et al. 2017), as in AWD-LSTM (Merity et al. 2017).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils import parametrize

from seqkit.errors import ConfigError
from seqkit.nn.config_checks import at_least, rate
from seqkit.nn.dropout import DropoutEmbedding, LockedDropout
from seqkit.nn.dropout import weight_drop as apply_weight_drop
from seqkit.nn.recurrent import FUSED_LAYERS, CellType, detach_state, ensure_flat_weights, fused_call
from seqkit.nn.recurrent import State as LayerState
from seqkit.nn.tying import tie_weights as tie

#: A language model's state: one state per layer (the layers may differ in size, so they are not stacked).
LMState = list[LayerState]


def detach_layer_states(state: LMState | None) -> LMState | None:
    """Cut the graph behind a carried per-layer state (truncated BPTT)."""
    return None if state is None else [detach_state(s) for s in state]


@dataclass(frozen=True)
class RNNLMConfig:
    """Architecture of an :class:`RNNLanguageModel` (``model.init_args.network`` of a language-model recipe); the
    vocabulary size and padding id come from the data, not from here."""

    embedding_dim: int = 400
    """Embedding size ``E``."""
    hidden_size: int = 1150
    """Hidden size of every layer but the last (which is ``E`` when tying)."""
    num_layers: int = 3
    """Number of recurrent layers."""
    cell: CellType = "lstm"
    """``lstm``, ``gru`` or ``rnn`` (Elman, tanh); or ``mingru`` / ``minlstm`` (parallel scan, no weight drop)."""
    dropout: float = 0.4
    """Locked dropout on the last layer's output (AWD-LSTM ``dropout``)."""
    dropout_input: float = 0.65
    """Locked dropout on the embeddings (``dropouti``)."""
    dropout_hidden: float = 0.3
    """Locked dropout between layers (``dropouth``)."""
    dropout_embedding: float = 0.1
    """Embedding (word type) dropout (``dropoute``)."""
    weight_drop: float = 0.5
    """DropConnect on hidden-to-hidden weights (``wdrop``); 0 disables it."""
    tie_weights: bool = True
    """Share the embedding with the decoder."""
    adaptive_softmax_cutoffs: list[int] | None = None
    """Use ``nn.AdaptiveLogSoftmaxWithLoss`` with these cutoffs (e.g. ``[20000, 60000]``) for large vocabularies; no
    tying then. Cutoffs not below the vocabulary size are dropped."""

    def __post_init__(self) -> None:
        at_least(self, "embedding_dim", "hidden_size", "num_layers")
        rate(self, "dropout", "dropout_input", "dropout_hidden", "dropout_embedding", "weight_drop")
        if self.cell not in FUSED_LAYERS:
            raise ConfigError(f"RNNLMConfig.cell={self.cell!r}: must be one of {', '.join(FUSED_LAYERS)}.")
        if self.weight_drop > 0 and self.cell in ("mingru", "minlstm"):
            raise ConfigError(f"RNNLMConfig.weight_drop={self.weight_drop}: weight drop acts on hidden-to-hidden "
                              f"weights, which {self.cell} does not have; set model.init_args.network.weight_drop 0 "
                              "(dropout still applies).")
        for cutoff in self.adaptive_softmax_cutoffs or []:
            if isinstance(cutoff, bool) or not isinstance(cutoff, int) or cutoff < 1:
                raise ConfigError(f"RNNLMConfig.adaptive_softmax_cutoffs={self.adaptive_softmax_cutoffs}: each "
                                  "cutoff must be a whole number of at least 1.")


#: Builds the input layer in place of the word embedding: ``(vocab_size, embedding_dim, pad_id) -> module`` mapping
#: ids ``(B, T)`` to vectors ``(B, T, embedding_dim)`` (e.g. a character CNN that reads each word's spelling).
EmbeddingFactory = Callable[[int, int, "int | None"], nn.Module]


class RNNLanguageModel(nn.Module):
    """Token ids ``(B, T)`` -> next-token logits ``(B, T, V)``, carrying a recurrent state.

    Args:
        vocab_size: Vocabulary size ``V`` (from the data).
        config: The architecture, :class:`RNNLMConfig`.
        pad_id: Padding id (its embedding is zero), or ``None``.
        embedding: An :data:`EmbeddingFactory` for the input layer; default a word embedding with embedding
            dropout. Tying needs a layer with a ``weight`` of shape ``(V, E)``.
    """

    def __init__(self, vocab_size: int, config: RNNLMConfig = RNNLMConfig(), pad_id: int | None = None,
                 embedding: EmbeddingFactory | None = None) -> None:
        super().__init__()
        c = config
        self.config = config
        self.vocab_size = vocab_size
        if embedding is None:
            self.embedding = DropoutEmbedding(vocab_size, c.embedding_dim, padding_idx=pad_id,
                                              dropout=c.dropout_embedding)
        else:
            self.embedding = embedding(vocab_size, c.embedding_dim, pad_id)
        self.input_dropout = LockedDropout(c.dropout_input)
        self.hidden_dropout = LockedDropout(c.dropout_hidden)
        self.output_dropout = LockedDropout(c.dropout)
        # Cutoffs at or past the vocabulary size mean nothing (a small corpus, a test slice): keep the rest.
        cutoffs = [cutoff for cutoff in c.adaptive_softmax_cutoffs or [] if cutoff < vocab_size]
        tie_weights = c.tie_weights and not cutoffs
        last = c.embedding_dim if tie_weights else c.hidden_size
        sizes = [c.embedding_dim] + [c.hidden_size] * (c.num_layers - 1) + [last]
        self.layers = nn.ModuleList(
            FUSED_LAYERS[c.cell](sizes[i], sizes[i + 1], batch_first=True) for i in range(c.num_layers)
        )
        if c.weight_drop > 0:
            for layer in self.layers:
                apply_weight_drop(layer, c.weight_drop)
        self.output_size = sizes[-1]
        if cutoffs:
            self.adaptive = nn.AdaptiveLogSoftmaxWithLoss(self.output_size, vocab_size, cutoffs)
            self.decoder = None
        else:
            self.adaptive = None
            self.decoder = nn.Linear(self.output_size, vocab_size)
            if tie_weights:
                tie(self.decoder, self.embedding)
        self._init_weights(own_embedding=embedding is None)

    def _init_weights(self, own_embedding: bool) -> None:
        if self.decoder is not None:
            nn.init.zeros_(self.decoder.bias)
        if not own_embedding:  # a given input layer initialises itself
            return
        nn.init.uniform_(self.embedding.weight, -0.1, 0.1)
        if self.embedding.padding_idx is not None:
            with torch.no_grad():
                self.embedding.weight[self.embedding.padding_idx].zero_()

    def forward(self, ids: Tensor, state: LMState | None = None) -> tuple[Tensor, LMState, Tensor]:
        """Run the recurrent stack.

        Args:
            ids: Token ids ``(B, T)``.
            state: Per-layer states from the previous chunk (``(1, B, H_l)``, a pair for LSTM), or ``None``.

        Returns:
            ``output`` ``(B, T, E_out)`` (after output dropout, ready for :meth:`logits`), the new per-layer
            state, and ``raw`` ``(B, T, E_out)``: the last layer's output before dropout (for AR/TAR).
        """
        hidden = self.input_dropout(self.embedding(ids))
        new_state: LMState = []
        with parametrize.cached():  # one weight-drop mask per forward, shared by every time step
            for index, layer in enumerate(self.layers):
                ensure_flat_weights(layer)  # one cuDNN weight buffer after DDP or loading (no-op on CPU)
                with fused_call(layer):
                    hidden, layer_state = layer(hidden, None if state is None else state[index])
                new_state.append(layer_state)
                if index < len(self.layers) - 1:
                    hidden = self.hidden_dropout(hidden)
        return self.output_dropout(hidden), new_state, hidden

    def logits(self, output: Tensor) -> Tensor:
        """Next-token logits ``(..., V)`` (log-probabilities with the adaptive softmax)."""
        if self.adaptive is not None:
            flat = _autocast_input(output.reshape(-1, output.shape[-1]))
            return self.adaptive.log_prob(flat).view(*output.shape[:-1], -1)
        return self.decoder(output)

    def loss(self, output: Tensor, targets: Tensor) -> Tensor:
        """Mean next-token cross-entropy in nats per token; ``output`` ``(B, T, E_out)``, ``targets`` ``(B, T)``."""
        flat = output.reshape(-1, output.shape[-1])
        if self.adaptive is not None:
            return self.adaptive(_autocast_input(flat), targets.reshape(-1)).loss
        return F.cross_entropy(self.decoder(flat), targets.reshape(-1))


def _autocast_input(hidden: Tensor) -> Tensor:
    """``hidden`` in the autocast dtype when autocast is on: the adaptive softmax writes its clusters' log-probabilities
    (computed in that dtype) into a buffer of its input's dtype, and a scan cell's output stays float32."""
    device = hidden.device.type
    return hidden.to(torch.get_autocast_dtype(device)) if torch.is_autocast_enabled(device) else hidden
