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

import json
import platform
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import torch
from jsonargparse.typing import PositiveInt

from seqkit.bench.gpu_kernels import determinism, weight_drop_cost
from seqkit.bench.gpu_training import lm_options, precision_quality, throughput, write_corpus
from seqkit.threads import cpu_runs_lstm_in_bf16

__all__ = ["Report", "bench", "machine", "skipped", "write_corpus"]


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
