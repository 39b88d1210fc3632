"""The figure of docs/families/history_compressor.md: which characters of a PTB validation passage a trained history
compressor's lower net passes up, and what each character costs.

    python examples/history_compressor_figure.py --run runs/ptb_chars --out docs/img   # writes history_compressor.png
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pyarrow.parquet as pq
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from seqkit.inference import load
from seqkit.tasks.history_compressor import HistoryCompressorLM


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True, help="a HistoryCompressorLM run directory")
    parser.add_argument("--out", default="docs/img")
    parser.add_argument("--chars", type=int, default=480, help="characters shown")
    parser.add_argument("--width", type=int, default=80, help="characters per line of the figure")
    args = parser.parse_args(argv)
    predictor = load(args.run, task=HistoryCompressorLM)
    module, tokenizer = predictor.module, predictor.tokenizer
    rows = pq.read_table(Path(os.environ["SEQKIT_DATA_DIR"]) / "ptb" / "validation.parquet").column("text")
    text = " ".join(line.strip() for line in rows.slice(0, 60).to_pylist())
    ids = torch.tensor([tokenizer.encode(text)])[:, : args.chars + 1]
    with torch.no_grad():
        bits, passed, _ = module.network.bits(ids[:, :-1], ids[:, 1:])
    chars = [tokenizer.id_to_token(i) for i in ids[0, 1:].tolist()]
    bits, passed = bits[0].tolist(), passed[0].tolist()

    lines = (len(chars) + args.width - 1) // args.width
    figure = Figure(figsize=(13, 0.45 * lines + 3.2), layout="constrained")
    FigureCanvasAgg(figure)
    top, bottom = figure.subplots(2, 1, height_ratios=[0.45 * lines, 2.6])
    top.set_xlim(0, args.width)
    top.set_ylim(lines, 0)
    top.axis("off")
    for index, (char, up) in enumerate(zip(chars, passed)):
        row, col = divmod(index, args.width)
        if up:
            top.add_patch(plt_rectangle(col, row))
        top.text(col + 0.5, row + 0.5, "·" if char == " " else char, ha="center", va="center", family="monospace",
                 fontsize=9, color="white" if up else "black")
    share = sum(passed) / len(passed)
    top.set_title(f"PTB validation: characters the lower net mispredicts (dark, {share:.0%}) are passed up")
    bottom.bar(range(len(bits)), bits, width=1.0, color=["#b2182b" if up else "#999999" for up in passed])
    bottom.set(xlim=(0, len(bits)), xlabel="character", ylabel="bits (whole system)",
               title=f"Code length per character: mean {sum(bits) / len(bits):.2f} bits "
                     f"(grey: lower net right, red: passed up)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    figure.savefig(out / "history_compressor.png", dpi=100)
    print(f"wrote {out / 'history_compressor.png'}; {share:.1%} passed up, {sum(bits) / len(bits):.3f} bits/char")


def plt_rectangle(col: int, row: int):
    from matplotlib.patches import Rectangle

    return Rectangle((col, row), 1, 1, color="#b2182b")


if __name__ == "__main__":
    main()
