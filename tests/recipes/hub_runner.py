"""Runs recipes in one process against whatever Hub ``HF_ENDPOINT`` names (or the offline cache), for
``test_recipes_hub.py``: ``python -m tests.recipes.hub_runner OUT_DIR FACTS_JSON RECIPE...`` (``FACTS_JSON``: what
``tests.hub_repos.build`` returned: the archives' addresses and checksums on the stand-in).

Writes ``OUT_DIR/results.json``: per recipe, the exit code, the first-batch loss and the error line (if any).
One interpreter for all recipes keeps the ~5 s Lightning import out of each run.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import sys
import time
from pathlib import Path

import yaml

from seqkit.cli import main
from seqkit.commands.data import data_module
from seqkit.data.sources import load_splits
from tests.hub_repos import FSDD_ARCHIVE
from tests.recipes.test_recipes import SMOKE, STAGES

REPO = Path(__file__).resolve().parents[2]


def run(recipe: str, out: Path, facts: dict[str, str]) -> dict:
    run_dir = out / recipe.replace("/", "__").removesuffix(".yaml")
    extra = ["--trainer.callbacks+=tests.helpers.RecordFirstLoss", "--trainer.max_steps", "2",
             "--trainer.limit_val_batches", "1"]
    if recipe.startswith("reviews/imdb_rating"):
        extra += ["--data.init_args.source.archive.url", facts["archive_url"],
                  "--data.init_args.source.archive.sha256", facts["archive_sha256"]]
    if recipe.startswith("forecasting/etth1"):
        extra += ["--data.init_args.source.archive.url", facts["etth1_url"],
                  "--data.init_args.source.archive.sha256", facts["etth1_sha256"]]
    if recipe.startswith("speech/fsdd"):  # served beside the aclImdb archive
        extra += ["--data.init_args.source.archive.url", f"{facts['archive_url'].rsplit('/', 1)[0]}/{FSDD_ARCHIVE}"]
    hub = (yaml.safe_load((REPO / "recipes" / recipe).read_text())["data"]["init_args"]["source"].get("hub") or {})
    if hub.get("id") in facts["sha256"]:  # pinned by file checksums: the stand-in's files have their own
        extra += ["--data.init_args.source.hub.sha256", json.dumps(facts["sha256"][hub["id"]])]
    rows = remote_rows(recipe, extra)
    if recipe in STAGES:
        first_recipe, overrides = STAGES[recipe]
        first = run_dir.with_name(run_dir.name + "__stage1")
        code = main(["fit", "--config", str(REPO / "recipes" / first_recipe), "--run_dir", str(first), *SMOKE])
        if code:
            return {"code": code, "error": "stage 1 failed"}
        extra += overrides(first)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["fit", "--config", str(REPO / "recipes" / recipe), "--run_dir", str(run_dir), *SMOKE, *extra])
    loss_file, weights_file = run_dir / "first_loss.json", run_dir / "weights.sha256"
    return {"code": code, "error": err.getvalue().strip().splitlines()[-1:] if code else [], "rows": rows,
            "first_loss": json.loads(loss_file.read_text()) if loss_file.is_file() else None,
            "weights": weights_file.read_text() if weights_file.is_file() else None}


def row_digests(dataset) -> dict[str, list[str]]:
    """``{column: [digest of each row's value]}``: what a split holds, small enough to compare across processes."""
    def digest(value) -> str:
        if isinstance(value, bytes):
            return hashlib.sha1(value).hexdigest()
        return hashlib.sha1(json.dumps(value, default=str, sort_keys=True).encode()).hexdigest()

    return {column: [digest(v) for v in dataset[column]] for column in dataset.column_names}


def remote_rows(recipe: str, extra: list[str]) -> dict:
    """Each split as the recipe reads it from the Hub or its archive, with the local split that it stands for."""
    module = data_module(str(REPO / "recipes" / recipe))
    source = module.source
    for option, value in zip(extra, extra[1:]):  # the archive and checksums on the stand-in
        if option.startswith("--data.init_args.source.archive."):
            setattr(source.archive, option.rsplit(".", 1)[1], value)
        if option == "--data.init_args.source.hub.sha256":
            source.hub.sha256 = json.loads(value)
    splits = list(dict.fromkeys(module.split_roles().values()))
    loaded = load_splits(source, splits, remote=True)
    out = {}
    for split, dataset in loaded.items():
        hub = source.hub_dataset(split) if source.archive is None else None
        parent = hub.derive[split].split if hub is not None and split in hub.derive else split
        out[split] = {"local": parent, "columns": row_digests(dataset)}
    return out


if __name__ == "__main__":
    out, facts_json, *recipes = sys.argv[1:]
    facts = json.loads(facts_json)
    results = {}
    for recipe in recipes:
        start = time.perf_counter()
        try:
            results[recipe] = run(recipe, Path(out), facts)
            results[recipe]["seconds"] = round(time.perf_counter() - start, 1)
        except BaseException as error:  # record and go on: one broken recipe must not hide the others
            results[recipe] = {"code": -1, "error": [f"{type(error).__name__}: {error}"[:500]]}
    Path(out, "results.json").write_text(json.dumps(results, indent=1))
