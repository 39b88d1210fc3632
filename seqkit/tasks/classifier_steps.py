"""Training, evaluation and prediction steps shared by the classifiers (flat and hierarchical)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor
from torchmetrics import MeanMetric, MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassConfusionMatrix, MulticlassF1Score


def prediction_record(probabilities: list[float], label_names: list[str] | None = None) -> dict:
    """``{"label", "label_name"?, "probabilities"}`` for one example's class probabilities (``C`` floats)."""
    label = max(range(len(probabilities)), key=probabilities.__getitem__)
    record = {"label": label, "probabilities": [round(p, 6) for p in probabilities]}
    if label_names:
        record["label_name"] = label_names[label]
    return record


class ClassifierSteps:
    """Mixed into a LightningModule whose ``forward(*self.model_inputs(batch))`` gives class logits ``(B, C)``.

    Logs ``train_loss``; accuracy, macro-F1 and loss for validation and test; writes the test confusion matrix to
    ``<log_dir>/confusion_matrix.csv``; predicts class probabilities. Every metric is a torchmetrics state summed
    across ranks (the loss as a sum and a weight, :meth:`loss_weight`), so under DDP, where each rank evaluates its
    own share of a split, the figures equal one process's.
    """

    monitor: ClassVar[tuple[str, str]] = ("val_acc", "max")  # checkpoints and plateau schedulers follow accuracy

    def on_fit_start(self) -> None:
        """Take the data's class names (:class:`~seqkit.data.DataInfo`'s ``label_names``) when none were given, so
        they are saved with every checkpoint and shown by every prediction."""
        super().on_fit_start()
        names = self.data_info.get("label_names")
        if names and not self.hparams.get("label_names") and len(names) == self.test_confusion.num_classes:
            self.hparams["label_names"] = list(names)

    def model_inputs(self, batch: dict[str, Tensor]) -> tuple[Tensor, ...]:
        """The batch tensors ``forward`` takes, in order (default: token ids ``(B, T)`` and lengths ``(B,)``)."""
        return batch["input_ids"], batch["input_lengths"]

    def setup_metrics(self, num_classes: int) -> None:
        metrics = MetricCollection({
            "acc": MulticlassAccuracy(num_classes, average="micro"),
            "f1": MulticlassF1Score(num_classes, average="macro"),
        })
        self.val_metrics = metrics.clone(prefix="val_")
        self.test_metrics = metrics.clone(prefix="test_")
        # Kept out of the collections: a (C, C) tensor cannot be logged; it is written to a CSV at test end.
        self.test_confusion = MulticlassConfusionMatrix(num_classes)
        self.val_mean_loss, self.test_mean_loss = MeanMetric(), MeanMetric()

    def loss_weight(self, batch: dict[str, Tensor]) -> int:
        """How many terms the batch's mean loss averages (its examples): the weight that makes a split's loss the
        mean over every one of them, on one process or many."""
        return len(batch["labels"])

    def _step(self, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        logits = self(*self.model_inputs(batch))
        return logits, F.cross_entropy(logits, batch["labels"])

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        _, loss = self._step(batch)
        self.log("train_loss", loss, prog_bar=True, batch_size=len(batch["labels"]))
        return loss

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        logits, loss = self._step(batch)
        self.val_metrics.update(logits, batch["labels"])
        self.val_mean_loss.update(loss, self.loss_weight(batch))
        self.log("val_loss", self.val_mean_loss)
        self.log_dict(self.val_metrics, prog_bar=True)

    def test_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        logits, loss = self._step(batch)
        self.test_metrics.update(logits, batch["labels"])
        self.test_confusion.update(logits, batch["labels"])
        self.test_mean_loss.update(loss, self.loss_weight(batch))
        self.log("test_loss", self.test_mean_loss)
        self.log_dict(self.test_metrics)

    def on_test_epoch_end(self) -> None:
        """Write the confusion matrix (rows: true class, columns: predicted) to ``<log_dir>/confusion_matrix.csv``."""
        matrix = self.test_confusion.compute().tolist()  # synced across ranks: every rank must call it
        self.test_confusion.reset()
        trainer = self.trainer
        log_dir = trainer.log_dir  # also collective under DDP
        if not log_dir or not trainer.is_global_zero:
            return
        names = self.hparams.get("label_names") or [str(i) for i in range(len(matrix))]
        with (Path(log_dir) / "confusion_matrix.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["true/predicted", *names])
            writer.writerows([name, *row] for name, row in zip(names, matrix, strict=True))

    def predict_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        """Class probabilities ``(B, C)``."""
        return self(*self.model_inputs(batch)).softmax(-1)

    def format_predictions(self, batches: list[Tensor]) -> Iterator[dict]:
        """One record per example: predicted label (id and name) and class probabilities."""
        names = self.hparams.get("label_names")
        for probabilities in torch.cat(batches).tolist():
            yield prediction_record(probabilities, names)
