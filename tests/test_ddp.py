"""Two-process DDP training on CPU, run as a subprocess (DDP inside pytest would relaunch pytest itself)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from seqkit.data.classification import TextClassificationDataModule
from seqkit.data.options import Splits
from seqkit.data.sources import DataSource
from seqkit.data.tokenizers import TokenizerConfig
from tests.helpers import REPO, free_port, subprocess_env

TINY = REPO / "recipes" / "sentiment" / "sst2_tiny.yaml"


@pytest.mark.slow
def test_ddp_two_processes_each_train_on_their_own_shard(data_root, tmp_path):
    run = tmp_path / "ddp-run"
    command = [
        sys.executable, "-m", "seqkit", "fit", "--config", str(TINY), "--run_dir", str(run),
        "--trainer.devices", "2", "--trainer.strategy", "ddp", "--trainer.accelerator", "cpu",
        "--trainer.max_epochs", "1", "--trainer.enable_progress_bar", "false",
        "--trainer.enable_model_summary", "false", "--data.init_args.splits.max_rows", "400",
        "--trainer.callbacks+=tests.helpers.RecordTrainingExamples",
    ]
    out = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path,
                         env=subprocess_env(MASTER_PORT=str(free_port())))
    assert out.returncode == 0, out.stderr[-3000:]

    seen = [json.loads((run / f"seen-rank{rank}.json").read_text()) for rank in (0, 1)]
    assert [s["world_size"] for s in seen] == [2, 2]
    assert seen[0]["batches"] == seen[1]["batches"]  # same number of steps on both ranks

    # What one epoch should cover: the same 400 training rows, tokenised the same way.
    module = TextClassificationDataModule(
        DataSource(name="sst2"), TokenizerConfig(kind="word", vocab_size=5000, lowercase=True), max_length=48,
        splits=Splits(max_rows=400, validation=None, test=None),
    )
    module.setup("fit")
    expected = {tuple(row) for row in module.encoded["train"]["input_ids"]}
    shards = [{tuple(row) for row in s["rows"]} for s in seen]
    assert shards[0] | shards[1] == expected  # together the ranks saw the whole split
    assert len(shards[0] & shards[1]) <= 32  # and apart from one padding batch, different examples
    assert (run / "checkpoints" / "best.ckpt").is_file() and (run / "config.yaml").is_file()
    assert len(list(tmp_path.rglob("config.yaml"))) == 1  # both ranks used one run directory


def _lm_run(run_dir, devices: int, batch: int, eval_batch: int, tmp_path) -> float:
    import csv

    command = [
        sys.executable, "-m", "seqkit", "fit", "--config", str(REPO / "recipes" / "lm" / "tiny.yaml"),
        "--run_dir", str(run_dir), "--trainer.devices", str(devices), "--trainer.accelerator", "cpu",
        "--trainer.max_epochs", "1", "--trainer.enable_progress_bar", "false",
        "--trainer.enable_model_summary", "false",
        "--data.init_args.batching.batch_size", str(batch),
        "--data.init_args.batching.eval_batch_size", str(eval_batch),
        # No dropout: the two runs must see the same computation, not the same random masks.
        "--model.init_args.dropout", "0", "--model.init_args.dropout_input", "0",
        "--model.init_args.dropout_hidden", "0", "--model.init_args.weight_drop", "0",
    ]
    if devices > 1:
        command += ["--trainer.strategy", "ddp"]
    out = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path,
                         env=subprocess_env(MASTER_PORT=str(free_port()), OMP_NUM_THREADS="1"))
    assert out.returncode == 0, out.stderr[-3000:]
    rows = [r for r in csv.DictReader((run_dir / "metrics.csv").open()) if r.get("val_ppl")]
    return float(rows[-1]["val_ppl"])


@pytest.mark.slow
def test_lm_ddp_matches_one_process_with_the_same_global_batch(data_root, tmp_path):
    single = _lm_run(tmp_path / "one", devices=1, batch=16, eval_batch=10, tmp_path=tmp_path)
    ddp = _lm_run(tmp_path / "two", devices=2, batch=8, eval_batch=5, tmp_path=tmp_path)
    print(f"tiny LM validation perplexity: 1 process x batch 16 = {single:.3f}, 2 processes x batch 8 = {ddp:.3f}")
    assert ddp == pytest.approx(single, rel=0.01)
