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


def create_run_dir(name: str, root: Path | None = None) -> Path:
    """Create and return a fresh ``<root>/<name>/<timestamp>`` folder (``<root>/<name>/job-<id>`` in a job)."""
    parent = (root or settings.runs_dir()) / name
    parent.mkdir(parents=True, exist_ok=True)
    job_id = next((os.environ[v] for v in _JOB_ID_VARS if os.environ.get(v) not in (None, "", "none")), None)
    if job_id:  # every node of the job must agree on the folder, and a requeued job finds its own
        run_dir = parent / f"job-{job_id}"
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
