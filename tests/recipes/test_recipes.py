"""Every YAML under recipes/ parses and trains a few steps on CPU (on a small slice of its real data)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from seqkit.cli import main
from tests.helpers import REPO

RECIPES = sorted((REPO / "recipes").rglob("*.yaml"))

#: Recipes that start from another recipe's run: recipe -> (the recipe to run first, overrides pointing at its run).
STAGES = {
    "sentiment/imdb_from_lm.yaml": ("lm/imdb.yaml", lambda first: [
        "--data.init_args.tokenizer.path", str(first / "tokenizer"), "--model.init_args.pretrained_lm", str(first),
    ]),
}

SMOKE = [
    "--data.init_args.splits.max_rows", "200",
    "--trainer.max_steps", "3", "--trainer.max_epochs", "1", "--trainer.limit_val_batches", "2",
    "--trainer.num_sanity_val_steps", "0", "--trainer.enable_progress_bar", "false",
    "--trainer.enable_model_summary", "false", "--trainer.accelerator", "cpu", "--trainer.devices", "1",
]


def test_there_are_recipes():
    assert RECIPES


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: str(p.relative_to(REPO / "recipes")))
def test_recipe_parses_and_trains_a_few_steps(recipe: Path, data_root, tmp_path, capsys):
    with pytest.raises(SystemExit) as done:
        main(["fit", "--config", str(recipe), "--print_config"])
    assert done.value.code == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["model"]["class_path"].startswith("seqkit.") and printed["data"]["class_path"].startswith("seqkit.")

    overrides = []
    name = recipe.relative_to(REPO / "recipes").as_posix()
    if name in STAGES:
        first_recipe, stage_overrides = STAGES[name]
        first = tmp_path / "first"
        assert main(["fit", "--config", str(REPO / "recipes" / first_recipe), "--run_dir", str(first), *SMOKE]) == 0
        overrides = stage_overrides(first)
    run = tmp_path / "run"
    code = main(["fit", "--config", str(recipe), "--run_dir", str(run), *SMOKE, *overrides])
    assert code == 0
    assert (run / "config.yaml").is_file() and (run / "checkpoints" / "last.ckpt").is_file()
