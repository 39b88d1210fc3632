"""``seqkit bench gpu``: what to know before renting GPUs, measured on the machine at hand in one command.

Everything runs on a generated corpus (no download, no data folder): a Markov chain over ``vocab`` words whose
entropy rate is known, so perplexities have a floor to be read against. Sections:

1. the corpus;
2. training steps/s of a language model on one device and on every visible device (DDP over NCCL), through
   ``seqkit fit``;
3. fp32 against bf16-mixed: validation perplexity and speed of the same short run, and a bf16 checkpoint resumed in
   fp32;
4. cuDNN with and without weight drop (AWD-LSTM's DropConnect): forward+backward steps/s, and whether weights are
   re-packed or warned about at every step;
5. determinism: two identical short trainings with ``torch.use_deterministic_algorithms`` on, and off.

Without a CUDA device the parts that need one (DDP over NCCL, cuDNN) are skipped and say so; the rest runs on the
CPU with the sizes given (the test suite runs it that way with tiny sizes).
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from jsonargparse.typing import PositiveInt

from seqkit.bench.timing import synchronize
from seqkit.cli import main
from seqkit.models.rnn_lm import RNNLanguageModel, RNNLMConfig
from seqkit.threads import cpu_runs_lstm_in_bf16

#: cuBLAS needs this set before its first use in the process for deterministic algorithms (part 5); the separate
#: processes of part 2 run without it, as a user's would.
_OWN_CUBLAS_SETTING = "CUBLAS_WORKSPACE_CONFIG" not in os.environ
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

WORDS_PER_LINE = 30


def bench(*, markdown: str | None = None, json_file: str | None = None, vocab: PositiveInt = 10000,
          tokens: PositiveInt = 2_000_000, hidden: PositiveInt = 650, layers: PositiveInt = 2,
          batch_size: PositiveInt = 64, bptt: PositiveInt = 70, throughput_steps: PositiveInt = 300,
          quality_epochs: PositiveInt = 3, kernel_steps: PositiveInt = 60, successors: PositiveInt = 20,
          seed: int = 0) -> int:
    """The GPU check (about 3 minutes on one H100-class GPU, on generated data): LM training steps/s on one device
    and on all visible devices (DDP over NCCL), fp32 against bf16-mixed quality on a short LM run (and a bf16
    checkpoint resumed in fp32), cuDNN with and without weight drop, deterministic algorithms. Without a CUDA device
    the CUDA parts are skipped and say so. Exit status 1 if a part failed (the others still run and are written).

    Other GPU measurements: ``seqkit bench layers --scan 400,2000 --device cuda`` (parallel-scan cells against
    cuDNN's LSTM), ``seqkit bench translate --device cuda`` (batched beam search), ``seqkit bench reviews --device
    cuda`` (the HAN's two-level batching).

    Args:
        markdown: write the results as markdown tables to this file (after every part)
        json_file: write every measurement as JSON to this file (after every part)
        vocab: words of the generated language
        tokens: tokens of generated text (90% train, 5% validation, 5% test)
        hidden: LSTM width and embedding size of the language model (2 layers of 650: Zaremba et al.'s medium)
        layers: LSTM layers
        batch_size: stream rows per device
        bptt: tokens per chunk
        throughput_steps: timed training steps of each run of part 2 (after 20 untimed ones)
        quality_epochs: epochs of each run of part 3
        kernel_steps: timed steps of parts 4 and 5
        successors: words that may follow each word in the generated language
        seed: seed of the language and the trainings
    """
    cuda = torch.cuda.is_available()
    report = Report(markdown, json_file)
    report.results["machine"] = machine()
    print(f"seqkit bench gpu: {report.results['machine']['device']}", flush=True)
    if not cuda:
        print("  no CUDA device: the parts that need one (DDP over NCCL, cuDNN) are skipped; the rest runs on the CPU",
              flush=True)
    settings = {"vocab": vocab, "hidden": hidden, "layers": layers, "batch_size": batch_size, "bptt": bptt,
                "seed": seed}
    report.results["settings"] = {**settings, "tokens": tokens, "throughput_steps": throughput_steps,
                                  "quality_epochs": quality_epochs, "kernel_steps": kernel_steps}
    with tempfile.TemporaryDirectory(prefix="seqkit-bench-gpu-") as tmp:
        folder = Path(tmp)
        corpus = report.part(1, "generated corpus", lambda: write_corpus(folder / "corpus", vocab, tokens,
                                                                          successors, seed))
        if corpus is None:
            return 1
        model = lm_options(folder / "corpus", vocab, hidden, layers, batch_size, bptt, seed)
        report.part(2, "training steps/s: one device and every visible device (DDP, NCCL)",
                    lambda: throughput(folder, model, throughput_steps, cuda))
        report.part(3, "fp32 against bf16-mixed: a short LM run",
                    lambda: precision_quality(folder, model, quality_epochs, cuda, corpus)
                    if cuda or cpu_runs_lstm_in_bf16() else skipped("this CPU cannot run an LSTM in bf16 (no AVX-512)"))
        report.part(4, "cuDNN with and without weight drop",
                    lambda: weight_drop_cost(settings, kernel_steps) if cuda else skipped("no CUDA device"))
        report.part(5, "deterministic algorithms", lambda: determinism(settings, kernel_steps, cuda))
    print(report.markdown(), flush=True)
    return 0 if report.ok else 1


# ---------------------------------------------------------------------------------------------- the report
class Report:
    """The measurements so far, written to the markdown and JSON files after every part."""

    def __init__(self, markdown: str | None, json_file: str | None) -> None:
        self.markdown_path = Path(markdown) if markdown else None
        self.json_path = Path(json_file) if json_file else None
        self.results: dict[str, Any] = {"parts": {}}
        self.ok = True

    def part(self, number: int, title: str, measure) -> Any:
        print(f"\n[{number}/5] {title}", flush=True)
        started = time.perf_counter()
        try:
            result = measure()
        except Exception as error:  # noqa: BLE001 - one failed part must not lose the others' figures
            traceback.print_exc()
            result = {"error": f"{type(error).__name__}: {error}"}
            self.ok = False
        result = {"title": title, **result, "seconds": round(time.perf_counter() - started, 1)}
        self.results["parts"][str(number)] = result
        for line in _lines(result):
            print(f"  {line}", flush=True)
        self.write()
        return None if "error" in result else result

    def write(self) -> None:
        if self.json_path:
            self.json_path.write_text(json.dumps(self.results, indent=1) + "\n")
        if self.markdown_path:
            self.markdown_path.write_text(self.markdown() + "\n", encoding="utf-8")

    def markdown(self) -> str:
        machine_info = self.results["machine"]
        lines = [f"`seqkit bench gpu` on {machine_info['device']} (torch {machine_info['torch']}, CUDA "
                 f"{machine_info['cuda']}, cuDNN {machine_info['cudnn']}); settings: "
                 + ", ".join(f"{k} {v}" for k, v in self.results.get("settings", {}).items())]
        for number, part in self.results["parts"].items():
            lines += ["", f"**{number}. {part['title']}** ({part['seconds']:.0f} s)", ""]
            if "rows" in part:
                header = list(part["rows"][0]) if part["rows"] else []
                lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
                lines += ["| " + " | ".join(str(row[key]) for key in header) + " |" for row in part["rows"]]
            lines += [f"{note}" for note in part.get("notes", [])]
            if "error" in part:
                lines.append(f"failed: {part['error']}")
            if "skipped" in part:
                lines.append(f"skipped: {part['skipped']}")
        return "\n".join(lines)


def _lines(part: dict) -> list[str]:
    lines = [" | ".join(f"{k}: {v}" for k, v in row.items()) for row in part.get("rows", [])]
    lines += part.get("notes", [])
    lines += [f"failed: {part['error']}"] if "error" in part else []
    lines += [f"skipped: {part['skipped']}"] if "skipped" in part else []
    return lines


def skipped(reason: str) -> dict:
    return {"skipped": reason}


def machine() -> dict[str, Any]:
    cuda = torch.cuda.is_available()
    count = torch.cuda.device_count() if cuda else 0
    device = f"{count} x {torch.cuda.get_device_name(0)}" if cuda else f"CPU ({platform.processor() or 'cpu'})"
    return {"device": device, "gpus": count, "torch": torch.__version__, "cuda": torch.version.cuda,
            "cudnn": torch.backends.cudnn.version() if cuda else None, "python": platform.python_version()}


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
                   "--trainer.callbacks+=seqkit.bench.gpu.StepRate"]
        env = {k: v for k, v in os.environ.items() if k != "CUBLAS_WORKSPACE_CONFIG" or not _OWN_CUBLAS_SETTING}
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
                     "--trainer.max_epochs", str(epochs), "--trainer.callbacks+=seqkit.bench.gpu.StepRate",
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


# ---------------------------------------------------------------------------------------------- 4 and 5: kernels
def _language_model(settings: dict, weight_drop: float, device: str) -> torch.nn.Module:
    torch.manual_seed(settings["seed"])
    config = RNNLMConfig(embedding_dim=settings["hidden"], hidden_size=settings["hidden"],
                         num_layers=settings["layers"], weight_drop=weight_drop, dropout=0.4, dropout_input=0.4,
                         dropout_hidden=0.25, dropout_embedding=0.0)
    return RNNLanguageModel(settings["vocab"], config).to(device).train()


def _train_steps(model: torch.nn.Module, settings: dict, steps: int, device: str) -> float:
    """Seconds for ``steps`` steps of forward, backward and SGD on random chunks (the first two untimed)."""
    generator = torch.Generator().manual_seed(settings["seed"])
    shape = (settings["batch_size"], settings["bptt"] + 1)
    batches = [torch.randint(0, settings["vocab"], shape, generator=generator).to(device) for _ in range(4)]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    started = 0.0
    for step in range(steps + 2):
        if step == 2:
            synchronize(device)
            started = time.perf_counter()
        ids = batches[step % len(batches)]
        output, _, _ = model(ids[:, :-1])
        loss = model.loss(output, ids[:, 1:])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    synchronize(device)
    return time.perf_counter() - started


def weight_drop_cost(settings: dict, steps: int) -> dict:
    """Part 4: steps/s of the language model on cuDNN without and with weight drop 0.5, and how often the weights
    were re-packed into one buffer (``flatten_parameters``) or cuDNN warned that they are not."""
    rows = []
    flatten = torch.nn.LSTM.flatten_parameters
    for weight_drop in (0.0, 0.5):
        model = _language_model(settings, weight_drop, "cuda")
        packs = [0]

        def counting(self, packs=packs) -> None:
            packs[0] += 1
            flatten(self)

        torch.nn.LSTM.flatten_parameters = counting
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                seconds = _train_steps(model, settings, steps, "cuda")
        finally:
            torch.nn.LSTM.flatten_parameters = flatten
        chunk = [w for w in caught if "contiguous chunk" in str(w.message)]
        rows.append({"weight drop": weight_drop, "steps/s": f"{steps / seconds:.2f}",
                     "re-packs per step": f"{packs[0] / (steps + 2):.2f}", "cuDNN weight warnings": len(chunk)})
    slower = float(rows[0]["steps/s"]) / float(rows[1]["steps/s"])
    return {"rows": rows, "notes": [f"Weight drop costs {slower:.2f}x the time of a step (fp32, forward+backward+SGD "
                                    "of the whole model)."]}


def _digest(model: torch.nn.Module) -> str:
    import hashlib

    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode() + tensor.detach().float().cpu().numpy().tobytes())
    return digest.hexdigest()


def determinism(settings: dict, steps: int, cuda: bool) -> dict:
    """Part 5: the same short training twice, with deterministic algorithms on and off: are the weights equal?"""
    device = "cuda" if cuda else "cpu"
    rows = []
    for deterministic in (True, False):
        digests, error = [], None
        with _deterministic(deterministic):
            try:
                for _ in range(2):
                    model = _language_model(settings, 0.5, device)
                    _train_steps(model, settings, steps, device)
                    digests.append(_digest(model))
            except RuntimeError as failure:
                error = str(failure).splitlines()[0][:200]
        rows.append({"deterministic algorithms": "on" if deterministic else "off",
                     "two runs' weights": error or ("identical" if digests[0] == digests[1] else "differ")})
    notes = ["`seqkit fit --trainer.deterministic true` turns them on (cuDNN's included), for runs and resumes that "
             "repeat to the bit on a GPU."]
    return {"rows": rows, "notes": notes}


@contextlib.contextmanager
def _deterministic(on: bool):
    before = torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.deterministic
    torch.use_deterministic_algorithms(on)
    torch.backends.cudnn.deterministic = on
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before[0])
        torch.backends.cudnn.deterministic = before[1]

