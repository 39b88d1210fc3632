"""``cell: mingru | minlstm`` works in every task: classifier, language model (+ generation), translator, HAN."""

from __future__ import annotations

import pytest
import torch

from seqkit.cli import main
from tests.helpers import REPO
from tests.recipes.test_recipes import SMOKE

#: Each task once, the two cells alternating (both cells are checked against the recurrence in test_parallel_scan).
TASKS = {
    "sentiment/sst2_tiny.yaml": ("network.encoder.cell", "mingru",
                                 ["--model.init_args.network.encoder.bidirectional", "true"]),
    "lm/tiny.yaml": ("network.cell", "minlstm", ["--model.init_args.network.weight_drop", "0"]),
    "translation/tiny.yaml": ("network.cell", "minlstm", []),
    "reviews/tiny.yaml": ("network.encoder.cell", "mingru", []),
}


@pytest.mark.slow
@pytest.mark.parametrize("recipe", sorted(TASKS))
def test_every_task_trains_and_evaluates_with_a_parallel_scan_cell(recipe, data_root, tmp_path):
    option, cell, extra = TASKS[recipe]
    run = tmp_path / "run"
    args = ["fit", "--config", str(REPO / "recipes" / recipe), "--run_dir", str(run), *SMOKE,
            f"--model.init_args.{option}", cell, "--test_after_fit", "true", *extra]
    assert main(args) == 0
    state = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    assert any(".layers.0.weight" in key for key in state)  # the scan layer's input projection was trained
    if recipe.startswith("lm/"):
        from seqkit.inference import load
        from seqkit.search import generate
        from seqkit.tasks.language_modeling import LanguageModel

        module = load(run, task=LanguageModel).module
        steps = list(generate(module.network, [[1, 2, 3]], 5, 1.0, None, None, seed=0))  # one step at a time
        assert len(steps) == 5


def test_weight_drop_on_a_scan_cell_says_what_to_do():
    from seqkit.models.rnn_lm import RNNLanguageModel, RNNLMConfig

    with pytest.raises(ValueError, match="set model.init_args.network.weight_drop 0"):
        RNNLanguageModel(100, RNNLMConfig(cell="mingru", weight_drop=0.5))
