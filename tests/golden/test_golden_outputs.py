"""Published folders written by an earlier seqkit still load, and give the outputs they gave then.

``expected.json`` was recorded from ``tests/fixtures/published_v1`` (tiny models trained a few steps on real data)
before seqkit's inference code was reorganised; see ``cases.py``. The empty review's record was replaced since by the
blank record that every blank input gets (docs/commands.md, "Blank inputs").
"""

from __future__ import annotations

import json
import math

import pytest

from tests.golden.cases import EXPECTED, api_outputs, command_outputs

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def assert_same(actual, expected, where: str = "") -> None:
    """Equal structure, strings and ints; floats equal to 1e-5 (what the recorded 6 significant digits hold)."""
    if isinstance(expected, float):
        assert isinstance(actual, int | float) and math.isclose(actual, expected, rel_tol=1e-5, abs_tol=1e-6), where
    elif isinstance(expected, dict):
        assert isinstance(actual, dict) and sorted(actual) == sorted(expected), where
        for key in expected:
            assert_same(actual[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list | tuple) and len(actual) == len(expected), where
        for index, (a, e) in enumerate(zip(actual, expected)):
            assert_same(a, e, f"{where}[{index}]")
    else:
        assert actual == expected, where


@pytest.fixture(scope="module")
def expected() -> dict:
    return json.loads(EXPECTED.read_text())


def test_python_api_outputs_unchanged(expected):
    assert_same(api_outputs(), expected["api"], "api")


def test_command_outputs_unchanged(expected, tmp_path):
    actual = command_outputs(tmp_path)
    for name in ("classify", "tree_classify"):  # JSON lines: probabilities compared as numbers
        assert_same([json.loads(line) for line in actual.pop(name).splitlines()],
                    [json.loads(line) for line in expected["commands"][name].splitlines()], name)
    assert actual == {k: v for k, v in expected["commands"].items() if k not in ("classify", "tree_classify")}
