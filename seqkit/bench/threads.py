"""Training steps/s of a recipe at one, two, ... CPU threads (and in other precisions): what pays on this CPU."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from jsonargparse.typing import NonNegativeInt, PositiveInt

from seqkit.bench.timing import recipe_batches, timed_fit
from seqkit.threads import machine_cores


def bench(*, recipe: str = "sentiment/sst2_tiny", threads: list[PositiveInt] | None = None, steps: PositiveInt = 20,
          warmup: NonNegativeInt = 3, rounds: PositiveInt = 2, precisions: list[str] | None = None,
          batch_sizes: list[PositiveInt] | None = None, compile: list[bool] | None = None) -> int:
    """Training steps/s of a recipe at one, two, ... CPU threads: where another thread stops paying; likewise for
    other precisions, batch sizes and ``torch.compile``.

    Run it on an otherwise idle machine: a busy core makes every extra thread look worse than it is.

    Args:
        recipe: Any training recipe (model, data, trainer)
        threads: Thread counts to compare (default: 1 up to this machine's cores)
        steps: timed steps per measurement
        warmup: untimed steps at the start of each measurement (with --compile, the first also compiles)
        rounds: rounds over all settings (interleaved, so drifting load hits all alike)
        precisions: Lightning precisions to compare, e.g. [32-true, bf16-mixed] (default: the recipe's)
        batch_sizes: training batch sizes to compare, e.g. [20, 40] (default: the recipe's); compare them by
            items/s (the first input's elements per second: tokens, padding included)
        compile: compare the eager network with ``torch.compile`` of it: [false, true] (default: eager only)
    """
    counts = threads or list(range(1, machine_cores() + 1))
    with tempfile.TemporaryDirectory() as tmp:
        runs = {size: recipe_batches(recipe, warmup + steps, tmp, threads=1, overrides=_batch_override(size))
                for size in batch_sizes or [None]}
        cli, batches = next(iter(runs.values()))
        trainable = sum(p.numel() for p in cli.model.parameters() if p.requires_grad)
        settings = [(n, precision, size, compiled) for compiled in compile or [False] for size in runs
                    for precision in precisions or [str(cli.trainer.precision)] for n in counts]
        times: dict[tuple, list[tuple[float, float]]] = {setting: [] for setting in settings}
        first_steps: dict[tuple, float] = {}
        for _ in range(rounds):
            for setting in settings:
                n, precision, size, compiled = setting
                torch.set_num_threads(n)
                size_cli, size_batches = runs[size]
                with _compiled(size_cli.model, compiled):
                    if compiled and setting not in first_steps:
                        first_steps[setting] = timed_fit(size_cli.model, size_batches[:max(1, warmup)],
                                                         size_cli.trainer, 0, tmp, precision)[0]
                    times[setting].append(timed_fit(size_cli.model, size_batches, size_cli.trainer, warmup, tmp,
                                                    precision))
    print(f"seqkit bench threads: {recipe}, {trainable / 1e6:.2f}M trainable parameters, batch "
          f"{tuple(_first_input(batches[0]).shape)}, {steps} timed steps x {rounds} rounds, {machine_cores()} cores")
    print(f"  {'threads':>7} {'precision':>11} {'batch':>5} {'compiled':>8} {'steps/s':>9} {'items/s':>9} "
          f"{'speed-up':>9} {'CPU s/step':>11}")
    best = {setting: min(wall for wall, _ in measured) for setting, measured in times.items()}
    items = {setting: _first_input(runs[setting[2]][1][0]).numel() * steps / best[setting] for setting in settings}
    for setting in settings:
        n, precision, size, compiled = setting
        cpu = min(c for _, c in times[setting]) / steps
        batch = _first_input(runs[size][1][0]).shape[0]
        speedup = items[setting] / items[settings[0]]
        print(f"  {n:>7} {precision:>11} {batch:>5} {'yes' if compiled else 'no':>8} {steps / best[setting]:>9.2f} "
              f"{items[setting]:>9.0f} {speedup:>8.2f}x {cpu:>11.3f}")
    for (n, precision, size, _), seconds in first_steps.items():
        print(f"  compiled, {n} threads, {precision}, batch {_first_input(runs[size][1][0]).shape[0]}: the first "
              f"{max(1, warmup)} steps took {seconds:.1f} s (compilation included)")
    return 0


def _batch_override(size: int | None) -> list[str]:
    return ["--data.init_args.batching.batch_size", str(size)] if size else []


def _first_input(batch: dict) -> torch.Tensor:
    """The batch's first tensor (``input_ids`` for text tasks), whose elements count as the items of a step."""
    return next(value for value in batch.values() if isinstance(value, torch.Tensor))


@contextmanager
def _compiled(module: torch.nn.Module, compiled: bool) -> Iterator[None]:
    """``torch.compile`` the task's network (its ``network`` or ``model`` attribute) for the duration."""
    name = "network" if hasattr(module, "network") else "model"
    eager = getattr(module, name)
    if compiled:
        setattr(module, name, torch.compile(eager))
    try:
        yield
    finally:
        setattr(module, name, eager)
