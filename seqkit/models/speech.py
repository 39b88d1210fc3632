"""Acoustic networks over feature frames: a recurrent encoder, then a pooled classifier or per-frame CTC outputs.

Frames ``(B, T, F)`` -> optional global normalisation -> frame stacking (``k`` frames side by side, every ``k``-th
kept: ``(B, T/k, k*F)``, fewer recurrent steps, as in Sak et al. 2015) -> stacked (bi)directional LSTM/GRU ->

- :class:`SpeechClassifierNet`: pooling over time (the text classifier's choices) -> class logits ``(B, C)``;
- :class:`CTCAcousticNet`: per-frame log-probabilities over the blank (id 0) and the ``C`` labels ``(B, T', C+1)``.

The recurrent layers run each direction of each layer as one fused call on the padded batch, the backward
direction on each sequence reversed within its own length: outputs are exact for every length (as packing gives)
with no packing, and the same graph exports to ONNX.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqkit.errors import ConfigError
from seqkit.nn import AttentionPooling, length_mask, reverse_padded
from seqkit.nn.config_checks import at_least, one_of, rate

SpeechCell = Literal["lstm", "gru", "rnn"]
Pooling = Literal["last", "mean", "max", "attention", "concat"]
_LAYERS: dict[str, type[nn.RNNBase]] = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


@dataclass(frozen=True)
class AcousticConfig:
    """The recurrent acoustic encoder (``model.init_args.network`` in a recipe)."""

    hidden_size: int = 128
    """Units per direction and layer."""
    num_layers: int = 2
    """Stacked recurrent layers."""
    cell: SpeechCell = "lstm"
    """``lstm``, ``gru`` or ``rnn`` (Elman, tanh)."""
    bidirectional: bool = True
    """Read each utterance backwards too (outputs ``2 * hidden_size`` wide); needs the whole utterance first."""
    dropout: float = 0.2
    """Dropout on the inputs, between layers and before the output layer."""
    frame_stacking: int = 1
    """Stack this many consecutive frames into one step and keep every such step (1: every frame)."""

    def __post_init__(self) -> None:
        at_least(self, "hidden_size", "num_layers", "frame_stacking")
        rate(self, "dropout")
        one_of(self, "cell", _LAYERS)


@dataclass(frozen=True)
class SpeechClassifierConfig(AcousticConfig):
    """:class:`AcousticConfig` and how the frames become one vector (``model.init_args.network``)."""

    pooling: Pooling = "mean"
    """``last`` (forward direction at the last frame, backward at the first), ``mean`` or ``max`` over the frames,
    ``attention`` (a learned weighted average), or ``concat`` (last, max and mean side by side)."""
    attention_size: int = 64
    """Hidden width of the attention pooling (``pooling: attention``)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        one_of(self, "pooling", get_args(Pooling))
        at_least(self, "attention_size")


def stack_frames(feats: Tensor, lengths: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """``(B, T, F)`` -> ``(B, ceil(T/k), k*F)``: each step holds ``k`` consecutive frames (zero-padded at the end);
    lengths become ``ceil(lengths / k)``."""
    if k == 1:
        return feats, lengths
    batch, steps, width = feats.shape
    feats = F.pad(feats, (0, 0, 0, (-steps) % k))
    return feats.reshape(batch, -1, k * width), torch.div(lengths + k - 1, k, rounding_mode="floor")


class FrameEncoder(nn.Module):
    """Feature frames ``(B, T, F)`` with lengths ``(B,)`` -> outputs ``(B, T', D*H)`` (zero past each length) and
    lengths ``(B,)`` (``T' = ceil(T / frame_stacking)``).

    Args:
        num_features: Feature width ``F``.
        config: :class:`AcousticConfig`.
        feature_stats: ``{"mean": [F], "std": [F]}`` of the training features, applied first (global
            normalisation); ``None``: features are used as they come.
    """

    def __init__(self, num_features: int, config: AcousticConfig,
                 feature_stats: dict[str, list[float]] | None = None) -> None:
        super().__init__()
        self.config = config
        stats = feature_stats or {}
        if stats and (len(stats.get("mean", ())) != num_features or len(stats.get("std", ())) != num_features):
            raise ConfigError(f"feature_stats must hold {num_features} means and standard deviations.")
        # Not in the state dict: they come from the hyperparameters, as the data computed them.
        self.register_buffer("mean", torch.tensor(stats.get("mean", [0.0] * num_features)), persistent=False)
        self.register_buffer("std", torch.tensor(stats.get("std", [1.0] * num_features)), persistent=False)
        self.num_directions = 2 if config.bidirectional else 1
        layer = _LAYERS[config.cell]
        self.layers = nn.ModuleList()
        size = num_features * config.frame_stacking
        for _ in range(config.num_layers):
            self.layers.append(nn.ModuleList(layer(size, config.hidden_size, batch_first=True)
                                             for _ in range(self.num_directions)))
            size = config.hidden_size * self.num_directions
        self.dropout = nn.Dropout(config.dropout)

    @property
    def output_size(self) -> int:
        return self.config.hidden_size * self.num_directions

    def forward(self, feats: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        mask = length_mask(lengths.to(feats.device), feats.shape[1])[..., None]
        x = (feats - self.mean) / self.std * mask
        x, lengths = stack_frames(x, lengths.to(feats.device), self.config.frame_stacking)
        mask = length_mask(lengths, x.shape[1])[..., None].to(x.dtype)
        for directions in self.layers:
            x = self.dropout(x)  # zeros past each length stay zero
            outputs = [directions[0](x)[0]]  # forward: padding comes after the real frames, so they are exact
            if len(directions) == 2:
                backward, _ = directions[1](reverse_padded(x, lengths))
                outputs.append(reverse_padded(backward, lengths))
            x = torch.cat(outputs, dim=-1) * mask
        return x, lengths


class SpeechClassifierNet(nn.Module):
    """Frames ``(B, T, F)``, lengths ``(B,)`` -> :class:`FrameEncoder` -> pooling -> dropout -> class logits
    ``(B, C)``."""

    def __init__(self, num_features: int, num_classes: int, config: SpeechClassifierConfig,
                 feature_stats: dict[str, list[float]] | None = None) -> None:
        super().__init__()
        self.config = config
        self.encoder = FrameEncoder(num_features, config, feature_stats)
        size = self.encoder.output_size
        self.attention = AttentionPooling(size, config.attention_size) if config.pooling == "attention" else None
        pooled = size * (3 if config.pooling == "concat" else 1)
        self.head = nn.Sequential(nn.Dropout(config.dropout), nn.Linear(pooled, num_classes))

    def forward(self, feats: Tensor, lengths: Tensor) -> Tensor:
        outputs, lengths = self.encoder(feats, lengths)
        return self.head(self.pool(outputs, lengths)[0])

    def pool(self, outputs: Tensor, lengths: Tensor, pooling: str | None = None) -> tuple[Tensor, Tensor | None]:
        """One vector per utterance ``(B, P)`` and, for attention pooling, the weights ``(B, T')``."""
        pooling = pooling or self.config.pooling
        mask = length_mask(lengths, outputs.shape[1])
        if pooling == "concat":
            parts = [self.pool(outputs, lengths, kind)[0] for kind in ("last", "max", "mean")]
            return torch.cat(parts, -1), None
        if pooling == "mean":
            return outputs.sum(1) / lengths.clamp(min=1).to(outputs)[:, None], None
        if pooling == "max":
            return outputs.masked_fill(~mask[..., None], float("-inf")).amax(1), None
        if pooling == "last":
            hidden = self.config.hidden_size
            last = (lengths - 1).clamp(min=0)[:, None, None].expand(-1, 1, hidden)
            forward = outputs[..., :hidden].gather(1, last)[:, 0]
            return (torch.cat([forward, outputs[:, 0, hidden:]], -1) if self.encoder.num_directions == 2
                    else forward), None
        return self.attention(outputs, mask)

    def weights(self, feats: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Logits ``(B, C)``, per-step pooling weights ``(B, T')`` (attention weights, or each step's share of
        the max for ``max``/``concat``, or uniform for ``mean``/``last`` ones) and the step lengths ``(B,)``."""
        outputs, lengths = self.encoder(feats, lengths)
        pooled, weights = self.pool(outputs, lengths)
        mask = length_mask(lengths, outputs.shape[1])
        if weights is None:
            if self.config.pooling in ("max", "concat"):
                top = outputs.masked_fill(~mask[..., None], float("-inf")).argmax(1)  # (B, D*H)
                weights = F.one_hot(top, outputs.shape[1]).float().mean(1)  # share of the channels each step wins
            else:
                weights = mask.float() / lengths.clamp(min=1)[:, None]
        return self.head(pooled), weights, lengths


class CTCAcousticNet(nn.Module):
    """Frames ``(B, T, F)``, lengths ``(B,)`` -> :class:`FrameEncoder` -> dropout -> linear -> per-step
    log-probabilities ``(B, T', C+1)`` (id 0 the CTC blank, label ``c`` at ``c + 1``) and step lengths ``(B,)``."""

    def __init__(self, num_features: int, num_classes: int, config: AcousticConfig,
                 feature_stats: dict[str, list[float]] | None = None) -> None:
        super().__init__()
        self.config = config
        self.encoder = FrameEncoder(num_features, config, feature_stats)
        self.head = nn.Sequential(nn.Dropout(config.dropout), nn.Linear(self.encoder.output_size, num_classes + 1))

    def forward(self, feats: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        outputs, lengths = self.encoder(feats, lengths)
        return self.head(outputs).log_softmax(-1), lengths
