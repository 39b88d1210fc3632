"""Sequence classification: recurrent encoder, pooling, linear head."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import lightning as L
import torch
import torch.nn.functional as F
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import Tensor, nn
from torchmetrics import MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score

from seqkit.nn import RecurrentEncoder
from seqkit.nn.recurrent import CellType
from seqkit.tasks.optim import configure_optimization

Pooling = Literal["last", "mean", "max"]


class SequenceClassifier(L.LightningModule):
    """Embeddings -> (bi)LSTM/GRU/RNN -> pooling -> linear classifier.

    ``vocab_size``, ``num_classes``, ``pad_id`` and ``label_names`` come from the DataModule when run through the
    seqkit CLI.

    Args:
        vocab_size: Number of token ids.
        num_classes: Number of classes ``C``.
        pad_id: Padding id.
        embedding_dim: Embedding size.
        hidden_size: Recurrent hidden size per direction.
        num_layers: Stacked recurrent layers.
        cell: ``lstm``, ``gru`` or ``rnn``.
        bidirectional: Bidirectional encoder.
        dropout: Dropout on embeddings, between layers and before the head.
        pooling: How the sequence becomes one vector: the final states (``last``), or the ``mean`` or ``max`` of
            the outputs over real tokens.
        label_names: Class names in id order (from the data), kept with the model for predictions.
        optimizer: Optimizer factory (``class_path`` + ``init_args`` in a recipe); default Adam, lr 1e-3.
        lr_scheduler: Optional learning-rate scheduler factory.
    """

    #: Metric and mode the seqkit CLI's checkpointing follows.
    monitor = ("val_acc", "max")

    def __init__(
        self,
        vocab_size: int,
        num_classes: int,
        pad_id: int = 0,
        embedding_dim: int = 128,
        hidden_size: int = 128,
        num_layers: int = 1,
        cell: CellType = "lstm",
        bidirectional: bool = True,
        dropout: float = 0.2,
        pooling: Pooling = "mean",
        label_names: list[str] | None = None,
        optimizer: OptimizerCallable | None = None,
        lr_scheduler: LRSchedulerCallable | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["optimizer", "lr_scheduler"])
        self.optimizer_factory = optimizer
        self.scheduler_factory = lr_scheduler
        self.pooling = pooling
        self.encoder = RecurrentEncoder(
            vocab_size, embedding_dim, hidden_size, num_layers, cell, bidirectional, dropout, pad_id
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(self.encoder.output_size, num_classes))
        metrics = MetricCollection({
            "acc": MulticlassAccuracy(num_classes, average="micro"),
            "f1": MulticlassF1Score(num_classes, average="macro"),
        })
        self.val_metrics = metrics.clone(prefix="val_")
        self.test_metrics = metrics.clone(prefix="test_")

    def forward(self, input_ids: Tensor, input_lengths: Tensor) -> Tensor:
        """Class logits ``(B, C)`` for token ids ``(B, T)`` with lengths ``(B,)``."""
        outputs, final = self.encoder(input_ids, input_lengths)
        if self.pooling == "last":
            pooled = self.encoder.last_hidden(final)
        else:
            mask = (torch.arange(input_ids.shape[1], device=input_ids.device) < input_lengths[:, None]).unsqueeze(-1)
            if self.pooling == "mean":
                pooled = (outputs * mask).sum(1) / input_lengths.clamp(min=1)[:, None]
            else:
                pooled = outputs.masked_fill(~mask, float("-inf")).amax(1)
        return self.head(pooled)

    def _step(self, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        logits = self(batch["input_ids"], batch["input_lengths"])
        return logits, F.cross_entropy(logits, batch["labels"])

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        _, loss = self._step(batch)
        self.log("train_loss", loss, prog_bar=True, batch_size=len(batch["labels"]))
        return loss

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        logits, loss = self._step(batch)
        self.val_metrics.update(logits, batch["labels"])
        self.log("val_loss", loss, sync_dist=True, batch_size=len(batch["labels"]))
        self.log_dict(self.val_metrics, prog_bar=True)

    def test_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        logits, loss = self._step(batch)
        self.test_metrics.update(logits, batch["labels"])
        self.log("test_loss", loss, sync_dist=True, batch_size=len(batch["labels"]))
        self.log_dict(self.test_metrics)

    def predict_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        """Class probabilities ``(B, C)``."""
        return self(batch["input_ids"], batch["input_lengths"]).softmax(-1)

    def format_predictions(self, batches: list[Tensor]) -> Iterator[dict]:
        """One record per example: predicted label (id and name) and class probabilities."""
        names = self.hparams.get("label_names")
        for probabilities in torch.cat(batches).tolist():
            label = max(range(len(probabilities)), key=probabilities.__getitem__)
            record = {"label": label, "probabilities": [round(p, 6) for p in probabilities]}
            if names:
                record["label_name"] = names[label]
            yield record

    def configure_optimizers(self):
        return configure_optimization(self, self.optimizer_factory, self.scheduler_factory)
