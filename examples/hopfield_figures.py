"""The Hopfield figures of docs/families/hopfield.md: energy during asynchronous recall, and measured capacity.

    python examples/hopfield_figures.py --out docs/img      # writes hopfield_energy.png and hopfield_capacity.png

Prints the capacity table it plots. Everything is measured here, from random patterns with fixed seeds.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from seqkit.models.hopfield import HopfieldNetwork, capacity_estimate, measure_capacity


def energy_traces(size: int = 200, patterns: int = 20, flips: float = 0.3, runs: int = 6) -> torch.Tensor:
    """Energy after every single-unit update ``(runs, sweeps * size + 1)`` from corrupted stored patterns."""
    generator = torch.Generator().manual_seed(0)
    stored = torch.randint(0, 2, (patterns, size), generator=generator).float() * 2 - 1
    network = HopfieldNetwork(size)
    network.store(stored)
    states = stored[:runs].clone()
    states = torch.where(torch.rand(states.shape, generator=generator) < flips, -states, states)
    trace = [network.energy(states)]
    for _ in range(3):  # three sweeps: recall settles within the first one or two
        for unit in torch.randperm(size, generator=generator).tolist():
            field = states @ network.weight[:, unit]
            states[:, unit] = torch.where(field > 0, 1.0, torch.where(field < 0, -1.0, states[:, unit]))
            trace.append(network.energy(states))
    return torch.stack(trace, 1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/img")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 200, 400])
    parser.add_argument("--trials", type=int, default=3)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    traces = energy_traces()
    figure = Figure(figsize=(6, 4), layout="constrained")
    FigureCanvasAgg(figure)
    ax = figure.subplots()
    for run in traces:
        ax.plot(run.numpy(), lw=1.2)
    for sweep in range(1, 3):
        ax.axvline(sweep * 200, color="grey", lw=0.5, ls=":")
    ax.set(xlabel="single-unit updates (200 per sweep)", ylabel="energy  $-\\frac{1}{2} s^T W s$",
           title="Asynchronous recall from 30% flipped bits (N = 200, P = 20)")
    figure.savefig(out / "hopfield_energy.png", dpi=120)

    loads = [0.02, 0.05, 0.08, 0.10, 0.12, 0.14, 0.16, 0.18, 0.20, 0.24, 0.30]
    figure = Figure(figsize=(6, 4), layout="constrained")
    FigureCanvasAgg(figure)
    ax = figure.subplots()
    print(f"{'N':>5} {'P':>4} {'P/N':>6} {'bit error':>10} {'perfect':>8}")
    for size in args.sizes:
        points = measure_capacity(size, [max(1, round(a * size)) for a in loads], trials=args.trials)
        for p in points:
            print(f"{p.size:>5} {p.patterns:>4} {p.patterns / p.size:>6.3f} {p.bit_error:>10.4f} {p.perfect:>8.3f}")
        print(f"N = {size}: largest load with bit error <= 2%: {capacity_estimate(points):.3f}")
        ax.plot([p.patterns / p.size for p in points], [p.bit_error for p in points], "o-", label=f"N = {size}")
    ax.axvline(0.138, color="black", ls="--", lw=1, label="0.138 (Amit et al. 1985)")
    ax.set(xlabel="load  P / N", ylabel="share of wrong bits at the fixed point",
           title="Hopfield capacity: recall from the stored patterns")
    ax.legend()
    figure.savefig(out / "hopfield_capacity.png", dpi=120)
    print(f"wrote {out / 'hopfield_energy.png'} and {out / 'hopfield_capacity.png'}")


if __name__ == "__main__":
    main()
