"""Every recipe trains from the HuggingFace Hub with no local data folder, then again offline from the cache.

The Hub is a local stand-in (``tests/fake_hub.py``) serving each recipe's repo in its real layout, built from small
slices of ``../shared/data``; the real ``datasets`` and ``huggingface_hub`` clients talk to it through
``HF_ENDPOINT``. The second pass stops the server and sets ``HF_HUB_OFFLINE=1``: one recipe per source must read the
cache and train identically (the same first-batch loss).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from seqkit.commands.data import data_module
from seqkit.data.sources import load_splits
from tests.fake_hub import FakeHub
from tests.helpers import REPO, subprocess_env
from tests.hub_repos import build
from tests.recipes.hub_runner import row_digests

ALL_RECIPES = sorted(p.relative_to(REPO / "recipes").as_posix() for p in (REPO / "recipes").rglob("*.yaml"))
#: Recipes whose data has no Hub copy in a layout seqkit reads (they name only their local folder), and why.
LOCAL_ONLY = {
    "trees/sst2.yaml": "SST parse trees: the Hub's stanfordnlp/sst is a loading script whose export was not verified",
    "trees/sst5.yaml": "SST parse trees: the Hub's stanfordnlp/sst is a loading script whose export was not verified",
}
RECIPES = [recipe for recipe in ALL_RECIPES if recipe not in LOCAL_ONLY]


def _source(recipe: str) -> tuple:
    """What a recipe downloads: its Hub repos and archive format."""
    source = yaml.safe_load((REPO / "recipes" / recipe).read_text())["data"]["init_args"]["source"]
    others = tuple(sorted(hub["id"] for hub in (source.get("hub_splits") or {}).values()))
    return (source.get("hub") or {}).get("id"), others, (source.get("archive") or {}).get("format")


#: One recipe per source (a tiny one where there is one) trains again offline, from what the first pass cached.
def _one_per_source(recipes: list[str]) -> list[str]:
    chosen: dict[tuple, str] = {}
    for recipe in sorted(recipes, key=lambda r: ("tiny" not in r, r)):  # tiny recipes first
        chosen.setdefault(_source(recipe), recipe)
    return sorted(chosen.values())


OFFLINE = _one_per_source(RECIPES)


def test_every_recipe_names_a_hub_source_or_is_listed_as_local_only():
    for recipe in ALL_RECIPES:
        source = yaml.safe_load((REPO / "recipes" / recipe).read_text())["data"]["init_args"]["source"]
        remote = bool(source.get("hub") or source.get("archive"))
        assert remote != (recipe in LOCAL_ONLY), recipe


def _run_all(out, env, facts, recipes: list[str]) -> dict:
    out.mkdir()
    command = [sys.executable, "-m", "tests.recipes.hub_runner", str(out), json.dumps(facts), *recipes]
    done = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, timeout=900)
    results = out / "results.json"
    assert results.is_file(), done.stderr[-3000:]
    return json.loads(results.read_text())


@pytest.fixture(scope="module")
def hub_and_offline_runs(tmp_path_factory, data_root):
    root = tmp_path_factory.mktemp("hub-recipes")
    hub = FakeHub().start()
    try:
        facts = build(hub, data_root)
        env = subprocess_env(HF_HOME=str(root / "hf"), HF_DATASETS_CACHE=str(root / "hf" / "datasets"),
                             SEQKIT_CACHE_DIR=str(root / "seqkit-cache"), HF_ENDPOINT=hub.url,
                             HF_HUB_DISABLE_TELEMETRY="1", SEQKIT_RUNS_DIR=str(root / "runs"))
        env.pop("SEQKIT_DATA_DIR", None)
        online = _run_all(root / "online", env, facts, RECIPES)
    finally:
        hub.stop()
    requests = list(hub.requests)
    offline = _run_all(root / "offline", {**env, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}, facts, OFFLINE)
    return online, offline, requests


@pytest.mark.slow
@pytest.mark.parametrize("recipe", [  # the speech recipes' validation split needs more recordings than are shipped
    pytest.param(r, marks=pytest.mark.full_data) if str(r).startswith("speech/") else r for r in RECIPES])
def test_recipe_trains_from_the_hub_then_offline_from_the_cache(recipe, hub_and_offline_runs):
    online, offline, requests = hub_and_offline_runs
    assert online[recipe]["code"] == 0, online[recipe]["error"]
    if recipe not in OFFLINE:  # another recipe with this source trains offline
        return
    assert offline[recipe]["code"] == 0, offline[recipe]["error"]
    if online[recipe]["first_loss"] is None:  # fitted in closed form (echo-state readout): compare the weights
        assert online[recipe]["weights"] is not None
        assert offline[recipe]["weights"] == online[recipe]["weights"]
    else:
        assert offline[recipe]["first_loss"] == online[recipe]["first_loss"]


@pytest.mark.slow
@pytest.mark.parametrize("recipe", [
    pytest.param(r, marks=pytest.mark.full_data) if str(r).startswith("speech/") else r for r in RECIPES])
def test_every_row_read_from_the_hub_is_a_row_of_the_local_copy(recipe, hub_and_offline_runs, data_root):
    # The stand-in serves slices of the local copies in each repo's own layout, names and formats; after reshaping
    # (split and column names, labels, whitespace) every row must be exactly one of the local split it stands for.
    online, _, _ = hub_and_offline_runs
    assert "rows" in online[recipe], online[recipe]["error"]
    module = data_module(str(REPO / "recipes" / recipe))
    for split, remote in online[recipe]["rows"].items():
        local = row_digests(load_splits(module.source, [remote["local"]])[remote["local"]])
        columns = sorted(set(remote["columns"]) & set(local))
        assert set(module.column_roles().values()) <= set(columns), (split, columns)
        local_rows = set(zip(*(local[c] for c in columns)))
        remote_rows = list(zip(*(remote["columns"][c] for c in columns)))
        assert remote_rows, split
        missing = sum(row not in local_rows for row in remote_rows)
        assert missing == 0, f"{split}: {missing} of {len(remote_rows)} rows are not rows of the local copy"


@pytest.mark.slow
def test_the_hub_runs_read_every_repo_through_the_hub_api(hub_and_offline_runs):
    _, _, requests = hub_and_offline_runs
    repos = ["nyu-mll/glue", "SetFit/sst2", "stanfordnlp/imdb", "Salesforce/wikitext", "ptb-text-only/ptb_text_only",
             "bentrevett/multi30k", "sentence-transformers/parallel-sentences-tatoeba", "Yelp/yelp_review_full",
             "fancyzhx/amazon_polarity"]
    for repo in repos:
        assert any(f"/datasets/{repo}/resolve/" in line for line in requests), repo
    assert any("refs%2Fconvert%2Fparquet/penn_treebank/train/0000.parquet" in line for line in requests)
    assert any(line == "GET /files/aclImdb_v1.tar.gz" for line in requests)
    assert os.environ.get("SEQKIT_DATA_DIR")  # the rest of the suite still reads ../shared/data
