"""`seqkit data show` works for every recipe and names, for each split, the pinned source a machine without the
local folder would read: a Hub commit or an archive's checksum."""

from __future__ import annotations

import re

import pytest

from seqkit.cli import main
from seqkit.commands.data import data_module
from seqkit.data.sources import resolve
from tests.helpers import REPO
from tests.recipes.test_recipes_pinned import UNPINNED

RECIPES = sorted(p.relative_to(REPO / "recipes").as_posix() for p in (REPO / "recipes").rglob("*.yaml"))
PINNED = re.compile(r"@[0-9a-f]{40}\b|\(sha256 [0-9a-f]{12}\.\.\.\)|every member checked by SHA-256")


@pytest.mark.parametrize("recipe", RECIPES)
def test_every_split_of_every_recipe_has_a_pinned_source(recipe):
    module = data_module(str(REPO / "recipes" / recipe))
    splits = list(dict.fromkeys(module.split_roles().values()))
    assert splits and module.column_roles()
    if recipe.startswith("trees/"):  # no Hub copy or archive: the recipe says which files to put where
        assert not module.source.has_remote() and "trainDevTestTrees_PTB" in module.source.obtain
        return
    for split, place in resolve(module.source, splits, remote=True).items():
        assert PINNED.search(place) or any(place.startswith((f"{repo}@", f"{repo}:")) for repo in UNPINNED), \
            f"{split}: {place}"


@pytest.mark.parametrize("recipe", ["sentiment/sst2.yaml", "forecasting/etth1_lstm.yaml", "trees/sst5.yaml"])
def test_data_show_prints_each_split_where_it_is_read_and_where_else(recipe, data_root, capsys):
    assert main(["data", "show", "--recipe", str(REPO / "recipes" / recipe)]) == 0
    lines = capsys.readouterr().out.splitlines()
    splits = [line for line in lines if re.match(rf"^  \S+\s+[\d,]+ rows  <- {data_root}/", line)]
    elsewhere = [line for line in lines if "elsewhere: " in line]
    assert len(splits) == (1 if recipe.startswith("forecasting") else 3), lines
    assert len(elsewhere) == (0 if recipe.startswith("trees") else len(splits)), lines


def test_a_recipe_without_a_remote_source_says_which_files_to_put_where(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SEQKIT_DATA_DIR", str(tmp_path / "data"))
    recipe = str(REPO / "recipes" / "trees" / "sst2.yaml")
    for command in (["data", "show", "--recipe", recipe], ["data", "pull", "--recipe", recipe, "--out", str(tmp_path)]):
        assert main(command) != 0
        error = capsys.readouterr().err.strip()
        assert len(error.splitlines()) == 1, error
        assert f"{tmp_path}/data/sst_trees/<split>.parquet" in error
        assert "trainDevTestTrees_PTB" in error and "seqkit data pull` writes" not in error
