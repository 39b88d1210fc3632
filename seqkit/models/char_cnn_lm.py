"""The character-aware language model's architecture (Kim, Jernite, Sontag and Rush, AAAI 2016): an
:class:`~seqkit.models.rnn_lm.RNNLanguageModel` whose input layer is a
:class:`~seqkit.models.cnn_rnn.CharCNNWordEncoder` (character CNN + highway) instead of a word embedding."""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import nn

from seqkit.errors import ConfigError
from seqkit.models.cnn_rnn import CharCNNWordEncoder
from seqkit.models.rnn_lm import RNNLanguageModel, RNNLMConfig
from seqkit.nn.config_checks import at_least, rate
from seqkit.nn.recurrent import FUSED_LAYERS, CellType


def kim_small_filters() -> dict[int, int]:
    """Kim et al.'s small model: 25 filters per unit of width, widths 1-6 (525 features)."""
    return {width: 25 * width for width in range(1, 7)}


@dataclass(frozen=True)
class CharCNNLMConfig:
    """Architecture of the character-aware language model (``model.init_args.network`` of
    :class:`~seqkit.tasks.CharCNNLanguageModel`). The recurrent stack is an :class:`RNNLMConfig` whose embedding
    size is the CNN's width and whose output layer is untied (the input side has no word matrix to share)."""

    char_dim: int = 15
    """Character embedding size."""
    filters: dict[int, int] = field(default_factory=kim_small_filters)
    """``{width: count}`` of the character convolutions (default Kim et al.'s small model: 525 features)."""
    highway_layers: int = 1
    """Highway layers after the CNN."""
    max_word_length: int = 21
    """Characters per word, with the beginning and end markers; longer words are cut."""
    hidden_size: int = 300
    """Hidden size of every recurrent layer."""
    num_layers: int = 2
    """Number of recurrent layers."""
    cell: CellType = "lstm"
    """``lstm``, ``gru`` or ``rnn``; or ``mingru`` / ``minlstm`` (no weight drop)."""
    dropout: float = 0.5
    """Locked dropout on the last layer's output."""
    dropout_input: float = 0.0
    """Locked dropout on the word vectors."""
    dropout_hidden: float = 0.5
    """Locked dropout between layers."""
    weight_drop: float = 0.0
    """DropConnect on hidden-to-hidden weights; 0 disables it."""

    def __post_init__(self) -> None:
        # Saved as JSON, the widths come back as strings.
        object.__setattr__(self, "filters", {int(k): int(v) for k, v in dict(self.filters).items()})
        at_least(self, "char_dim", "max_word_length", "hidden_size", "num_layers")
        at_least(self, "highway_layers", minimum=0)
        rate(self, "dropout", "dropout_input", "dropout_hidden", "weight_drop")
        if not self.filters or min(self.filters) < 1 or min(self.filters.values()) < 1:
            raise ConfigError(f"CharCNNLMConfig.filters={self.filters}: needs at least one width, each width and "
                              "count at least 1.")
        if max(self.filters) > self.max_word_length:
            raise ConfigError(f"CharCNNLMConfig.filters: width {max(self.filters)} is wider than max_word_length "
                              f"{self.max_word_length}.")
        if self.cell not in FUSED_LAYERS:
            raise ConfigError(f"CharCNNLMConfig.cell={self.cell!r}: must be one of {', '.join(FUSED_LAYERS)}.")
        self.recurrent()  # the stack's own checks (weight drop on a scan cell)

    def recurrent(self) -> RNNLMConfig:
        """The recurrent stack's :class:`RNNLMConfig` (embedding size: the CNN's width; untied)."""
        return RNNLMConfig(
            embedding_dim=sum(self.filters.values()), hidden_size=self.hidden_size, num_layers=self.num_layers,
            cell=self.cell, dropout=self.dropout, dropout_input=self.dropout_input,
            dropout_hidden=self.dropout_hidden, dropout_embedding=0.0, weight_drop=self.weight_drop,
            tie_weights=False)

    def word_encoder(self, vocab_size: int, embedding_dim: int, pad_id: int | None = None) -> nn.Module:
        """The input layer (an :data:`~seqkit.models.rnn_lm.EmbeddingFactory`): word ids ``(B, T)`` -> vectors
        ``(B, T, embedding_dim)`` read from the words' characters."""
        return CharCNNWordEncoder(vocab_size, self.char_dim, self.filters, self.highway_layers, self.max_word_length)


def char_cnn_language_model(vocab_size: int, config: CharCNNLMConfig = CharCNNLMConfig(),
                            pad_id: int | None = None) -> RNNLanguageModel:
    """Word ids ``(B, T)`` -> next-word logits ``(B, T, V)``, the words read from their characters."""
    return RNNLanguageModel(vocab_size, config.recurrent(), pad_id, embedding=config.word_encoder)
