"""The seqkit command line: fast help, run directories, data-to-model links, bad-input exits, evaluation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from seqkit.cli import main
from tests.helpers import REPO, subprocess_env

TINY = str(REPO / "recipes" / "sentiment" / "sst2_tiny.yaml")
QUICK = ["--trainer.max_epochs", "1", "--trainer.limit_train_batches", "5", "--trainer.limit_val_batches", "2",
         "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]


def test_help_is_fast_because_it_imports_nothing_heavy():
    code = ("import sys; from seqkit.cli import main; main(['--help']); "
            "print(sorted({'torch', 'lightning', 'jsonargparse'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=subprocess_env(), check=True)
    assert "seqkit COMMAND" in out.stdout and out.stdout.strip().endswith("[]")


def test_unknown_command(capsys):
    assert main(["frobnicate"]) == 2
    assert "unknown command 'frobnicate'" in capsys.readouterr().err


def _help(args: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as done:
        main([*args, "--help"])
    assert done.value.code == 0
    return capsys.readouterr().out


def test_every_command_is_typed_with_config_print_config_and_docstring_help(capsys):
    import importlib

    from seqkit.cli import COMMANDS

    for name, (target, _) in COMMANDS.items():
        module, attribute = target.split(":")
        command = getattr(importlib.import_module(module), attribute)
        for sub in sorted(command) if isinstance(command, dict) else [None]:
            text = _help([name, *([sub] if sub else [])], capsys)
            assert "--config" in text and "--print_config" in text, (name, sub)
            assert not any(word.startswith("--") and "-" in word[2:] for word in text.split()), (name, sub, text)
    generate = " ".join(_help(["generate"], capsys).split())
    assert "tokens to generate (at most 100,000) (type: NonNegativeInt, default: 50)" in generate


def test_a_command_reads_its_options_from_print_config_output(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["recipes", "--paths", "--print_config"])
    config = tmp_path / "recipes.yaml"
    config.write_text(capsys.readouterr().out)
    assert yaml.safe_load(config.read_text()) == {"paths": True}
    assert main(["recipes", "--config", str(config)]) == 0
    assert "sentiment/sst2.yaml" in capsys.readouterr().out  # paths, not descriptions


@pytest.mark.parametrize(("args", "words"), [
    (["classify", "--checkpoint", "x", "--batch_size", "0", "text"], ["batch_size", "PositiveInt"]),
    (["classify", "--checkpoint", "x", "--truncation", "middle", "text"], ["truncation"]),
    (["classify", "--checkpoint", "x"], ["give texts as arguments or one --input"]),
    (["classify", "--checkpoint", "x", "--batch-size", "8", "text"], ["--batch-size"]),
    (["bench", "nope"], ["nope"]),
])
def test_bad_command_options_fail_in_one_line_before_any_work(args, words, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("seqkit: error: ") and all(word in err[0] for word in words), err


def test_print_config_shows_linked_defaults(capsys):
    with pytest.raises(SystemExit) as done:
        main(["fit", "--config", TINY, "--print_config"])
    assert done.value.code == 0
    config = yaml.safe_load(capsys.readouterr().out)
    assert config["model"]["class_path"] == "seqkit.tasks.SequenceClassifier"
    assert config["trainer"]["use_distributed_sampler"] is False


@pytest.fixture(scope="module")
def two_runs(data_root, tmp_path_factory) -> list[Path]:
    import os

    runs = tmp_path_factory.mktemp("runs")
    os.environ["SEQKIT_RUNS_DIR"] = str(runs)
    try:
        for _ in range(2):
            assert main(["fit", "--config", TINY, *QUICK]) == 0
    finally:
        os.environ["SEQKIT_RUNS_DIR"] = str(runs.parent)
    return sorted((runs / "sentiment" / "sst2_tiny").iterdir())  # runs/<task>/<recipe>/<time>


def test_each_run_gets_its_own_directory(two_runs):
    assert len(two_runs) == 2
    for run in two_runs:
        names = {p.name for p in run.iterdir()}
        assert {"config.yaml", "checkpoints", "tokenizer", "metrics.csv", "hparams.yaml"} <= names
        assert any(n.startswith("events.out.tfevents") for n in names)
        assert {p.name for p in (run / "checkpoints").iterdir()} == {"best.ckpt", "last.ckpt"}
        assert (run / "tokenizer" / "tokenizer.json").is_file()


def test_data_values_reach_the_model(two_runs):
    from seqkit.data.tokenizers import load_tokenizer

    hparams = yaml.safe_load((two_runs[0] / "hparams.yaml").read_text())
    tokenizer = load_tokenizer(two_runs[0] / "tokenizer")
    assert hparams["vocab_size"] == tokenizer.vocab_size and hparams["pad_id"] == tokenizer.pad_id
    assert hparams["num_classes"] == 2


def test_evaluate_a_run_from_its_config_and_checkpoint(two_runs, capsys, runs_dir):
    run = two_runs[0]
    code = main(["test", "--config", str(run / "config.yaml"), "--ckpt_path", str(run / "checkpoints" / "best.ckpt"),
                 "--trainer.limit_test_batches", "2", "--trainer.enable_progress_bar", "false"])
    assert code == 0
    out = capsys.readouterr().out
    assert "test_acc=" in out and "Run directory:" in out
    # The results go into the evaluated run (RUN/test/<time>), never over the run's own config and logs.
    (evaluation,) = (run / "test").iterdir()
    assert f"Run directory: {evaluation}" in out and "test_acc" in (evaluation / "metrics.csv").read_text()
    assert yaml.safe_load((run / "config.yaml").read_text())["trainer"]["limit_test_batches"] is None
    assert not (runs_dir / "config").exists()


def test_bad_input_exits_with_one_clear_line_and_creates_no_run(data_root, runs_dir, capsys):
    code = main(["fit", "--config", TINY, "--data.init_args.source.columns", "{text: sentence}", *QUICK])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("seqkit: error: Column 'sentence' not found in split 'train'")
    assert not runs_dir.exists() or not any(runs_dir.rglob("config.yaml"))


def test_offline_hub_dataset_through_the_cli(runs_dir, tmp_path):
    env = subprocess_env(SEQKIT_DATA_DIR=str(tmp_path), HF_ENDPOINT="http://127.0.0.1:9", HF_HUB_OFFLINE="0")
    out = subprocess.run(
        [sys.executable, "-m", "seqkit", "fit", "--config", TINY, "--data.init_args.source.hub.id", "stanfordnlp/sst2"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert out.returncode == 2
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("seqkit: error: The HuggingFace Hub (http://127.0.0.1:9) failed while fetching the "
                           "dataset info of stanfordnlp/sst2@")
    assert f"put its splits at {tmp_path}/sst2/<split>.parquet" in last


@pytest.mark.full_data
def test_predict_writes_one_record_per_test_example(two_runs, runs_dir):
    import json

    run = two_runs[0]
    out_dir = runs_dir / "predict"
    code = main(["predict", "--config", str(run / "config.yaml"), "--ckpt_path", str(run / "checkpoints" / "best.ckpt"),
                 "--run_dir", str(out_dir), "--trainer.enable_progress_bar", "false"])
    assert code == 0
    records = [json.loads(line) for line in (out_dir / "predictions.jsonl").read_text().splitlines()]
    assert len(records) == 300  # the recipe's test slice, in file order
    assert [r["row"] for r in records] == list(range(300)) and all(isinstance(r["text"], str) for r in records)
    assert all(abs(sum(r["probabilities"]) - 1) < 1e-4 and r["label"] in (0, 1) for r in records)


def test_nan_loss_stops_the_run_with_a_clear_message(data_root, runs_dir, capsys):
    code = main(["fit", "--config", TINY, *QUICK, "--trainer.callbacks+=tests.helpers.PoisonWeightsAtStep"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("seqkit: error: Training loss became nan in batch 2 of epoch 0; lower the learning rate")


def test_a_run_says_how_many_cpu_threads_it_uses(data_root, runs_dir, caplog):
    import logging

    import torch

    before = torch.get_num_threads()
    try:
        with caplog.at_level(logging.INFO):
            assert main(["fit", "--config", TINY, *QUICK, "--threads", "1"]) == 0
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    assert "CPU threads: 1 (--threads)" in caplog.text


@pytest.mark.parametrize(("option", "hint"), [
    ("--data.init_args.batch_size", "data.init_args.batching.batch_size"),
    ("--data.init_args.test_split", "data.init_args.splits.test"),
    ("--model.init_args.hidden_size", "model.init_args.network.encoder.hidden_size"),
])
def test_a_setting_of_an_older_recipe_points_to_its_group(option, hint, capsys):
    assert main(["fit", "--config", TINY, option, "8", "--print_config"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"did you mean `{hint}`?" in err[0]


def test_last_checkpoint_holds_the_end_of_training_when_validation_runs_every_n_steps(data_root, runs_dir):
    # 7 steps, validation every 3: ModelCheckpoint alone would leave last.ckpt at step 6.
    run = runs_dir / "every_n"
    assert main(["fit", "--config", TINY, "--trainer.max_epochs", "1", "--trainer.limit_train_batches", "7",
                 "--trainer.val_check_interval", "3", "--trainer.limit_val_batches", "2",
                 "--trainer.enable_progress_bar", "false", "--run_dir", str(run)]) == 0
    last = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True, map_location="cpu")
    assert last["global_step"] == 7
