"""Hierarchical attention network for document classification (Yang et al., NAACL 2016).

Words -> bidirectional GRU/LSTM -> word attention -> one vector per sentence; sentences -> bidirectional GRU/LSTM
-> sentence attention -> one vector per document -> linear classifier. All sentences of a batch go through the word
level in one call (``sentence_ids`` ``(N, W)``); ``document_index`` ``(B, S)`` regroups their vectors per document
(see :class:`~seqkit.data.hierarchical.HierarchicalCollator`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqkit.nn import AttentionPooling, EncoderConfig, RecurrentEncoder, length_mask, run_fused_by_length
from seqkit.nn.config_checks import at_least
from seqkit.nn.recurrent import FUSED_LAYERS

#: The tensors ``forward`` takes, in order; every batch of :class:`HierarchicalDataModule` holds them.
INPUTS = ("sentence_ids", "sentence_lengths", "document_index", "document_mask")


@dataclass(frozen=True)
class HierarchicalConfig:
    """Architecture of a :class:`HierarchicalAttentionNet` (``model.init_args.network`` in a recipe). The sizes the
    data gives (vocabulary, classes, padding id) are the network's own arguments."""

    encoder: EncoderConfig = EncoderConfig(embedding_dim=200, hidden_size=50, cell="gru")
    """The word encoder (hidden size ``H_w`` per direction, ``D_w`` directions); its ``cell``, ``num_layers`` and
    ``dropout`` (also on sentence vectors and before the classifier) apply to the sentence level too."""
    sentence_hidden_size: int = 50
    """Sentence encoder hidden size per direction ``H_s`` (documents: ``2 H_s``)."""
    word_attention_size: int = 100
    """Width of the word attention's hidden layer and context vector."""
    sentence_attention_size: int = 100
    """Width of the sentence attention's hidden layer and context vector."""
    word_buckets: int = 4
    """Run the word level in this many groups of consecutive sentences, each padded only to its own longest
    sentence. The collator sorts sentences by length, so most of the ``(N, W)`` padding is skipped (embeddings,
    dropout, attention); the result is the same for any value."""

    def __post_init__(self) -> None:
        at_least(self, "sentence_hidden_size", "word_attention_size", "sentence_attention_size", "word_buckets")


class HierarchicalAttentionNet(nn.Module):
    """Word encoder + word attention, sentence encoder + sentence attention, linear classifier.

    Args:
        vocab_size, num_classes, pad_id: Token ids, classes ``C`` and padding id, as for
            :class:`~seqkit.models.classifier.SequenceClassifierNet`.
        config: The architecture, :class:`HierarchicalConfig`.
    """

    def __init__(self, vocab_size: int, num_classes: int, config: HierarchicalConfig = HierarchicalConfig(),
                 pad_id: int = 0) -> None:
        super().__init__()
        self.config = config
        words = config.encoder
        self.encoder = RecurrentEncoder(vocab_size, pad_id=pad_id, **asdict(words))
        self.word_attention = AttentionPooling(self.encoder.output_size, config.word_attention_size)
        self.sentence_encoder = FUSED_LAYERS[words.cell](
            self.encoder.output_size, config.sentence_hidden_size, num_layers=words.num_layers, batch_first=True,
            bidirectional=True, dropout=words.dropout if words.num_layers > 1 else 0.0,
        )
        self.sentence_attention = AttentionPooling(2 * config.sentence_hidden_size, config.sentence_attention_size)
        self.sentence_dropout = nn.Dropout(words.dropout)
        self.head = nn.Sequential(nn.Dropout(words.dropout), nn.Linear(2 * config.sentence_hidden_size, num_classes))

    def encode(
        self, sentence_ids: Tensor, sentence_lengths: Tensor, document_index: Tensor, document_mask: Tensor
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Document vectors and both levels' attention weights.

        Args:
            sentence_ids: All sentences of the batch ``(N, W)``.
            sentence_lengths: Tokens per sentence ``(N,)``.
            document_index: Row of ``sentence_ids`` for each document's ``s``-th sentence ``(B, S)``; ``N`` at
                padding.
            document_mask: ``True`` at real sentences ``(B, S)``.

        Returns:
            ``documents`` ``(B, 2 H_s)``, ``sentence_weights`` ``(B, S)`` and ``word_weights`` ``(N, W)``, both
            summing to 1 over real positions and exactly 0 on padding.
        """
        sentences, word_weights = self._encode_words(sentence_ids, sentence_lengths)  # (N, D_w H_w), (N, W)
        sentences = self.sentence_dropout(sentences)
        # A zero row at index N stands in for the padding sentences of shorter documents.
        padded = torch.cat([sentences, sentences.new_zeros(1, sentences.shape[1])])
        grouped = padded[document_index]  # (B, S, D_w H_w)
        sentence_outputs, _ = run_fused_by_length(self.sentence_encoder, grouped, document_mask.sum(1))
        documents, sentence_weights = self.sentence_attention(sentence_outputs, document_mask)
        return documents, sentence_weights, word_weights

    def _encode_words(self, ids: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Sentence vectors ``(N, D_w H_w)`` and word weights ``(N, W)``, in ``word_buckets`` groups of rows."""
        vectors, weights = [], []
        for rows in torch.arange(ids.shape[0], device=ids.device).tensor_split(max(1, self.config.word_buckets)):
            if rows.numel() == 0:
                continue
            group_lengths = lengths[rows]
            width = max(int(group_lengths.max()), 1)
            outputs, _ = self.encoder(ids[rows, :width], group_lengths)  # (n, w, D_w H_w), zero past each length
            mask = length_mask(group_lengths.to(outputs.device), width)
            pooled, group_weights = self.word_attention(outputs, mask)
            vectors.append(pooled)
            weights.append(F.pad(group_weights, (0, ids.shape[1] - width)))
        return torch.cat(vectors), torch.cat(weights)

    def forward(
        self, sentence_ids: Tensor, sentence_lengths: Tensor, document_index: Tensor, document_mask: Tensor
    ) -> Tensor:
        """Class logits ``(B, C)`` (see :meth:`encode` for the inputs' shapes)."""
        documents, _, _ = self.encode(sentence_ids, sentence_lengths, document_index, document_mask)
        return self.head(documents)
