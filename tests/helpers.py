"""Test utilities, and Lightning callbacks that subprocess runs import as ``tests.helpers``."""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

import lightning as L

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seqkit_command() -> list[str]:
    """How to run the seqkit CLI as a subprocess with this interpreter."""
    return [sys.executable, "-m", "seqkit"]


def subprocess_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    env.update(extra)
    return env



class RecordTrainingExamples(L.Callback):
    """Writes the (unpadded) token-id rows each rank trained on to ``<run_dir>/seen-rank<R>.json``."""

    def __init__(self) -> None:
        self.rows: list[list[int]] = []
        self.batches = 0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.batches += 1
        for ids, length in zip(batch["input_ids"].tolist(), batch["input_lengths"].tolist(), strict=True):
            self.rows.append(ids[:length])

    def on_train_end(self, trainer, pl_module) -> None:
        path = Path(trainer.default_root_dir) / f"seen-rank{trainer.global_rank}.json"
        path.write_text(json.dumps({"batches": self.batches, "rows": self.rows, "world_size": trainer.world_size}))


class PoisonWeightsAtStep(L.Callback):
    """Fills the model's weights with NaN before training step ``step`` (to test non-finite loss handling), on every
    rank or on ``rank`` only."""

    def __init__(self, step: int = 2, rank: int | None = None) -> None:
        self.step = step
        self.rank = rank

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.global_step == self.step and self.rank in (None, trainer.global_rank):
            for parameter in pl_module.parameters():
                parameter.data.fill_(float("nan"))


class RecordFirstLoss(L.Callback):
    """Writes the loss of the first training batch to ``<run_dir>/first_loss.json``, and a digest of the trained
    weights to ``<run_dir>/weights.sha256`` (for models fitted without backpropagation), for same-run comparisons."""

    def __init__(self) -> None:
        self.done = False

    def on_before_backward(self, trainer: L.Trainer, pl_module: L.LightningModule, loss) -> None:
        if not self.done and trainer.is_global_zero:
            self.done = True
            Path(trainer.default_root_dir, "first_loss.json").write_text(json.dumps(float(loss.detach())))

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        import hashlib

        digest = hashlib.sha256()
        for name, tensor in sorted(pl_module.state_dict().items()):
            digest.update(name.encode() + tensor.detach().cpu().contiguous().numpy().tobytes())
        Path(trainer.default_root_dir, "weights.sha256").write_text(digest.hexdigest())
