"""Shared test set-up: isolated caches and run folders, and the path to the real datasets.

The real datasets live beside the repository in ``../shared/data`` (or wherever ``SEQKIT_DATA_DIR`` points);
tests read small slices of them and write their own tiny fixtures into temporary folders.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from tests.helpers import REPO

_DEFAULT_DATA = REPO.parent / "shared" / "data"

# Must happen before `datasets` is imported anywhere: its cache location is read at import time.
_SESSION_TMP = Path(tempfile.mkdtemp(prefix="seqkit-tests-"))
os.environ.setdefault("SEQKIT_DATA_DIR", str(_DEFAULT_DATA))
os.environ["SEQKIT_CACHE_DIR"] = str(_SESSION_TMP / "seqkit-cache")
os.environ["HF_DATASETS_CACHE"] = str(_SESSION_TMP / "hf-datasets")
os.environ["SEQKIT_RUNS_DIR"] = str(_SESSION_TMP / "runs")
os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
os.environ.pop("SEQKIT_RUN_DIR", None)


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The real datasets folder; a missing folder is an error, not a skip (CI always has it)."""
    root = Path(os.environ["SEQKIT_DATA_DIR"])
    if not (root / "sst2").is_dir():
        pytest.fail(f"Real datasets not found in {root}: set SEQKIT_DATA_DIR or place shared/data beside the repo.")
    return root


@pytest.fixture()
def runs_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private runs folder for one test."""
    folder = tmp_path / "runs"
    monkeypatch.setenv("SEQKIT_RUNS_DIR", str(folder))
    return folder
