"""Training steps/s of a recipe at one, two, ... CPU threads (and in other precisions): what pays on this CPU."""

from __future__ import annotations

import tempfile

import torch
from jsonargparse.typing import NonNegativeInt, PositiveInt

from seqkit.bench.timing import recipe_batches, timed_fit
from seqkit.threads import machine_cores


def bench(*, recipe: str = "sentiment/sst2_tiny", threads: list[PositiveInt] | None = None, steps: PositiveInt = 20,
          warmup: NonNegativeInt = 3, rounds: PositiveInt = 2, precisions: list[str] | None = None) -> int:
    """Training steps/s of a recipe at one, two, ... CPU threads: where another thread stops paying.

    Run it on an otherwise idle machine: a busy core makes every extra thread look worse than it is.

    Args:
        recipe: Any training recipe (model, data, trainer)
        threads: Thread counts to compare (default: 1 up to this machine's cores)
        steps: timed steps per measurement
        warmup: untimed steps at the start of each measurement
        rounds: rounds over all settings (interleaved, so drifting load hits all alike)
        precisions: Lightning precisions to compare, e.g. [32-true, bf16-mixed] (default: the recipe's)
    """
    counts = threads or list(range(1, machine_cores() + 1))
    with tempfile.TemporaryDirectory() as tmp:
        cli, batches = recipe_batches(recipe, warmup + steps, tmp, threads=1)
        trainable = sum(p.numel() for p in cli.model.parameters() if p.requires_grad)
        settings = [(n, precision) for precision in precisions or [str(cli.trainer.precision)] for n in counts]
        times: dict[tuple[int, str], list[tuple[float, float]]] = {setting: [] for setting in settings}
        for _ in range(rounds):
            for n, precision in settings:
                torch.set_num_threads(n)
                times[n, precision].append(timed_fit(cli.model, batches, cli.trainer, warmup, tmp, precision))
    print(f"seqkit bench threads: {recipe}, {trainable / 1e6:.2f}M trainable parameters, batch "
          f"{tuple(next(iter(batches[0].values())).shape)}, {steps} timed steps x {rounds} rounds, "
          f"{machine_cores()} cores")
    print(f"  {'threads':>7} {'precision':>11} {'steps/s':>9} {'speed-up':>9} {'CPU s/step':>11}")
    best = {setting: min(wall for wall, _ in runs) for setting, runs in times.items()}
    for n, precision in settings:
        cpu = min(c for _, c in times[n, precision]) / steps
        speedup = best[settings[0]] / best[n, precision]
        print(f"  {n:>7} {precision:>11} {steps / best[n, precision]:>9.2f} {speedup:>8.2f}x {cpu:>11.3f}")
    return 0
