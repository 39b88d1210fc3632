"""A tiny trained classifier run shared by the checkpoint tests (also the uninterrupted run of the resume test)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.helpers import REPO, seqkit_command, subprocess_env

TINY = str(REPO / "recipes" / "sentiment" / "sst2_tiny.yaml")
#: 600 training rows: 19 steps per epoch, 2 epochs; last.ckpt every 5 steps.
RUN_ARGS = [
    "fit", "--config", TINY, "--data.init_args.splits.max_rows.train", "600",
    "--data.init_args.splits.max_rows.validation", "100", "--data.init_args.splits.max_rows.test", "100",
    "--trainer.max_epochs", "2", "--checkpoint_every_n_steps", "5",
    "--test_after_fit", "true", "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
]


def run_seqkit(args: list[str], **env: str) -> subprocess.CompletedProcess:
    """The seqkit CLI as a subprocess with one thread (the machine is shared)."""
    return subprocess.run([*seqkit_command(), *args], capture_output=True, text=True,
                          env=subprocess_env(OMP_NUM_THREADS="1", **env), cwd=REPO, timeout=300)


@pytest.fixture(scope="session")
def classifier_run(data_root, tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("hub") / "uninterrupted"
    done = run_seqkit([*RUN_ARGS, "--run_dir", str(run)])
    assert done.returncode == 0, done.stderr[-3000:]
    return run
