"""Parts 1 to 3 of ``seqkit bench gpu``, which train through ``seqkit fit``: the generated corpus, training steps/s
on one device and on every visible device (DDP over NCCL), and fp32 against bf16-mixed."""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch

from seqkit.bench.gpu_kernels import OWN_CUBLAS_SETTING
from seqkit.bench.timing import synchronize
from seqkit.cli import main

WORDS_PER_LINE = 30


# ---------------------------------------------------------------------------------------------- 1. the corpus
def write_corpus(folder: Path, vocab: int, tokens: int, successors: int, seed: int) -> dict:
    """Write ``train``/``validation``/``test`` parquet files of generated lines (``WORDS_PER_LINE`` words each) into
    ``folder``; returns the perplexity floor of the text.

    Every word ``w<i>`` is followed by one of ``successors`` words drawn for it (frequent words more often, Zipf
    weights over the vocabulary), with Zipf probabilities (the same profile for every word), so the entropy rate is
    that profile's entropy ``H``. Per token of the stream (each line
    ends with ``<eos>``): the first word of a line is uniform (``log vocab``), the next ones cost ``H`` each, and
    ``<eos>`` nothing to a model that counts words, so no model beats ``exp((log vocab + 29 H) / 31)``.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    successors = min(successors, vocab)
    # Each word's successors are drawn without replacement with Zipf weights over the vocabulary (Gumbel top-k, in
    # blocks of rows), so some words are frequent and others rare, as in text.
    log_weights = -np.log(np.arange(1, vocab + 1))
    follow = np.empty((vocab, successors), dtype=np.int64)
    for start in range(0, vocab, 512):
        scores = log_weights + rng.gumbel(size=(min(512, vocab - start), vocab))
        follow[start:start + len(scores)] = np.argpartition(-scores, successors - 1, axis=1)[:, :successors]
    rng.shuffle(follow, axis=1)  # the order of a row sets which successor gets which probability
    profile = 1.0 / np.arange(1, successors + 1) ** 1.1
    profile /= profile.sum()
    cumulative = np.cumsum(profile)
    lines = max(tokens // (WORDS_PER_LINE + 1), 60)
    words = np.empty((lines, WORDS_PER_LINE), dtype=np.int64)
    words[:, 0] = rng.integers(0, vocab, lines)
    for step in range(1, WORDS_PER_LINE):
        pick = np.minimum(np.searchsorted(cumulative, rng.random(lines)), successors - 1)
        words[:, step] = follow[words[:, step - 1], pick]
    text = [" ".join(f"w{w}" for w in row) for row in words]
    folder.mkdir(parents=True, exist_ok=True)
    ends = {"train": int(lines * 0.9), "validation": int(lines * 0.95), "test": lines}
    start = 0
    for split, end in ends.items():
        pq.write_table(pa.table({"text": text[start:end]}), folder / f"{split}.parquet")
        start = end
    entropy = float(-(profile * np.log(profile)).sum())
    floor = math.exp((math.log(vocab) + (WORDS_PER_LINE - 1) * entropy) / (WORDS_PER_LINE + 1))
    return {"rows": [{"tokens": lines * (WORDS_PER_LINE + 1), "words": vocab, "successors per word": successors,
                      "perplexity floor": round(floor, 2)}], "floor": floor}


def lm_options(corpus: Path, vocab: int, hidden: int, layers: int, batch_size: int, bptt: int,
               seed: int) -> list[str]:
    """``seqkit fit`` options of the language model of parts 2 and 3: ``recipes/lm/tiny.yaml`` on the corpus, made
    ``layers`` x ``hidden`` with AWD-LSTM's regularisation (dropouts, weight drop 0.5, tied weights)."""
    return [
        "--config", "lm/tiny", "--seed_everything", str(seed), "--threads", "1",
        "--data.init_args.source.name", str(corpus), "--data.init_args.tokenizer.vocab_size", str(vocab + 8),
        "--data.init_args.splits.max_rows", str(10**9), "--data.init_args.bptt", str(bptt),
        "--data.init_args.batching.batch_size", str(batch_size), "--data.init_args.batching.eval_batch_size", "10",
        "--model.init_args.network.embedding_dim", str(hidden), "--model.init_args.network.hidden_size", str(hidden),
        "--model.init_args.network.num_layers", str(layers), "--model.init_args.network.dropout", "0.4",
        "--model.init_args.network.dropout_input", "0.4", "--model.init_args.network.dropout_hidden", "0.25",
        "--model.init_args.network.weight_drop", "0.5", "--trainer.num_sanity_val_steps", "0",
        "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
    ]


# ---------------------------------------------------------------------------------------------- 2. steps/s
class StepRate(L.Callback):
    """Times training steps after the first ``skip`` (waiting for the device) and writes ``rate.json`` into the run
    folder (rank zero): steps, seconds, and tokens per step over all ranks."""

    def __init__(self, skip: int = 20) -> None:
        self.skip = skip
        self.started: float | None = None
        self.timed = 0
        self.tokens = 0

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any,
                             batch_idx: int) -> None:
        if trainer.global_step == self.skip:
            synchronize(pl_module.device)
            self.started = time.perf_counter()

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        if self.started is not None:
            self.timed += 1
            self.tokens = batch["input_ids"].numel() * trainer.world_size

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        synchronize(pl_module.device)
        seconds = time.perf_counter() - self.started if self.started is not None else math.nan
        if trainer.is_global_zero:
            record = {"steps": self.timed, "seconds": seconds, "tokens_per_step": self.tokens,
                      "world_size": trainer.world_size, "strategy": type(trainer.strategy).__name__,
                      "backend": getattr(trainer.strategy, "_process_group_backend", None)}
            Path(trainer.default_root_dir, "rate.json").write_text(json.dumps(record))


def _rate_row(label: str, rate: dict, single: dict | None = None) -> dict:
    steps_per_second = rate["steps"] / rate["seconds"]
    tokens_per_second = steps_per_second * rate["tokens_per_step"]
    row = {"run": label, "processes": rate["world_size"], "backend": rate["backend"] or "-",
           "steps/s": f"{steps_per_second:.2f}", "tokens/s (all devices)": f"{tokens_per_second:,.0f}"}
    if single is not None:
        base = single["steps"] / single["seconds"] * single["tokens_per_step"]
        row["scaling efficiency"] = f"{tokens_per_second / (base * rate['world_size']):.2f}"
    return row


def throughput(folder: Path, model: list[str], steps: int, cuda: bool) -> dict:
    """Part 2: ``seqkit fit`` for ``steps`` timed steps (bf16-mixed on a GPU) on one device, then as DDP on every
    visible device (NCCL), each in its own process as a user would run it."""
    devices = torch.cuda.device_count() if cuda else 1
    precision = ["--trainer.precision", "bf16-mixed"] if cuda else []
    accelerator = ["--trainer.accelerator", "gpu" if cuda else "cpu"]
    runs = [("1 device", ["--trainer.devices", "1"])]
    if cuda:
        runs.append((f"DDP on {devices} device{'s' if devices > 1 else ''} (NCCL)",
                     ["--trainer.devices", str(devices), "--trainer.strategy", "ddp"]))
    rows, notes, single = [], [], None
    for label, options in runs:
        run = folder / f"throughput-{len(rows)}"
        command = [sys.executable, "-m", "seqkit", "fit", *model, *accelerator, *precision, *options,
                   "--run_dir", str(run), "--trainer.max_steps", str(steps + 20), "--trainer.limit_val_batches", "0",
                   "--trainer.callbacks+=seqkit.bench.gpu_training.StepRate"]
        env = {k: v for k, v in os.environ.items() if k != "CUBLAS_WORKSPACE_CONFIG" or not OWN_CUBLAS_SETTING}
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
        if done.returncode != 0:
            raise RuntimeError(f"{label}: seqkit fit exited with {done.returncode}: {done.stderr.strip()[-1500:]}")
        rate = json.loads((run / "rate.json").read_text())
        rows.append(_rate_row(label, rate, single))
        single = single or rate
    if not cuda:
        notes.append("DDP over NCCL skipped: no CUDA device (`seqkit bench ddp` checks DDP on the CPU, with gloo).")
    elif devices == 1:
        notes.append("One visible GPU: the DDP run is one process, which checks NCCL's set-up and DDP's overhead; "
                     "scaling needs more GPUs.")
    notes.append(f"Per-device batch {model[model.index('--data.init_args.batching.batch_size') + 1]} rows x "
                 f"{model[model.index('--data.init_args.bptt') + 1]} tokens: under DDP the global batch grows with "
                 "the devices (docs/scaling.md).")
    return {"rows": rows, "notes": notes}


# ---------------------------------------------------------------------------------------------- 3. precision
def precision_quality(folder: Path, model: list[str], epochs: int, cuda: bool, corpus: dict) -> dict:
    """Part 3: the same run in fp32 and in bf16-mixed (validation perplexity after each epoch, tokens/s), then the
    bf16 run's checkpoint resumed for a few steps in fp32."""
    accelerator = ["--trainer.accelerator", "gpu" if cuda else "cpu", "--trainer.devices", "1"]
    rows, finals = [], {}
    for precision in ("32-true", "bf16-mixed"):
        run = folder / f"precision-{precision}"
        code = main(["fit", *model, *accelerator, "--trainer.precision", precision, "--run_dir", str(run),
                     "--trainer.max_epochs", str(epochs), "--trainer.callbacks+=seqkit.bench.gpu_training.StepRate",
                     "--trainer.callbacks.skip", "5"])
        if code:
            raise RuntimeError(f"seqkit fit --trainer.precision {precision} exited with {code}")
        perplexities = [float(row["val_ppl"]) for row in csv.DictReader((run / "metrics.csv").open())
                        if row.get("val_ppl")]
        rate = json.loads((run / "rate.json").read_text())
        finals[precision] = perplexities[-1]
        rows.append({"precision": precision,
                     "validation perplexity by epoch": " / ".join(f"{p:.2f}" for p in perplexities),
                     "tokens/s": f"{rate['steps'] / rate['seconds'] * rate['tokens_per_step']:,.0f}"})
    notes = [f"bf16-mixed / fp32 final perplexity: {finals['bf16-mixed'] / finals['32-true']:.3f} (floor of the "
             f"generated text: {corpus['floor']:.2f})."]
    bf16 = folder / "precision-bf16-mixed" / "checkpoints" / "last.ckpt"
    steps = torch.load(bf16, weights_only=True, map_location="cpu")["global_step"]
    code = main(["fit", *model, *accelerator, "--trainer.precision", "32-true", "--run_dir",
                 str(folder / "precision-bf16-mixed"), "--ckpt_path", "last", "--trainer.max_epochs", str(epochs + 1),
                 "--trainer.callbacks+=seqkit.bench.timing.StopAfterStep", "--trainer.callbacks.step", str(steps + 5)])
    resumed = torch.load(bf16, weights_only=True, map_location="cpu")["global_step"]
    verdict = "ok" if code == 0 and resumed > steps else "FAILED"
    notes.append(f"The bf16-mixed run's last.ckpt resumed in fp32: {verdict} (steps {steps} -> {resumed}; the "
                 "language model's carried state is kept in fp32).")
    if verdict != "ok":
        raise RuntimeError(notes[-1])
    return {"rows": rows, "notes": notes}
