"""Sequence classifier network: embeddings and a recurrent encoder, pooling over time, a linear head."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Literal, get_args

import torch
from torch import Tensor, nn

from seqkit.models.lm_encoder import LanguageModelEncoder
from seqkit.nn import AttentionPooling, EncoderConfig, RecurrentEncoder
from seqkit.nn.config_checks import at_least, one_of
from seqkit.nn.recurrent import State

Pooling = Literal["last", "mean", "max", "attention", "concat"]


@dataclass(frozen=True)
class ClassifierConfig:
    """Architecture of a :class:`SequenceClassifierNet` (``model.init_args.network`` in a recipe). The sizes the
    data gives (vocabulary, classes, padding id) are the network's own arguments."""

    encoder: EncoderConfig = EncoderConfig()
    """The recurrent encoder's settings; its ``dropout`` also applies before the head."""
    pooling: Pooling = "mean"
    """How the sequence becomes one vector: the final states (``last``), the ``mean`` or ``max`` of the outputs over
    real tokens, a learned ``attention`` average of them (Yang et al. 2016), or ``concat``: last, max and mean side
    by side (ULMFiT's concat pooling)."""
    attention_size: int = 64
    """Width of the attention pooling's hidden layer (``pooling: attention`` only)."""

    def __post_init__(self) -> None:
        at_least(self, "attention_size")
        one_of(self, "pooling", get_args(Pooling))


class SequenceClassifierNet(nn.Module):
    """Token ids ``(B, T)`` with lengths ``(B,)`` -> encoder outputs ``(B, T, D*H)`` -> pooled ``(B, P)`` ->
    dropout -> linear -> class logits ``(B, C)`` (``P = D*H``, or ``3*D*H`` for ``concat``).

    Args:
        vocab_size: Number of token ids.
        num_classes: Number of classes ``C``.
        config: The architecture.
        pad_id: Padding id.
        lm_architecture: A language model's :class:`~seqkit.models.rnn_lm.RNNLanguageModel` arguments: its
            embeddings and recurrent layers replace ``config.encoder`` (:class:`LanguageModelEncoder`), whose
            ``dropout`` still applies before the head.
    """

    def __init__(self, vocab_size: int, num_classes: int, config: ClassifierConfig = ClassifierConfig(),
                 pad_id: int = 0, lm_architecture: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.config = config
        if lm_architecture is not None:
            self.encoder: RecurrentEncoder | LanguageModelEncoder = LanguageModelEncoder(lm_architecture)
        else:
            self.encoder = RecurrentEncoder(vocab_size, pad_id=pad_id, **asdict(config.encoder))
        size = self.encoder.output_size
        self.attention = AttentionPooling(size, config.attention_size) if config.pooling == "attention" else None
        pooled_size = size * (3 if config.pooling == "concat" else 1)
        self.head = nn.Sequential(nn.Dropout(config.encoder.dropout), nn.Linear(pooled_size, num_classes))

    def forward(self, input_ids: Tensor, input_lengths: Tensor) -> Tensor:
        """Class logits ``(B, C)`` for token ids ``(B, T)`` with lengths ``(B,)``."""
        outputs, final = self.encoder(input_ids, input_lengths)  # outputs (B, T, D*H), zero past each length
        return self.head(self.pool(outputs, final, input_lengths))

    def pool(self, outputs: Tensor, final: State, lengths: Tensor, pooling: str | None = None) -> Tensor:
        """One vector ``(B, D*H)`` per sequence (``(B, 3*D*H)`` for ``concat``) from the encoder's ``outputs``
        ``(B, T, D*H)``, its final state and the lengths ``(B,)``."""
        pooling = pooling or self.config.pooling
        if pooling == "last":
            return self.encoder.last_hidden(final)
        if pooling == "concat":
            return torch.cat([self.pool(outputs, final, lengths, kind) for kind in ("last", "max", "mean")], -1)
        mask = torch.arange(outputs.shape[1], device=outputs.device) < lengths.to(outputs.device)[:, None]  # (B, T)
        if pooling == "mean":
            return outputs.sum(1) / lengths.clamp(min=1).to(outputs)[:, None]  # padded outputs are already zero
        if pooling == "max":
            pooled = outputs.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(1)
            return pooled.masked_fill(~mask.any(1, keepdim=True), 0.0)  # an empty text: zeros, not -inf
        pooled, _ = self.attention(outputs, mask)
        return pooled

    def layer_groups(self) -> list[list[nn.Parameter]]:
        """Parameters in groups from the bottom up: embeddings, each recurrent layer, then pooling and head."""
        groups = [list(self.encoder.embedding.parameters())]
        if isinstance(self.encoder, LanguageModelEncoder):
            groups += [list(layer.parameters()) for layer in self.encoder.layers]
        else:  # one fused multi-layer RNN: its weights end in _l0, _l1... (and _reverse for the backward direction)
            rnn = self.encoder.rnn
            for index in range(rnn.num_layers):
                layer = re.compile(rf"_l{index}(_reverse)?(\.|$)")  # weight drop: weight_hh_l0.original
                groups.append([p for name, p in rnn.named_parameters() if layer.search(name)])
        top = [p for module in (self.attention, self.head) if module is not None for p in module.parameters()]
        return [*groups, top]
