"""`make demo` on a fresh copy of the repository with no data folder beside it: the data comes from the Hub.

The Hub is the local stand-in serving ``nyu-mll/glue`` and ``SetFit/sst2`` (slices of them); the demo uses this test's
environment instead of creating a new one (``make -o``), so what is tested is the recipe, the Makefile and the data
path.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fake_hub import FakeHub
from tests.helpers import REPO, subprocess_env
from tests.hub_repos import build


def fresh_copy(target: Path) -> Path:
    """The repository's files as a clone would have them (tracked and new, not ignored), with no ../shared."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).write_bytes(source.read_bytes())
    return target


@pytest.mark.slow
def test_make_demo_trains_from_the_hub_in_a_fresh_clone(data_root, tmp_path):
    clone = fresh_copy(tmp_path / "nowhere" / "seqkit")
    assert not (clone.parent / "shared").exists()
    venv = Path(sys.prefix)
    with FakeHub() as hub:
        build(hub, data_root)
        env = subprocess_env(HF_ENDPOINT=hub.url, HF_HOME=str(tmp_path / "hf"), OMP_NUM_THREADS="1",
                             HF_DATASETS_CACHE=str(tmp_path / "hf" / "datasets"),
                             SEQKIT_CACHE_DIR=str(tmp_path / "cache"), SEQKIT_RUNS_DIR=str(tmp_path / "runs"))
        env.pop("SEQKIT_DATA_DIR")
        env["PYTHONPATH"] = str(clone)
        done = subprocess.run(["make", "-o", f"{venv}/.installed", "demo", f"VENV={venv}"], cwd=clone, env=env,
                              capture_output=True, text=True, timeout=600)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    # Where the data came from: GLUE's phrases for training, SetFit's labelled copy of GLUE's test sentences.
    assert "sst2 train <- nyu-mll/glue:sst2@bcdcba79d07bc864c1c254ccfcedcce55bcc9a8c sst2/train-" in output
    assert "sst2 test <- SetFit/sst2@main test.jsonl" in output
    assert "test_acc" in output and "Run directory" in output
    for repo in ("nyu-mll/glue", "SetFit/sst2"):
        assert any(line.startswith(f"GET /datasets/{repo}/resolve/") for line in hub.requests), repo
    assert os.environ["SEQKIT_DATA_DIR"]  # unchanged for the rest of the suite
