"""Shared by the documentation tests: each tutorial script runs at most once per test session."""

from __future__ import annotations

import importlib.util
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import REPO

DOCS = REPO / "docs"
TUTORIALS = DOCS / "tutorials"
GENERATED = TUTORIALS / "generated"


def _load_runner():
    spec = importlib.util.spec_from_file_location("docs_tutorials_run", TUTORIALS / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


runner = _load_runner()


@dataclass
class TutorialRun:
    """One tutorial's run: the folder it wrote into, what it printed, how long it took."""

    script: Path
    out: Path
    stdout: str
    seconds: float

    @property
    def figures(self) -> list[Path]:
        return sorted(self.out.glob(f"{self.script.stem}*.png"))


class Tutorials:
    """Runs each tutorial script on first request, into its own temporary folder, and remembers the result."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.runs: dict[str, TutorialRun] = {}

    def run(self, script: Path) -> TutorialRun:
        if script.stem not in self.runs:
            out = self.root / script.stem
            start = time.perf_counter()
            result = runner.run_tutorial(script, out)
            self.runs[script.stem] = TutorialRun(script, out, result.stdout, time.perf_counter() - start)
        return self.runs[script.stem]

    def ensure_generated(self) -> list[str]:
        """Fill docs/tutorials/generated/ with the outputs of every tutorial that has none there yet (reusing this
        session's runs); returns the names it had to provide."""
        provided = []
        for script in runner.tutorial_scripts():
            if (GENERATED / f"{script.stem}.txt").is_file():
                continue
            run = self.run(script)
            GENERATED.mkdir(parents=True, exist_ok=True)
            for path in [run.out / f"{script.stem}.txt", *run.figures]:
                shutil.copy2(path, GENERATED / path.name)
            provided.append(script.stem)
        return provided


@pytest.fixture(scope="session")
def tutorials(tmp_path_factory: pytest.TempPathFactory, data_root: Path) -> Tutorials:
    return Tutorials(tmp_path_factory.mktemp("tutorials"))
