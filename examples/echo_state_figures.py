"""The echo-state figure of docs/families/echo_state.md: a trained SST-2 reservoir's states over two sentences, the
readout's score after each prefix, and the echo-state property (how fast two different starting states meet) for
several spectral radii.

    python examples/echo_state_figures.py --run runs/esn_sst2 --out docs/img     # writes echo_state.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from seqkit.inference import load
from seqkit.models.echo_state import Reservoir
from seqkit.tasks.echo_state import EchoStateClassifier

SENTENCES = ["a gorgeous , witty , seductive movie .", "the plot is a tedious , lifeless mess ."]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True, help="an echo-state classifier run directory")
    parser.add_argument("--out", default="docs/img")
    parser.add_argument("--units", type=int, default=40, help="reservoir units shown")
    args = parser.parse_args(argv)
    predictor = load(args.run, task=EchoStateClassifier)
    module, tokenizer = predictor.module, predictor.tokenizer
    net = module.network
    figure = Figure(figsize=(12, 7.5), layout="constrained")
    FigureCanvasAgg(figure)
    grid = figure.subplots(2, 2)
    with torch.no_grad():
        for ax, text in zip(grid[0], SENTENCES):
            ids = torch.tensor([tokenizer.encode(text)])
            states = net.reservoir(net.embedding[ids])[0]  # (T, N)
            scores = net(ids, torch.tensor([ids.shape[1]])).softmax(-1)[0]
            ax.imshow(states[:, : args.units].T.numpy(), aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1)
            ax.set_xticks(range(ids.shape[1]), [tokenizer.id_to_token(i) for i in ids[0].tolist()], rotation=60)
            names = module.hparams.get("label_names") or ["0", "1"]
            ax.set(ylabel=f"first {args.units} of {net.reservoir.size} units",
                   title=f"P({names[1]}) = {scores[1]:.2f}  (ridge scores, softmaxed)")
        # Echo-state property: the same input from two random starts, for several spectral radii.
        ax = grid[1, 0]
        inputs = torch.randn(1, 150, 8, generator=torch.Generator().manual_seed(0))
        for radius in (0.5, 0.9, 0.99, 1.2, 1.5):
            reservoir = Reservoir(8, 300, spectral_radius=radius, leak_rate=0.3, input_scaling=0.5, density=0.05)
            starts = torch.rand(2, 300, generator=torch.Generator().manual_seed(1)) * 2 - 1
            a = reservoir(inputs, state=starts[:1])
            b = reservoir(inputs, state=starts[1:])
            ax.semilogy((a - b).norm(dim=-1)[0].clamp(min=1e-12).numpy(), label=f"spectral radius {radius}")
        ax.set(xlabel="time step", ylabel="|h_t - h'_t|", title="Two starting states, same input (300 units, leak 0.3)")
        ax.legend(fontsize=8)
        # The trained readout read after every prefix: [running mean state, current state] -> score difference.
        ax = grid[1, 1]
        for text in SENTENCES:
            ids = torch.tensor([tokenizer.encode(text)])
            states = net.reservoir(net.embedding[ids])[0]  # (T, N)
            running = states.cumsum(0) / torch.arange(1, len(states) + 1)[:, None]
            scores = net.readout(torch.cat([running, states], -1))  # (T, C)
            ax.plot((scores[:, 1] - scores[:, 0]).numpy(), "o-", label=text)
        ax.axhline(0, color="grey", lw=0.5)
        ax.set(xlabel="tokens read", ylabel="readout score: positive - negative",
               title=f"Readout after each prefix (ridge, {int(net.readout.count):,} sentences)")
        ax.legend(fontsize=8)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    figure.savefig(out / "echo_state.png", dpi=100)
    print(f"wrote {out / 'echo_state.png'}")


if __name__ == "__main__":
    main()
