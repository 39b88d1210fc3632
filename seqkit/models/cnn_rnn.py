"""Convolutions feeding recurrent networks.

- :class:`CharCNNWordEncoder`: a word's vector built from its characters by a CNN (filters of several widths,
  max over time) and highway layers, the input layer of the character-aware language model of Kim, Jernite,
  Sontag and Rush (AAAI 2016). Word ids are mapped to characters through a table built from the vocabulary, so
  the usual word-id batches of :class:`~seqkit.data.LanguageModelingDataModule` feed it unchanged.
- :class:`CNNBiLSTMClassifierNet`: word embeddings -> 1-D convolutions (n-gram features, same length) ->
  bidirectional LSTM -> max pooling -> classifier, a CNN-then-RNN text classifier.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqkit.errors import ConfigError
from seqkit.nn import run_fused_by_length
from seqkit.nn.config_checks import at_least, rate

#: Character ids of :func:`word_characters`: padding, beginning and end of word; bytes are 3..258.
CHAR_PAD, CHAR_BOW, CHAR_EOW, CHAR_OFFSET = 0, 1, 2, 3
CHAR_VOCAB = 256 + CHAR_OFFSET


def word_characters(words: list[str], max_length: int) -> Tensor:
    """``(V, W)`` character ids of each word: beginning-of-word, its UTF-8 bytes (cut to ``W - 2``), end-of-word,
    then padding."""
    table = torch.full((len(words), max_length), CHAR_PAD, dtype=torch.long)
    for index, word in enumerate(words):
        codes = [CHAR_BOW, *(b + CHAR_OFFSET for b in word.encode("utf-8")[: max_length - 2]), CHAR_EOW]
        table[index, : len(codes)] = torch.tensor(codes)
    return table


class Highway(nn.Module):
    """``y = t * relu(W x) + (1 - t) * x`` with gate ``t = sigmoid(W_t x + b_t)`` (Srivastava et al. 2015); the gate
    bias starts at -2 so each layer first carries its input through."""

    def __init__(self, size: int, num_layers: int = 1) -> None:
        super().__init__()
        self.transforms = nn.ModuleList(nn.Linear(size, size) for _ in range(num_layers))
        self.gates = nn.ModuleList(nn.Linear(size, size) for _ in range(num_layers))
        for gate in self.gates:
            nn.init.constant_(gate.bias, -2.0)

    def forward(self, x: Tensor) -> Tensor:
        """``(..., S)`` -> ``(..., S)``."""
        for transform, gate in zip(self.transforms, self.gates, strict=True):
            t = torch.sigmoid(gate(x))
            x = t * F.relu(transform(x)) + (1 - t) * x
        return x


class CharCNNWordEncoder(nn.Module):
    """Word ids ``(B, T)`` -> word vectors ``(B, T, S)`` from the words' characters (Kim et al. 2016).

    Characters are embedded, convolved with ``filters[w]`` filters of each width ``w``, tanh, max-pooled over the
    word, concatenated (``S = sum of filters``) and passed through highway layers.

    Args:
        vocab_size: Number of word ids ``V``; :meth:`set_vocabulary` fills their spellings (a buffer saved with
            the weights, so a trained model needs no tokenizer to run).
        char_dim: Character embedding size.
        filters: ``{width: count}``, e.g. Kim et al.'s small model ``{1: 25, 2: 50, ..., 6: 150}``.
        highway_layers: Number of highway layers.
        max_word_length: Characters per word ``W``, the two markers included; longer words are cut.
    """

    def __init__(self, vocab_size: int, char_dim: int = 15, filters: dict[int, int] | None = None,
                 highway_layers: int = 1, max_word_length: int = 21) -> None:
        super().__init__()
        filters = filters or {width: 25 * width for width in range(1, 7)}
        if max(filters) > max_word_length:
            raise ValueError(f"filter width {max(filters)} is wider than max_word_length {max_word_length}")
        self.char_embedding = nn.Embedding(CHAR_VOCAB, char_dim, padding_idx=CHAR_PAD)
        self.convolutions = nn.ModuleList(nn.Conv1d(char_dim, count, int(width)) for width, count in filters.items())
        self.output_size = sum(filters.values())
        self.highway = Highway(self.output_size, highway_layers)
        self.register_buffer("word_chars", torch.zeros(vocab_size, max_word_length, dtype=torch.long))

    def set_vocabulary(self, words: list[str]) -> None:
        """Spell word id ``i`` as ``words[i]`` (one string per id, ``V`` of them)."""
        if len(words) != self.word_chars.shape[0]:
            raise ValueError(f"{len(words)} words for a vocabulary of {self.word_chars.shape[0]} ids")
        self.word_chars.copy_(word_characters(words, self.word_chars.shape[1]))

    def forward(self, ids: Tensor) -> Tensor:
        chars = self.word_chars[ids]  # (B, T, W)
        x = self.char_embedding(chars.flatten(0, 1)).transpose(1, 2)  # (B*T, C, W)
        pooled = torch.cat([torch.tanh(conv(x)).amax(-1) for conv in self.convolutions], -1)  # (B*T, S)
        return self.highway(pooled).view(*ids.shape, -1)


@dataclass(frozen=True)
class CNNBiLSTMConfig:
    """Architecture of a :class:`CNNBiLSTMClassifierNet` (``model.init_args.network`` in a recipe). The sizes the
    data gives (vocabulary, classes, padding id) are the network's own arguments."""

    embedding_dim: int = 128
    """Word embedding size ``E``."""
    channels: int = 100
    """Filters per width."""
    widths: list[int] = field(default_factory=lambda: [3, 5])
    """Convolution widths, each odd (so the output keeps the input's length)."""
    hidden_size: int = 128
    """LSTM hidden size ``H`` per direction."""
    dropout: float = 0.3
    """Dropout on embeddings, convolution outputs and before the classifier."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "widths", [int(w) for w in self.widths])  # a tuple from Python: a list
        at_least(self, "embedding_dim", "channels", "hidden_size")
        rate(self, "dropout")
        if not self.widths or any(width < 1 or width % 2 == 0 for width in self.widths):
            raise ConfigError(f"{type(self).__name__}.widths={self.widths}: convolution widths must be odd and at "
                              "least 1 (same-length outputs).")


class CNNBiLSTMClassifierNet(nn.Module):
    """Token ids ``(B, T)`` with lengths ``(B,)`` -> class logits ``(B, C)``.

    Embeddings -> 1-D convolutions of each width in ``widths`` (``channels`` each, same length, ReLU; padding
    positions zeroed so they add nothing) -> bidirectional LSTM over the convolved sequence -> max over real
    positions -> dropout -> linear.

    Args:
        vocab_size: Number of token ids.
        num_classes: Classes ``C``.
        config: The architecture.
        pad_id: Padding id.
    """

    def __init__(self, vocab_size: int, num_classes: int, config: CNNBiLSTMConfig = CNNBiLSTMConfig(),
                 pad_id: int = 0) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(vocab_size, config.embedding_dim, padding_idx=pad_id)
        self.convolutions = nn.ModuleList(nn.Conv1d(config.embedding_dim, config.channels, w, padding=w // 2)
                                          for w in config.widths)
        self.rnn = nn.LSTM(config.channels * len(config.widths), config.hidden_size, batch_first=True,
                           bidirectional=True)
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(2 * config.hidden_size, num_classes)

    def forward(self, input_ids: Tensor, input_lengths: Tensor) -> Tensor:
        mask = torch.arange(input_ids.shape[1], device=input_ids.device) < input_lengths[:, None]  # (B, T)
        x = self.dropout(self.embedding(input_ids)).transpose(1, 2)  # (B, E, T)
        features = torch.cat([F.relu(conv(x)) for conv in self.convolutions], 1).transpose(1, 2)  # (B, T, K)
        features = self.dropout(features * mask.unsqueeze(-1))
        outputs, _ = run_fused_by_length(self.rnn, features, input_lengths)  # (B, T, 2H), zero past each length
        pooled = outputs.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(1)
        pooled = pooled.masked_fill(~mask.any(1, keepdim=True), 0.0)
        return self.head(self.dropout(pooled))
