"""The files ``seqkit predict`` writes, from every rank's predictions, in the split's order."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import BasePredictionWriter

from seqkit.commands.files import atomic_output
from seqkit.distributed import gather_objects


class PredictionFiles(BasePredictionWriter):
    """Writes the outputs of ``trainer.predict`` into the run folder (``trainer.default_root_dir``) when the split
    is done: the data module's own files when it has ``write_predictions(batches, folder)`` (forecasts), else
    ``predictions.jsonl``, one line per example (``row``, the text when the task's data gives the test split's
    ``texts`` (:class:`~seqkit.data.DataInfo`), and the model's ``format_predictions`` record or raw output).

    Under DDP each rank predicts its own share of the split; rank zero gathers every rank's batches, puts them back
    in split order (by the dataset indices Lightning records for each batch) and writes them, so the files hold each
    row exactly once, also under ``ddp_spawn``, whose ``trainer.predict`` returns nothing.
    """

    def __init__(self) -> None:
        super().__init__(write_interval="epoch")

    def write_on_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, predictions: Any,
                           batch_indices: Any) -> None:
        indices = batch_indices[0] if len(batch_indices) == 1 else []  # loaders x batches x examples
        parts = gather_objects((list(indices), list(predictions)))
        if not trainer.is_global_zero:
            return
        batches = split_order(parts)
        if batches:
            for path in write_predictions(batches, trainer.datamodule, pl_module, Path(trainer.default_root_dir)):
                print(f"Predictions: {path}", flush=True)


def split_order(parts: list[tuple[list[list[int]], list[Any]]]) -> list[Any]:
    """Every rank's prediction batches (``(dataset indices of each batch, outputs of each batch)`` per rank) in the
    split's order: by each batch's first index when every batch has its indices, else in rank order."""
    pairs = [(index, batch) for indices, batches in parts
             for index, batch in zip(indices or [None] * len(batches), batches, strict=True)]
    if all(index for index, _ in pairs):
        pairs.sort(key=lambda pair: pair[0][0])
    return [batch for _, batch in pairs]


def write_predictions(batches: list[Any], datamodule: Any, model: Any, folder: Path) -> list[Path]:
    """Write ``batches`` (the whole split's prediction outputs, in order) into ``folder``; returns the files."""
    writer = getattr(datamodule, "write_predictions", None)
    if writer is not None:
        return list(writer(batches, folder))
    path = folder / "predictions.jsonl"
    rows = model.format_predictions(batches) if hasattr(model, "format_predictions") else (
        {"output": row} for batch in batches for row in batch.tolist()
    )
    texts = prediction_texts(model)
    with atomic_output(path) as handle:
        for index, row in enumerate(rows):
            text = {"text": texts[index]} if texts is not None and index < len(texts) else {}
            handle.write(json.dumps({"row": index, **text, **row}, ensure_ascii=False) + "\n")
    return [path]


def prediction_texts(model: Any) -> Any:
    """The texts of the split ``predict`` read (the test split, in file order), when the task's data gives them
    (``DataInfo.texts``); ``None`` otherwise."""
    info = getattr(model, "data_info", None)
    texts = info.get("texts") if info is not None else None
    if not texts or "test" not in texts:
        return None
    return texts["test"]
