"""Configuration from others: YAML alias bombs are refused in one line before they expand, and class paths are
checked against the allow-list before anything is imported."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from seqkit.errors import CheckpointError
from seqkit.runs import read_run_config
from seqkit.safe_config import MAX_NODES, YAMLBombError, load_yaml
from tests.helpers import REPO, subprocess_env


def bomb(levels: int = 9, width: int = 10) -> str:
    """Billion laughs: ``width ** levels`` values from a few hundred bytes."""
    lines = ["a: &a [" + ", ".join(["x"] * width) + "]"]
    for level in range(1, levels):
        previous = "a" if level == 1 else f"l{level - 1}"
        lines.append(f"l{level}: &l{level} [" + ", ".join([f"*{previous}"] * width) + "]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_at_once():
    start = time.perf_counter()
    with pytest.raises(YAMLBombError, match=f"more than {MAX_NODES:,} values"):
        load_yaml(bomb())
    assert time.perf_counter() - start < 2


@pytest.mark.parametrize(("text", "words"), [
    ("a: &a [1, *a]\n", "more than"),  # an anchor inside itself
    ("a: &a 1\nb: [" + ", ".join(["*a"] * 150) + "]\n", "more than 100 YAML aliases"),
    ("a: " + "[" * 5_000 + "]" * 5_000 + "\n", "nested too deeply"),
])
def test_other_unbounded_documents_are_refused(text, words):
    with pytest.raises(YAMLBombError, match=words):
        load_yaml(text)


def test_ordinary_yaml_with_a_few_aliases_still_loads():
    text = "base: &base {lr: 0.1, layers: [1, 2]}\nmodel: *base\nother: *base\nflag: on\n"
    assert load_yaml(text) == yaml.safe_load(text)


def test_a_run_config_bomb_is_a_one_line_checkpoint_error(tmp_path):
    (tmp_path / "config.yaml").write_text(bomb())
    with pytest.raises(CheckpointError, match="config.yaml is refused: its aliases expand"):
        read_run_config(tmp_path)


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "seqkit", *args], capture_output=True, text=True, cwd=cwd,
                          env=subprocess_env(OMP_NUM_THREADS="1"), timeout=300)


@pytest.mark.slow
@pytest.mark.parametrize("command", ["fit", "test"])
def test_a_class_path_outside_the_allow_list_is_refused_before_it_is_imported(tmp_path, command):
    (tmp_path / "config.yaml").write_text("model:\n  class_path: this.Anything\n  init_args: {}\n")
    done = _cli([command, "--config", str(tmp_path / "config.yaml")], tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert "Beautiful is better" not in done.stdout + done.stderr  # `import this` prints the Zen of Python
    assert "class path 'this.Anything' is not allowed" in done.stderr.strip().splitlines()[-1]
    assert "SEQKIT_ALLOWED_IMPORTS" in done.stderr


@pytest.mark.slow
def test_the_allow_list_takes_modules_from_the_environment(tmp_path):
    (tmp_path / "mytasks.py").write_text("print('imported mytasks')\n")
    (tmp_path / "config.yaml").write_text("model:\n  class_path: mytasks.Task\n")
    env = subprocess_env(OMP_NUM_THREADS="1", SEQKIT_ALLOWED_IMPORTS="mytasks")
    env["PYTHONPATH"] = f"{tmp_path}:{REPO}"
    done = subprocess.run([sys.executable, "-m", "seqkit", "fit", "--config", "config.yaml"], capture_output=True,
                          text=True, cwd=tmp_path, env=env, timeout=300)
    assert "imported mytasks" in done.stdout  # allowed: imported (then refused for having no Task class)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
