"""Crash-safe training: kill -9 in the middle of an epoch, resume with --ckpt_path last, same result; atomic saves."""

from __future__ import annotations

import csv
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from seqkit.checkpointing import check_checkpoint, remove_partial_checkpoints
from seqkit.errors import CheckpointError
from tests.helpers import REPO, subprocess_env
from tests.hub.conftest import RUN_ARGS, run_seqkit


def _metrics(run: Path) -> dict[str, float]:
    """The last value of every logged metric but timings."""
    values: dict[str, float] = {}
    with (run / "metrics.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            values.update({k: float(v) for k, v in row.items() if v and not k.startswith("train/")})
    return values


def test_kill_9_mid_epoch_then_resume_gives_the_uninterrupted_result(classifier_run, tmp_path):
    run = tmp_path / "killed"
    # Killed before step 27: in the second epoch (19 steps each), two steps after last.ckpt was written at step 25.
    killed = run_seqkit([*RUN_ARGS, "--run_dir", str(run),
                         "--trainer.callbacks+=tests.hub.callbacks.KillAtStep", "--trainer.callbacks.step", "27"])
    assert killed.returncode == -signal.SIGKILL
    saved = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert saved["global_step"] == 25 and saved["epoch"] == 1  # a mid-epoch checkpoint
    config = (run / "config.yaml").read_text()

    resumed = run_seqkit([*RUN_ARGS, "--run_dir", str(run), "--ckpt_path", "last"])
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"Resuming {run} from {run / 'checkpoints' / 'last.ckpt'}" in resumed.stderr + resumed.stdout
    assert (run / "config.yaml").read_text() == config  # the run's config stays; the resume's is beside it
    assert (run / "config-resume.yaml").is_file()

    for name in ("last.ckpt", "best.ckpt"):
        expected = torch.load(classifier_run / "checkpoints" / name, weights_only=True)
        got = torch.load(run / "checkpoints" / name, weights_only=True)
        assert got["global_step"] == expected["global_step"] == 38
        assert expected["state_dict"].keys() == got["state_dict"].keys()
        for key, tensor in expected["state_dict"].items():
            assert torch.equal(tensor, got["state_dict"][key]), key
    expected, got = _metrics(classifier_run), _metrics(run)
    assert {"val_acc", "val_loss", "test_acc", "test_loss"} <= expected.keys()
    assert got == expected


def test_resume_needs_the_run_directory(capsys):
    from seqkit.cli import main

    code = main(["fit", "--config", str(REPO / "recipes" / "sentiment" / "sst2_tiny.yaml"), "--ckpt_path", "last",
                 "--trainer.max_steps", "1"])
    assert code == 2
    assert "--ckpt_path last resumes a run: give its folder with --run_dir" in capsys.readouterr().err


def test_a_damaged_last_checkpoint_gives_a_clear_error(classifier_run, tmp_path):
    damaged = tmp_path / "last.ckpt"
    damaged.write_bytes((classifier_run / "checkpoints" / "last.ckpt").read_bytes()[:5000])
    with pytest.raises(CheckpointError, match="cannot be read"):
        check_checkpoint(damaged)
    check_checkpoint(classifier_run / "checkpoints" / "last.ckpt")


def test_a_kill_while_saving_never_leaves_a_partial_checkpoint(tmp_path):
    """SIGKILL a process that keeps rewriting a large checkpoint: the file is always one whole version."""
    target = tmp_path / "last.ckpt"
    script = textwrap.dedent(f"""
        import torch
        from seqkit.checkpointing import atomic_torch_save
        for version in range(1, 1000):
            atomic_torch_save({{"state_dict": {{"w": torch.full((8, 1024, 1024), float(version))}},
                               "version": version}}, {str(target)!r})
            print(version, flush=True)
    """)
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                               env=subprocess_env(OMP_NUM_THREADS="1"))
    assert process.stdout.readline().strip() == "1"
    time.sleep(0.3)  # the next saves are under way
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    check_checkpoint(target)
    saved = torch.load(target, weights_only=True)
    assert saved["version"] >= 1 and bool((saved["state_dict"]["w"] == saved["version"]).all())
    remove_partial_checkpoints(tmp_path)  # what a resume does first
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]
