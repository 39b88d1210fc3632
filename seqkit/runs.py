"""Run directories: one folder per run holding its resolved config, checkpoints, logs and tokenizer.

Layout::

    runs/<recipe>/<YYYYmmdd-HHMMSS>/
        config.yaml          the fully resolved configuration (re-run it with --config)
        checkpoints/         best.ckpt, last.ckpt
        tokenizer/           tokenizer.json or tokenizer.model
        metrics.csv          CSV log; events.out.tfevents.* for TensorBoard
        hparams.yaml

A new run never reuses an existing folder: a clash adds a suffix (``-2``, ``-3``...). Processes launched by
Lightning for DDP read the parent's choice from ``SEQKIT_RUN_DIR``. On a cluster (SLURM or torchrun) every node
derives the same name from the job id.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from seqkit import settings

RUN_DIR_ENV = "SEQKIT_RUN_DIR"
_JOB_ID_VARS = ("SLURM_JOB_ID", "TORCHELASTIC_RUN_ID")


def inherited_run_dir() -> Path | None:
    """The run directory chosen by a parent process (``SEQKIT_RUN_DIR``), if any."""
    value = os.environ.get(RUN_DIR_ENV)
    return Path(value) if value else None


def job_id() -> str | None:
    """The cluster job id (SLURM or torchrun) when running inside a job."""
    return next((os.environ[v] for v in _JOB_ID_VARS if os.environ.get(v) not in (None, "", "none")), None)


def create_run_dir(name: str, root: Path | None = None) -> Path:
    """Create and return a fresh ``<root>/<name>/<timestamp>`` folder (``<root>/<name>/job-<id>`` in a job)."""
    parent = (root or settings.runs_dir()) / name
    parent.mkdir(parents=True, exist_ok=True)
    job = job_id()
    if job:  # every node of the job must agree on the folder, and a requeued job finds its own
        run_dir = parent / f"job-{job}"
        run_dir.mkdir(exist_ok=True)
        return run_dir
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for attempt in range(1, 1000):
        run_dir = parent / (stamp if attempt == 1 else f"{stamp}-{attempt}")
        try:
            run_dir.mkdir()
        except FileExistsError:
            continue
        return run_dir
    raise RuntimeError(f"Could not create a run directory under {parent}")


def find_checkpoint(path: str | Path) -> tuple[Path, Path]:
    """Resolve a run directory or checkpoint file to ``(checkpoint file, run directory)``.

    A run directory resolves to ``checkpoints/best.ckpt``, else ``checkpoints/last.ckpt``.
    """
    from seqkit.errors import CheckpointError

    path = Path(path).expanduser()
    if path.is_file():
        run_dir = path.parent.parent if path.parent.name == "checkpoints" else path.parent
        return path, run_dir
    if not path.is_dir():
        raise CheckpointError(f"{path} is neither a run directory nor a checkpoint file.")
    for name in ("best.ckpt", "last.ckpt"):
        if (path / "checkpoints" / name).is_file():
            return path / "checkpoints" / name, path
    raise CheckpointError(f"Run directory {path} has no checkpoints/best.ckpt or checkpoints/last.ckpt.")


def load_run(path: str | Path, task_class: type):
    """Load a trained task module (eval mode, CPU) and its tokenizer from a run directory, checkpoint file, published
    model folder or Hub id (see :func:`seqkit.pretrained.load_model`, which every command uses).

    Returns:
        ``(module, tokenizer)``.
    """
    from seqkit.pretrained.loading import load_model

    model = load_model(path, task_class)
    return model.module, model.tokenizer
