"""The user's shell does not change a result: a sample of the suite passes under hostile Hub and seqkit settings."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.helpers import REPO

pytestmark = pytest.mark.slow

#: A data test file, a Hub-reshaping one and local-Hub tests that launch seqkit subprocesses.
SAMPLE = ["tests/data/test_sources.py", "tests/data/test_hub_reshape.py", "tests/hub/test_local_hub.py"]
LOCAL_HUB = "data_pull_writes_the_layout or (wrong_hub_setting and override1)"


def test_a_sample_of_the_suite_passes_under_hostile_settings(tmp_path):
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("not a folder\n")
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", HF_ENDPOINT="http://127.0.0.1:9",
               HF_HOME=str(not_a_folder), SEQKIT_DATA_DIR="/dev/null", SEQKIT_RUNS_DIR=str(not_a_folder),
               SEQKIT_CACHE_DIR=str(not_a_folder), OMP_NUM_THREADS="1")
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("PYTEST_CURRENT_TEST", None)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not tutorial", *SAMPLE,
         "-k", f"not test_local_hub or {LOCAL_HUB}"],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=600)
    tail = done.stdout[-3000:] + done.stderr[-2000:]
    assert done.returncode == 0, tail
    passed = re.search(r"(\d+) passed", done.stdout)
    assert passed and int(passed.group(1)) >= 5, tail
