"""Shared test set-up: a hermetic environment, the shipped datasets, and the marker for tests that need full data.

Tests read small slices of ``../shared/data`` where it is present, else the small datasets shipped in
``tests/fixtures/data/`` (each dataset's real layout and columns; see ``tests/fixtures/make_data.py``), so the suite
runs on a fresh clone with no data folder and no network. Tests that need a whole dataset
(published counts, full-data figures) take the ``full_data_root`` fixture, which marks them ``full_data``: they read
``../shared/data`` beside the repository (or ``SEQKIT_TEST_FULL_DATA``) and are skipped, with one summary line, when
it is missing; ``SEQKIT_TEST_REQUIRE_FULL_DATA=1`` (CI) turns that skip into a failure.

Whatever the user's shell exports, every test starts from the same environment: the Hub variables are cleared, the
Hub endpoint is a closed local port (a test that needs the Hub starts the stand-in and names it), and data, runs
and caches point at test-owned folders.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

_REPO = Path(__file__).resolve().parents[1]
FIXTURE_DATA = _REPO / "tests" / "fixtures" / "data"
FULL_DATA = Path(os.environ.get("SEQKIT_TEST_FULL_DATA") or _REPO.parent / "shared" / "data")
REQUIRE_FULL_DATA = os.environ.get("SEQKIT_TEST_REQUIRE_FULL_DATA") == "1"

def _full_data_present() -> bool:
    return (FULL_DATA / "sst2" / "train.parquet").is_file()


#: Variables that change where data, models and caches come from: never inherited from the user's shell.
_CLEARED = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_ENDPOINT", "HF_HOME", "HF_HUB_CACHE",
            "HF_DATASETS_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_TOKEN", "HF_TOKEN_PATH", "SEQKIT_DATA_DIR",
            "SEQKIT_RUNS_DIR", "SEQKIT_CACHE_DIR", "SEQKIT_RUN_DIR", "SEQKIT_MAX_PARAMETERS")

# Before `datasets` or `huggingface_hub` is imported anywhere: both read these once, at import.
_SESSION_TMP = Path(tempfile.mkdtemp(prefix="seqkit-tests-"))
for _name in _CLEARED:
    os.environ.pop(_name, None)
os.environ.update({
    "SEQKIT_DATA_DIR": str(FULL_DATA if _full_data_present() else FIXTURE_DATA),
    "SEQKIT_CACHE_DIR": str(_SESSION_TMP / "seqkit-cache"),
    "SEQKIT_RUNS_DIR": str(_SESSION_TMP / "runs"),
    "HF_HOME": str(_SESSION_TMP / "hf"),
    "HF_DATASETS_CACHE": str(_SESSION_TMP / "hf-datasets"),
    "HF_ENDPOINT": "http://127.0.0.1:9",  # nothing listens there: no test reaches a real Hub
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
    "SEQKIT_ALLOWED_IMPORTS": "tests",  # the test callbacks that runs name (tests.helpers.RecordFirstLoss...)
})


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The full datasets where they are present, else the shipped ones (``tests/fixtures/data``: every dataset of the
    recipes, a few hundred rows each). Tests slice what they read, so both give them the same shapes."""
    return FULL_DATA if _full_data_present() else FIXTURE_DATA


@pytest.fixture()
def full_data_root(monkeypatch: pytest.MonkeyPatch) -> Path:
    """The full datasets; ``SEQKIT_DATA_DIR`` points at them for this test (and its subprocesses)."""
    monkeypatch.setenv("SEQKIT_DATA_DIR", str(FULL_DATA))
    return FULL_DATA


@pytest.fixture()
def runs_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private runs folder for one test."""
    folder = tmp_path / "runs"
    monkeypatch.setenv("SEQKIT_RUNS_DIR", str(folder))
    return folder


#: The files that take minutes (many subprocesses, or every recipe at once), longest first. They are collected
#: first, so that pytest-xdist (``--dist loadfile`` hands out whole files in collection order) starts them at once
#: and the other worker fills in around them, instead of one of them starting late and running on alone.
LONGEST_FILES = ("test_bad_inputs.py", "recipes/test_recipes_hub.py", "test_ddp.py", "hub/test_local_hub.py",
                 "recipes/test_recipes.py", "pretrained/test_hostile_folders.py", "test_new_user.py")


def _longest_first(item: pytest.Item) -> int:
    path = Path(str(item.path)).relative_to(Path(__file__).parent).as_posix()
    return LONGEST_FILES.index(path) if path in LONGEST_FILES else len(LONGEST_FILES)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Marks every test that takes ``full_data_root`` as ``full_data``; puts the longest files first."""
    for item in items:
        if "full_data_root" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.full_data)
    items.sort(key=_longest_first)  # stable: each file's own order is kept


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A ``full_data`` test without the full datasets: skipped, or failed where they are required (CI)."""
    if item.get_closest_marker("full_data") and not _full_data_present():
        if REQUIRE_FULL_DATA:
            pytest.fail(f"SEQKIT_TEST_REQUIRE_FULL_DATA=1 but {FULL_DATA} holds no full datasets", pytrace=False)
        pytest.skip(f"needs the full datasets in {FULL_DATA}")


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """One line saying how many full-data tests were skipped and which folder they need."""
    skipped = [report for report in terminalreporter.stats.get("skipped", [])
               if "needs the full datasets" in str(report.longrepr)]
    if skipped:
        terminalreporter.write_line(
            f"{len(skipped)} full-data tests skipped: they need the full datasets in {FULL_DATA} (put shared/data "
            "beside the repository or set SEQKIT_TEST_FULL_DATA); CI runs them all.")
