"""seqkit's layers only point down: every import of a seqkit module, in-function ones included, is checked against
the layers of ``scripts/layers.py`` (the same code draws the diagram in docs/architecture.md)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from tests.helpers import REPO

_spec = importlib.util.spec_from_file_location("layers", REPO / "scripts" / "layers.py")
layers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(layers)


def test_no_import_cycle():
    assert layers.cycles(layers.graph()) == []


def test_no_module_imports_from_a_higher_layer():
    assert layers.upward_imports() == []


def test_every_module_is_in_a_layer():
    for source, target, _, _ in layers.imports():
        layers.layer_of(source), layers.layer_of(target)


def test_imports_inside_functions_are_listed_with_their_reason():
    unlisted = sorted({(s, t) for s, t, _ in layers.lazy_imports()} - layers.LAZY_IMPORTS.keys())
    assert unlisted == [], "move these imports to the top of their module, or list them in LAZY_IMPORTS with a reason"
    assert all(reason.strip() for reason in layers.LAZY_IMPORTS.values())


def test_the_check_fails_on_an_upward_import(tmp_path):
    package = tmp_path / "seqkit"
    (package / "nn").mkdir(parents=True)
    (package / "inference").mkdir()
    for path in ("__init__.py", "nn/__init__.py", "inference/__init__.py", "inference/loading.py"):
        (package / path).write_text("")
    (package / "nn" / "cells.py").write_text("def f():\n    from seqkit.inference.loading import load\n")
    assert layers.upward_imports(package) == [("seqkit.nn.cells", "seqkit.inference.loading", 2)]
    (package / "inference" / "loading.py").write_text("from seqkit.nn import cells\n")
    (package / "nn" / "__init__.py").write_text("from seqkit.nn.cells import f\n")
    (package / "nn" / "cells.py").write_text("import seqkit.inference.loading\n")
    assert layers.cycles(layers.graph(package)) == [["seqkit.inference.loading", "seqkit.nn.cells"]]


def test_architecture_page_shows_the_current_layers():
    page = (REPO / "docs" / "architecture.md").read_text()
    assert layers.diagram() in page, "run `python scripts/layers.py` and paste its output into docs/architecture.md"


@pytest.mark.slow
def test_help_does_not_import_torch():
    code = "import sys; from seqkit.cli import main; main(['--help']); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("False")
