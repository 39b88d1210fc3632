"""Training steps/s of a recipe at one, two, ... CPU threads: where another thread stops paying."""

from __future__ import annotations

import tempfile

import torch
from jsonargparse.typing import NonNegativeInt, PositiveInt

from seqkit.bench.lm import recipe_batches, timed_fit
from seqkit.threads import machine_cores


def bench(*, recipe: str = "sentiment/sst2_tiny", threads: list[PositiveInt] | None = None, steps: PositiveInt = 20,
          warmup: NonNegativeInt = 3, rounds: PositiveInt = 2) -> int:
    """Training steps/s of a recipe at one, two, ... CPU threads: where another thread stops paying.

    Run it on an otherwise idle machine: a busy core makes every extra thread look worse than it is.

    Args:
        recipe: Any training recipe (model, data, trainer)
        threads: Thread counts to compare (default: 1 up to this machine's cores)
        steps: timed steps per measurement
        warmup: untimed steps at the start of each measurement
        rounds: rounds over all thread counts (interleaved, so drifting load hits all alike)
    """
    counts = threads or list(range(1, machine_cores() + 1))
    with tempfile.TemporaryDirectory() as tmp:
        cli, batches = recipe_batches(recipe, warmup + steps, tmp, threads=1)
        trainable = sum(p.numel() for p in cli.model.parameters() if p.requires_grad)
        times: dict[int, list[tuple[float, float]]] = {n: [] for n in counts}
        for _ in range(rounds):
            for n in counts:
                torch.set_num_threads(n)
                times[n].append(timed_fit(cli.model, batches, cli.trainer, warmup, tmp))
    print(f"seqkit bench threads: {recipe}, {trainable / 1e6:.2f}M trainable parameters, batch "
          f"{tuple(next(iter(batches[0].values())).shape)}, {steps} timed steps x {rounds} rounds, "
          f"{machine_cores()} cores")
    print(f"  {'threads':>7} {'steps/s':>9} {'speed-up':>9} {'CPU s/step':>11}")
    best = {n: min(wall for wall, _ in runs) for n, runs in times.items()}
    for n in counts:
        cpu = min(c for _, c in times[n]) / steps
        print(f"  {n:>7} {steps / best[n]:>9.2f} {best[counts[0]] / best[n]:>8.2f}x {cpu:>11.3f}")
    return 0
