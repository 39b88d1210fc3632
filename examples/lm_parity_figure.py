"""The WikiText-2 parity figure of docs/results.md: seqkit's learning curve beside pytorch/examples' at equal settings.

Reads the reference's logs (``main.py`` of pytorch/examples' word_language_model, with a line
``VAL step N loss L ppl P ...`` printed after each validation every 500 batches) and seqkit's run folders (their
``metrics.csv``), prints the table of validation perplexities and writes the plot::

    python examples/lm_parity_figure.py --reference ref_1111.log ref_2222.log --seqkit runs/s1111 runs/s2222 \
        --out docs/img/lm_parity.png
"""

from __future__ import annotations

import argparse
import csv
import re
import statistics
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def reference_curve(log: Path) -> dict[int, float]:
    """``{step: validation perplexity}`` from a reference log: every 500 batches, and at the end of each epoch."""
    text = log.read_text()
    curve = {int(step): float(ppl) for step, ppl in re.findall(r"^VAL step (\d+) loss \S+ ppl (\S+)", text, re.M)}
    per_epoch = re.search(r"/\s*(\d+) batches", text)
    for epoch, ppl in re.findall(r"end of epoch\s+(\d+) \|.*valid ppl\s+([\d.]+)", text):
        curve[int(epoch) * int(per_epoch.group(1))] = float(ppl)
    return curve


def seqkit_curve(run: Path) -> dict[int, float]:
    """``{step: validation perplexity}`` from a seqkit run's ``metrics.csv`` (steps counted from 1, as the
    reference counts its batches), and from ``final_validation.txt`` (``STEP PPL``: ``seqkit validate`` on the
    checkpoint written at the end of the epoch) when the run folder has one."""
    with (run / "metrics.csv").open(newline="") as handle:
        curve = {int(row["step"]) + 1: float(row["val_ppl"]) for row in csv.DictReader(handle) if row.get("val_ppl")}
    final = run / "final_validation.txt"
    if final.is_file():
        step, ppl = final.read_text().split()
        curve[int(step)] = float(ppl)
    return curve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reference", type=Path, nargs="+", required=True, help="reference logs, one per seed")
    parser.add_argument("--seqkit", type=Path, nargs="+", required=True, help="seqkit run folders, one per seed")
    parser.add_argument("--out", type=Path, default=Path("docs/img/lm_parity.png"))
    args = parser.parse_args()
    curves = {"pytorch/examples": [reference_curve(log) for log in args.reference],
              "seqkit": [seqkit_curve(run) for run in args.seqkit]}
    steps = sorted({step for runs in curves.values() for curve in runs for step in curve})
    print("| step | " + " | ".join(f"{name} (seeds: {len(runs)})" for name, runs in curves.items()) + " |")
    print("|---|" + "---|" * len(curves))
    for step in steps:
        cells = []
        for runs in curves.values():
            values = [curve[step] for curve in runs if step in curve]
            mean = f"{statistics.mean(values):.1f}" if values else "-"
            cells.append(f"{mean} ({', '.join(f'{v:.1f}' for v in values)})" if len(values) > 1 else mean)
        print(f"| {step} | " + " | ".join(cells) + " |")

    figure = Figure(figsize=(7, 4.2))
    FigureCanvasAgg(figure)
    ax = figure.subplots()
    for (name, runs), colour in zip(curves.items(), ("tab:gray", "tab:blue"), strict=True):
        for index, curve in enumerate(runs):
            ax.plot(list(curve), list(curve.values()), "o-", color=colour, alpha=0.8, markersize=3,
                    label=name if index == 0 else None)
    ax.set(yscale="log", xlabel="training step (batch 20 x 35 tokens)", ylabel="validation perplexity",
           title="WikiText-2, LSTM 2x200 tied, SGD lr 20, dropout 0.2: one line per seed")
    ticks = [200, 250, 300, 400, 500, 600, 700]
    ax.set_yticks(ticks, [str(tick) for tick in ticks])
    ax.minorticks_off()
    ax.grid(True, alpha=0.3)
    ax.legend()
    figure.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.out, dpi=100)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
