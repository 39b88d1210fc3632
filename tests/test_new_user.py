"""What a new user meets: quiet runs in folders named by task and recipe, the checkpoint a command uses and why,
shipped recipes from any folder, label names in every output, and the smaller rough edges."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from seqkit.cli import main
from tests.helpers import REPO, subprocess_env

#: A small hierarchical network.
HAN_SMALL = {"encoder": {"embedding_dim": 8, "hidden_size": 8}, "sentence_hidden_size": 8,
             "word_attention_size": 8, "sentence_attention_size": 8}

TINY = str(REPO / "recipes" / "sentiment" / "sst2_tiny.yaml")
SMALL = ["--data.init_args.splits.max_rows.train", "200", "--data.init_args.splits.max_rows.validation", "50",
         "--data.init_args.splits.max_rows.test", "50", "--trainer.enable_progress_bar", "false"]
#: Third-party messages that told a seqkit user nothing (each appeared on every run before).
NOISE = ["LeafSpec", "Generating train split", "Flattening", "Casting", "FLOPs", "configure_callbacks",
         "flops_per_batch", "could not find the monitored key", "Skipping setting a default"]


def _seqkit(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "seqkit", *args], capture_output=True, text=True, cwd=cwd,
                          env=subprocess_env(OMP_NUM_THREADS="1", **env), timeout=300)


@pytest.mark.slow
def test_a_short_language_model_run_is_quiet_named_by_recipe_and_says_which_checkpoint(data_root, tmp_path):
    runs, caches = tmp_path / "runs", tmp_path / "caches"
    env = {"SEQKIT_RUNS_DIR": str(runs), "HF_DATASETS_CACHE": str(caches / "hf"),  # fresh: datasets generates
           "SEQKIT_CACHE_DIR": str(caches / "seqkit")}
    done = _seqkit(["fit", "--config", str(REPO / "recipes" / "lm" / "tiny.yaml"), "--trainer.max_steps", "3",
                    "--data.init_args.splits.max_rows.train", "300"], tmp_path, **env)
    assert done.returncode == 0, done.stderr[-3000:]
    printed = done.stdout + done.stderr
    assert not [word for word in NOISE if word in printed], printed
    (run,) = (runs / "lm" / "tiny").iterdir()  # runs/<task>/<recipe>/<time>: lm/tiny and translation/tiny differ
    assert "No best checkpoint: validation never ran" in printed and str(run / "checkpoints" / "last.ckpt") in printed

    generated = _seqkit(["generate", "--checkpoint", str(run), "--max_new_tokens", "2", "--seed", "0"], tmp_path, **env)
    assert generated.returncode == 0, generated.stderr
    assert "has no checkpoints/best.ckpt (validation never ran" in generated.stderr
    assert "using checkpoints/last.ckpt" in generated.stderr


def test_run_names_keep_recipes_with_the_same_file_name_apart():
    from seqkit.runner.run_folder import run_name

    names = {run_name({"config": [str(REPO / "recipes" / task / "tiny.yaml")]})
             for task in ("lm", "translation", "reviews")}
    assert names == {"lm/tiny", "translation/tiny", "reviews/tiny"}


@pytest.mark.slow
def test_best_checkpoint_is_written_when_a_step_save_and_validation_share_a_step(data_root, runs_dir, tmp_path):
    run = tmp_path / "run"
    assert main(["fit", "--config", TINY, *SMALL, "--trainer.max_steps", "5", "--checkpoint_every_n_steps", "5",
                 "--trainer.val_check_interval", "5", "--trainer.limit_val_batches", "1", "--run_dir", str(run)]) == 0
    best = torch.load(run / "checkpoints" / "best.ckpt", weights_only=True)  # was never written before
    assert best["global_step"] == 5


def test_recipes_are_shipped_and_run_by_name_from_any_folder(tmp_path, monkeypatch):
    from seqkit.recipe_hub import list_recipes, resolve_recipe

    monkeypatch.chdir(tmp_path)
    shipped = list_recipes()
    on_disk = {str(p.relative_to(REPO / "recipes").with_suffix("")) for p in (REPO / "recipes").rglob("*.yaml")}
    assert set(shipped) == on_disk and "sentiment/sst2" in shipped
    assert Path(resolve_recipe("sentiment/sst2")).samefile(REPO / "recipes" / "sentiment" / "sst2.yaml")
    assert resolve_recipe("recipes/lm/tiny.yaml") == str(shipped["lm/tiny"])

    listed = _seqkit(["recipes"], tmp_path)
    assert listed.returncode == 0 and all(name in listed.stdout for name in on_disk)
    printed = _seqkit(["fit", "--config", "sentiment/sst2_tiny", "--print_config"], tmp_path)  # not the repo root
    assert printed.returncode == 0, printed.stderr
    assert "seqkit.tasks.SequenceClassifier" in printed.stdout


def test_every_classification_recipe_names_its_labels():
    import yaml

    for path in [*(REPO / "recipes" / "sentiment").glob("*.yaml"), *(REPO / "recipes" / "reviews").glob("*.yaml")]:
        data = yaml.safe_load(path.read_text())["data"]["init_args"]
        names = data.get("label_names")
        assert names and len(set(names)) == len(names), path
        assert data.get("num_classes") in (None, len(names)), path


def test_a_sparse_label_set_warns(caplog):
    from datasets import Dataset

    from seqkit.data.classification import warn_if_sparse

    with caplog.at_level(logging.WARNING, logger="seqkit"):
        warn_if_sparse(Dataset.from_dict({"label": [0, 1, 1, 7]}), "label", 8, "train", "toy")
        warn_if_sparse(Dataset.from_dict({"label": [0, 1, 1, 0]}), "label", 2, "train", "toy")
    (record,) = caplog.records
    assert "labels {0, 1, 7}: 8 classes inferred" in record.getMessage() and "num_classes" in record.getMessage()


@pytest.fixture(scope="module")
def tokenizer():
    from seqkit.data.tokenizers import TokenizerConfig, train_tokenizer

    return train_tokenizer(TokenizerConfig(kind="word", vocab_size=100), [["a good film", "a bad film", "the cat"]])


def test_published_files_are_all_readable_by_others_and_labels_travel(tokenizer, tmp_path):
    import seqkit
    from seqkit.pretrained import SeqkitModel
    from seqkit.tasks import SequenceClassifier

    module = SequenceClassifier(tokenizer.vocab_size, 2, network={"encoder": {"embedding_dim": 8, "hidden_size": 8}},
                                label_names=["negative", "positive"])
    old = os.umask(0o022)
    try:
        SeqkitModel(module, {"tokenizer": tokenizer}).save_pretrained(tmp_path / "model")
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "model").iterdir()}
    assert set(modes.values()) == {0o644}, modes
    predictor = seqkit.load(tmp_path / "model")
    assert predictor.classify("a good film")["label_name"] in ("negative", "positive")


def test_classify_from_python_refuses_non_strings_in_one_line(tokenizer):
    from seqkit.errors import DataError
    from seqkit.inference import ClassifierPredictor
    from seqkit.pretrained import SeqkitModel
    from seqkit.tasks import SequenceClassifier

    module = SequenceClassifier(tokenizer.vocab_size, 2, network={"encoder": {"embedding_dim": 8, "hidden_size": 8}})
    with pytest.raises(DataError, match="Text 1 is NoneType, not a string"):
        ClassifierPredictor(SeqkitModel(module, {"tokenizer": tokenizer})).classify(["ok", None])


def test_hierarchical_probabilities_are_rounded_like_the_classifiers(tokenizer):
    from seqkit.inference import HierarchicalPredictor
    from seqkit.pretrained import SeqkitModel
    from seqkit.tasks.hierarchical import HierarchicalClassifier

    module = HierarchicalClassifier(tokenizer.vocab_size, 3, network=HAN_SMALL,
                                    label_names=["1 star", "2 stars", "3 stars"])
    (explanation,) = HierarchicalPredictor(SeqkitModel(module, {"tokenizer": tokenizer})).explain(["a good film."])
    assert explanation.probabilities == [round(p, 6) for p in explanation.probabilities]
    assert explanation.label_name in ("1 star", "2 stars", "3 stars")


def test_load_on_a_plain_trainer_checkpoint_says_what_to_do(tmp_path):
    from seqkit.errors import CheckpointError
    from seqkit.inference import load

    path = tmp_path / "lightning_logs" / "version_0" / "checkpoints" / "epoch=0-step=5.ckpt"
    path.parent.mkdir(parents=True)
    torch.save({"state_dict": {"w": torch.zeros(1)}, "hyper_parameters": {}}, path)
    with pytest.raises(CheckpointError, match="not written by seqkit fit") as error:
        load(path)
    assert "pass the task class" not in str(error.value) and "load_from_checkpoint" in str(error.value)


def test_attention_plot_labels_subwords_readably(tmp_path):
    pytest.importorskip("matplotlib")
    from seqkit.commands.translate import readable_pieces, save_attention_plot

    assert readable_pieces(["\u2581un", "believ", "able", "\u2581film"]) == ["un", "\u00b7believ", "\u00b7able", "film"]
    assert readable_pieces(["a", "film"]) == ["a", "film"]
    save_attention_plot(tmp_path / "a.png", ["\u2581a", "\u2581film"], ["\u2581un", "\u2581film"], torch.eye(2))
    assert (tmp_path / "a.png").stat().st_size > 0


def test_predictions_and_blank_lines_keep_line_numbers(tmp_path):
    from seqkit.commands.classify import read_records

    source = tmp_path / "in.txt"
    source.write_text("good\n\n  \nbad\n")
    assert list(read_records(source)) == [(1, "good"), (4, "bad")]
    source.write_text(json.dumps({"text": "fine"}) + "\n\n" + json.dumps({"text": "dull"}) + "\n")
    source = source.rename(tmp_path / "in.jsonl")
    assert list(read_records(source)) == [(1, "fine"), (3, "dull")]


def test_a_python_classifier_takes_the_data_modules_label_names():
    from seqkit.data import DataInfo
    from seqkit.tasks import SequenceClassifier

    module = SequenceClassifier(50, 2, network={"encoder": {"embedding_dim": 8, "hidden_size": 8}})
    module.attach_data(DataInfo(label_names=["negative", "positive"]))  # what a DataModule's data_info() gives
    module.on_fit_start()
    assert module.hparams["label_names"] == ["negative", "positive"]  # saved with every checkpoint from here on


def test_a_full_disk_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    import errno

    from seqkit.checkpointing import AtomicCheckpointIO
    from seqkit.errors import CheckpointError

    target = tmp_path / "last.ckpt"
    io = AtomicCheckpointIO()
    io.save_checkpoint({"state_dict": {"w": torch.ones(2)}}, target)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", full)
    with pytest.raises(CheckpointError, match="No space left on device.*previous checkpoint is intact"):
        io.save_checkpoint({"state_dict": {"w": torch.zeros(2)}}, target)
    monkeypatch.undo()
    assert torch.equal(torch.load(target, weights_only=True)["state_dict"]["w"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]


@pytest.mark.slow
def test_a_built_wheel_carries_every_recipe(tmp_path):
    import zipfile

    pytest.importorskip("setuptools")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "--no-build-isolation",
                            "-w", str(tmp_path), "-q"], capture_output=True, text=True, timeout=300,
                           env=subprocess_env(PIP_DISABLE_PIP_VERSION_CHECK="1"))
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = tmp_path.glob("seqkit-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"seqkit/recipes/{p.relative_to(REPO / 'recipes')}" for p in (REPO / "recipes").rglob("*.yaml")}
    assert expected and expected <= names
