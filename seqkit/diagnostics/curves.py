"""Learning curves of runs side by side, read from their ``metrics.csv``.

::

    python -m seqkit.diagnostics.curves runs/ptb_char_cnn/<time> runs/ptb/<time> --labels "char-CNN" "word LSTM" \\
        --metric val_ppl --out curves.png
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from seqkit.errors import DataError


def read_curve(run_dir: str | Path, metric: str, x: str = "step") -> tuple[list[float], list[float]]:
    """``(x values, metric values)`` of every row of ``<run_dir>/metrics.csv`` that logged ``metric``."""
    path = Path(run_dir) / "metrics.csv"
    if not path.is_file():
        raise DataError(f"{run_dir} has no metrics.csv; is it a seqkit run directory?")
    xs, ys = [], []
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row.get(metric) and row.get(x):
                xs.append(float(row[x]))
                ys.append(float(row[metric]))
    if not ys:
        raise DataError(f"{path} logged no {metric!r} (with {x!r}).")
    return xs, ys


def plot_curves(runs: dict[str, str | Path], metric: str, path: str | Path, x: str = "step",
                title: str | None = None, log_y: bool = False) -> Path:
    """Write a PNG with one line per run (``{label: run_dir}``) of ``metric`` against ``x``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.0, 4.0), layout="constrained")
    FigureCanvasAgg(figure)
    ax = figure.subplots()
    for label, run_dir in runs.items():
        xs, ys = read_curve(run_dir, metric, x)
        ax.plot(xs, ys, marker="o", markersize=3, label=label)
    if log_y:
        ax.set_yscale("log")
    ax.set_xlabel(x)
    ax.set_ylabel(metric)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    if title:
        ax.set_title(title, fontsize=10)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m seqkit.diagnostics.curves", description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", help="run directories (each with a metrics.csv)")
    parser.add_argument("--labels", nargs="+", default=None, help="one legend label per run (default: the paths)")
    parser.add_argument("--metric", default="val_loss")
    parser.add_argument("--x", default="step", help="metrics.csv column for the x axis")
    parser.add_argument("--title", default=None)
    parser.add_argument("--log-y", action="store_true")
    parser.add_argument("--out", required=True, help="PNG to write")
    args = parser.parse_args(argv)
    labels = args.labels or args.runs
    if len(labels) != len(args.runs):
        parser.error("give one --labels entry per run")
    print(plot_curves(dict(zip(labels, args.runs, strict=True)), args.metric, args.out, args.x, args.title,
                      args.log_y))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
