"""What each rank of a ``seqkit bench ddp`` run records (:class:`Probe`, a callback), and the readers of what a
run wrote: its probe files, metrics, per-example output files and run folder."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path
from typing import Any

import lightning as L
import torch

from seqkit import settings
from seqkit.distributed import gather_objects, rank_and_size


# ---------------------------------------------------------------------------------------------- what each rank records
def examples(batch: Any) -> int:
    """The examples (or, for a token stream, the predicted tokens) of one batch of any seqkit data module."""
    for key in ("labels", "rows", "x", "targets"):
        if key in batch:
            return len(batch[key])
    return int(batch["target_ids"].numel())


def split_size(datamodule: Any) -> int:
    """What one evaluation of the test split must count with :func:`examples`: its examples, or the predicted
    tokens of its ``eval_batch_size`` stream rows."""
    if hasattr(datamodule, "streams"):
        rows = datamodule.batching.eval_batch_size
        return (datamodule.streams["test"].numel() // rows - 1) * rows
    if hasattr(datamodule, "datasets"):
        test = datamodule.datasets["test"]
        return len(test[0] if isinstance(test, tuple) else test)  # speech: (dataset, lengths)
    return len(datamodule.encoded["test"])


def weights_digest(module: torch.nn.Module) -> str:
    """SHA-256 of every tensor of ``module``'s state dict, by name."""
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        digest.update(name.encode() + tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


class Probe(L.Callback):
    """Writes ``probe-<stage>.json`` into the run folder (rank zero, from every rank's records): after ``fit`` the
    digest of each rank's weights; after ``test`` and ``predict`` the examples each rank evaluated and the size
    of the split."""

    def __init__(self) -> None:
        self.counted = 0

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._write(trainer, "fit", {"digests": gather_objects(weights_digest(pl_module))})

    def on_test_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.counted = 0

    on_predict_epoch_start = on_test_epoch_start

    def on_test_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        self.counted += examples(batch)

    on_predict_batch_end = on_test_batch_end

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._write_counts(trainer, "test")

    def on_predict_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._write_counts(trainer, "predict")

    def _write_counts(self, trainer: L.Trainer, stage: str) -> None:
        counts = gather_objects(self.counted)
        self._write(trainer, stage, {"evaluated": counts, "split": split_size(trainer.datamodule)})

    @staticmethod
    def _write(trainer: L.Trainer, stage: str, record: dict) -> None:
        if trainer.is_global_zero:
            Path(trainer.default_root_dir, f"probe-{stage}.json").write_text(json.dumps(record))


# ---------------------------------------------------------------------------------------------- reading a run
def newest_run(recipe: str) -> Path:
    """The run folder rank zero created last for ``recipe`` under ``SEQKIT_RUNS_DIR``, known to every rank."""
    runs = sorted((settings.runs_dir() / recipe).iterdir(), key=lambda p: p.stat().st_mtime) \
        if rank_and_size()[0] == 0 else [None]
    return gather_objects(runs[-1])[0]


def run_folders(run: Path) -> dict[str, Any]:
    """What a run folder holds: its checkpoints, config files, metrics logs, and any placeholder folder a rank made
    beside it (there must be none)."""
    return {
        "checkpoints": sorted(p.name for p in (run / "checkpoints").iterdir()),
        "configs": sorted(p.name for p in run.glob("config*.yaml")),
        "metrics": sorted(p.name for p in run.glob("metrics*.csv")),
        "placeholders": [str(p) for p in run.parent.rglob(".pending*")],
    }


def read_probe(folder: Path, stage: str) -> dict:
    return json.loads((folder / f"probe-{stage}.json").read_text())


def last_metrics(folder: Path, prefix: str) -> dict[str, float]:
    values: dict[str, float] = {}
    with (folder / "metrics.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            values.update({k: float(v) for k, v in row.items() if v and k.startswith(prefix)})
    return values


def output_files(folder: Path) -> dict[str, list]:
    """``{file: [rows, digest of its content, its numbers]}`` of the per-example files an evaluation wrote (the
    confusion matrix's rows are its total count; predicted probabilities and forecasts are kept as numbers, which
    batches of other sizes may change in their last bits)."""
    files: dict[str, list] = {}
    for name in ("confusion_matrix.csv", "test_hypotheses.txt", "predictions.jsonl", "forecasts.parquet"):
        path = folder / name
        if not path.is_file():
            continue
        numbers: list[float] = []
        if name == "forecasts.parquet":
            import pyarrow.parquet as pq

            table = pq.read_table(path)
            rows, content = len(set(table.column("window").to_pylist())), table.to_pandas().to_csv().encode()
            forecast = [c for c in table.column_names if c not in ("window", "step", "row", "time")
                        and not c.endswith("_true")]
            numbers = [float(v) for c in forecast for v in table.column(c).to_pylist()]
        else:
            content = path.read_bytes()
            lines = content.decode("utf-8").splitlines()
            rows = sum(int(v) for line in lines[1:] for v in line.split(",")[1:]) if name.endswith(".csv") \
                else len(lines)
            if name == "predictions.jsonl":
                numbers = [p for line in lines for p in json.loads(line)["probabilities"]]
        files[name] = [rows, hashlib.sha256(content).hexdigest(), numbers]
    return files
