"""Hierarchical attention network for document classification (Yang et al., NAACL 2016).

Words -> bidirectional GRU/LSTM -> word attention -> one vector per sentence; sentences -> bidirectional GRU/LSTM
-> sentence attention -> one vector per document -> linear classifier. All sentences of a batch go through the word
level in one call (``sentence_ids`` ``(N, W)``); ``document_index`` ``(B, S)`` regroups their vectors per document
(see :class:`~seqkit.data.hierarchical.HierarchicalCollator`).
"""

from __future__ import annotations

import lightning as L
import torch
import torch.nn.functional as F
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import Tensor, nn

from seqkit.nn import AttentionPooling, RecurrentEncoder, length_mask, run_fused_by_length
from seqkit.nn.recurrent import FUSED_LAYERS, CellType
from seqkit.tasks.classifier_steps import ClassifierSteps
from seqkit.tasks.optim import configure_optimization

#: The tensors ``forward`` takes, in order; every batch of :class:`HierarchicalDataModule` holds them.
INPUTS = ("sentence_ids", "sentence_lengths", "document_index", "document_mask")


class HierarchicalClassifier(ClassifierSteps, L.LightningModule):
    """Hierarchical attention network: word encoder + word attention, sentence encoder + sentence attention.

    Metrics as in :class:`~seqkit.tasks.SequenceClassifier`: accuracy and macro-F1 for validation and test, and
    the test confusion matrix in ``<run_dir>/confusion_matrix.csv``. ``vocab_size``, ``num_classes``, ``pad_id``
    and ``label_names`` come from the DataModule when run through the seqkit CLI.

    Args:
        vocab_size: Number of token ids.
        num_classes: Number of classes ``C``.
        pad_id: Padding id.
        embedding_dim: Word embedding size ``E``.
        word_hidden_size: Word encoder hidden size per direction ``H_w`` (sentence vectors are ``2 H_w`` wide).
        sentence_hidden_size: Sentence encoder hidden size per direction ``H_s`` (documents: ``2 H_s``).
        num_layers: Stacked recurrent layers at each level.
        cell: ``gru`` (as in the paper) or ``lstm`` (or ``rnn``, ``mingru``, ``minlstm``).
        word_attention_size: Width of the word attention's hidden layer and context vector.
        sentence_attention_size: Width of the sentence attention's hidden layer and context vector.
        dropout: Dropout on embeddings, on sentence vectors and before the classifier.
        word_buckets: Run the word level in this many groups of consecutive sentences, each padded only to its own
            longest sentence. The collator sorts sentences by length, so most of the ``(N, W)`` padding is skipped
            (embeddings, dropout, attention); the result is the same for any value.
        label_names: Class names in id order (from the data).
        optimizer: Optimizer factory; default Adam, lr 1e-3.
        lr_scheduler: Optional learning-rate scheduler factory.
    """

    monitor = ("val_acc", "max")

    def __init__(
        self,
        vocab_size: int,
        num_classes: int,
        pad_id: int = 0,
        embedding_dim: int = 200,
        word_hidden_size: int = 50,
        sentence_hidden_size: int = 50,
        num_layers: int = 1,
        cell: CellType = "gru",
        word_attention_size: int = 100,
        sentence_attention_size: int = 100,
        dropout: float = 0.2,
        word_buckets: int = 4,
        label_names: list[str] | None = None,
        optimizer: OptimizerCallable | None = None,
        lr_scheduler: LRSchedulerCallable | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["optimizer", "lr_scheduler"])
        self.optimizer_factory = optimizer
        self.scheduler_factory = lr_scheduler
        self.encoder = RecurrentEncoder(
            vocab_size, embedding_dim, word_hidden_size, num_layers, cell, True, dropout, pad_id
        )
        self.word_attention = AttentionPooling(self.encoder.output_size, word_attention_size)
        self.sentence_encoder = FUSED_LAYERS[cell](
            self.encoder.output_size, sentence_hidden_size, num_layers=num_layers, batch_first=True,
            bidirectional=True, dropout=dropout if num_layers > 1 else 0.0,
        )
        self.sentence_attention = AttentionPooling(2 * sentence_hidden_size, sentence_attention_size)
        self.sentence_dropout = nn.Dropout(dropout)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * sentence_hidden_size, num_classes))
        self.setup_metrics(num_classes)

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
        sentences, word_weights = self._encode_words(sentence_ids, sentence_lengths)  # (N, 2 H_w), (N, W)
        sentences = self.sentence_dropout(sentences)
        # A zero row at index N stands in for the padding sentences of shorter documents.
        padded = torch.cat([sentences, sentences.new_zeros(1, sentences.shape[1])])
        grouped = padded[document_index]  # (B, S, 2 H_w)
        sentence_outputs, _ = run_fused_by_length(self.sentence_encoder, grouped, document_mask.sum(1))
        documents, sentence_weights = self.sentence_attention(sentence_outputs, document_mask)
        return documents, sentence_weights, word_weights

    def _encode_words(self, ids: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Sentence vectors ``(N, 2 H_w)`` and word weights ``(N, W)``, in ``word_buckets`` groups of rows."""
        vectors, weights = [], []
        for rows in torch.arange(ids.shape[0], device=ids.device).tensor_split(max(1, self.hparams.word_buckets)):
            if rows.numel() == 0:
                continue
            group_lengths = lengths[rows]
            width = max(int(group_lengths.max()), 1)
            outputs, _ = self.encoder(ids[rows, :width], group_lengths)  # (n, w, 2 H_w), zero past each length
            mask = length_mask(group_lengths.to(outputs.device), width)
            pooled, group_weights = self.word_attention(outputs, mask)
            vectors.append(pooled)
            weights.append(F.pad(group_weights, (0, ids.shape[1] - width)))
        return torch.cat(vectors), torch.cat(weights)

    def forward(
        self, sentence_ids: Tensor, sentence_lengths: Tensor, document_index: Tensor, document_mask: Tensor
    ) -> Tensor:
        """Class logits ``(B, C)`` (tensors only, see :meth:`encode` for the shapes)."""
        documents, _, _ = self.encode(sentence_ids, sentence_lengths, document_index, document_mask)
        return self.head(documents)

    @torch.no_grad()
    def attention_weights(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """Predictions and attention weights of a batch, regrouped per document.

        Returns:
            ``probabilities`` ``(B, C)``, ``sentence_weights`` ``(B, S)`` and ``word_weights`` ``(B, S, W)``
            (word weights of each document's ``s``-th sentence; zero on padding).
        """
        documents, sentence_weights, word_weights = self.encode(*(batch[name] for name in INPUTS))
        padded = torch.cat([word_weights, word_weights.new_zeros(1, word_weights.shape[1])])
        return {
            "probabilities": self.head(documents).softmax(-1),
            "sentence_weights": sentence_weights,
            "word_weights": padded[batch["document_index"]],
        }

    def model_inputs(self, batch: dict[str, Tensor]) -> tuple[Tensor, ...]:
        return tuple(batch[name] for name in INPUTS)

    def configure_optimizers(self):
        return configure_optimization(self, self.optimizer_factory, self.scheduler_factory)
