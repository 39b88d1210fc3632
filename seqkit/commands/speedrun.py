"""``seqkit speedrun TASK``: a task's speedrun recipe for a fixed training time, then its headline metric."""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from jsonargparse.typing import PositiveFloat, PositiveInt

from seqkit.errors import ConfigError
from seqkit.threads import cpu_has_bf16


@dataclass(frozen=True)
class Speedrun:
    """A task's speedrun: its recipe, the metric it is judged by, and whether bf16 autocast is measured to pay
    and keep the quality on a CPU with bf16 instructions."""

    recipe: str
    metric: str
    description: str
    higher_is_better: bool
    bf16_on_cpu: bool = False


SPEEDRUNS: dict[str, Speedrun] = {
    # bf16: 1.47x the steps/s, validation perplexity after 1,491 steps 405.7 against fp32's 435.5 (docs/results.md)
    "lm": Speedrun("lm/speedrun", "val_ppl", "WikiText-2 validation perplexity", higher_is_better=False,
                   bf16_on_cpu=True),
    "sentiment": Speedrun("sentiment/speedrun", "test_acc", "IMDB test accuracy", higher_is_better=True),
    "translation": Speedrun("translation/speedrun", "test_bleu", "Multi30k de->en test_2016 BLEU (beam 5)",
                            higher_is_better=True),
    "reviews": Speedrun("reviews/speedrun", "test_acc", "Yelp test accuracy (5 classes)", higher_is_better=True),
}


def speedrun(task: Literal["lm", "sentiment", "translation", "reviews"], *, minutes: PositiveFloat = 30.0,
             threads: PositiveInt | None = None, run_dir: str | None = None, seed: int | None = None) -> int:
    """Train a task's speedrun recipe (recipes/TASK/speedrun.yaml) for a fixed time, then print its metric.

    The limit counts training and validation (Lightning's max_time); testing the best checkpoint follows it.
    The recipe runs as `seqkit fit --config TASK/speedrun --trainer.max_time ... --test_after_fit true` would, in
    bf16 autocast where that was measured to pay for the task and the CPU has bf16 instructions.

    Args:
        task: lm (WikiText-2), sentiment (IMDB), translation (Multi30k de->en) or reviews (Yelp)
        minutes: training time
        threads: CPU threads (default: seqkit's choice, printed)
        run_dir: folder for the run (default: a new runs/<task>/speedrun/<time> folder)
        seed: seed_everything (default: the recipe's)
    """
    from seqkit.recipe_hub import resolve_recipe
    from seqkit.runner import run_lightning_cli

    spec = SPEEDRUNS[task]
    recipe = resolve_recipe(spec.recipe)
    if not Path(recipe).is_file():
        raise ConfigError(f"The speedrun recipe {spec.recipe} is not in this installation; reinstall seqkit.")
    seconds = round(minutes * 60)
    limit = f"00:{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    args = ["fit", "--config", recipe, "--trainer.max_time", limit, "--test_after_fit", "true"]
    bf16 = spec.bf16_on_cpu and not torch_cuda_available() and cpu_has_bf16()
    args += ["--trainer.precision", "bf16-mixed"] if bf16 else []
    args += ["--threads", str(threads)] if threads else []
    args += ["--run_dir", run_dir] if run_dir else []
    args += ["--seed_everything", str(seed)] if seed is not None else []
    print(f"speedrun {task}: {spec.recipe} for {minutes:g} min of training"
          + (", in bf16 autocast (this CPU has bf16 instructions)" if bf16 else ""), flush=True)
    start = time.perf_counter()
    cli = run_lightning_cli(args)
    elapsed = time.perf_counter() - start
    value, rows = headline(Path(cli.run_dir) / "metrics.csv", spec)
    trainer = cli.trainer
    print(f"\nspeedrun {task}: {spec.recipe}, limit {minutes:g} min of training; {trainer.global_step:,} steps, "
          f"{trainer.global_step / max(1, trainer.num_training_batches):.1f} epochs; {elapsed / 60:.1f} min in all "
          "(testing included)")
    print(f"  {spec.description}: {value:.4g}")
    for name, series in rows.items():
        print(f"  {name} at each validation: {', '.join(f'{v:.4g}' for v in series)}")
    print(f"  run: {cli.run_dir}")
    return 0


def torch_cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def headline(metrics_csv: Path, spec: Speedrun) -> tuple[float, dict[str, list[float]]]:
    """The speedrun's metric from a run's ``metrics.csv`` (for a validation metric, its best value: the checkpoint
    that is kept) and the validation series the run logged."""
    with metrics_csv.open(newline="") as handle:
        rows = list(csv.DictReader(handle))

    def column(name: str) -> list[float]:
        return [float(row[name]) for row in rows if row.get(name) not in (None, "")]

    values = column(spec.metric)
    if not values:
        raise ConfigError(f"{metrics_csv} has no {spec.metric}: the run ended before it was measured; give it more "
                          "--minutes.")
    pick = max if spec.higher_is_better else min
    value = pick(values) if spec.metric.startswith("val_") else values[-1]
    validation = {name: column(name) for name in ("val_ppl", "val_acc", "val_bleu") if column(name)}
    return value, validation
