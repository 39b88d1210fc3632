"""What the benchmarks share: wall and CPU clocks, waiting for a GPU, a recipe's first batches and timed fits."""

from __future__ import annotations

import time
import warnings
from typing import Any

import lightning as L
import torch


def clocks() -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process): CPU time is robust to other processes sharing the machine."""
    return time.perf_counter(), time.process_time()


def synchronize(device: torch.device | str) -> None:
    """Wait for ``device``'s queued kernels: a GPU step is done when they are, not when Python moves on."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


class StopAfterStep(L.Callback):
    """Requests a stop (``trainer.should_stop``) once training step ``step`` is done, as a time limit would."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        if trainer.global_step >= self.step:
            trainer.should_stop = True


class _StepTimer(L.Callback):
    """Wall and CPU time from the start of step ``skip`` to the end of the last step."""

    def __init__(self, skip: int) -> None:
        self.skip = skip
        self.start = self.end = (0.0, 0.0)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if batch_idx == self.skip:
            synchronize(pl_module.device)
            self.start = clocks()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        synchronize(pl_module.device)
        self.end = clocks()

    def elapsed(self) -> tuple[float, float]:
        return self.end[0] - self.start[0], self.end[1] - self.start[1]


class _Replay:
    """Serves a fixed list of batches as one loader (a bare list would be read as several loaders)."""

    def __init__(self, batches: list) -> None:
        self.batches = batches

    def __iter__(self):
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)


def timed_fit(module, batches, recipe_trainer: L.Trainer, warmup: int, log_dir: str,
              precision: str | None = None) -> tuple[float, float]:
    """(wall, CPU) seconds of ``trainer.fit`` over ``batches`` after the first ``warmup`` steps, with the recipe
    trainer's accelerator, clipping and precision (or ``precision``)."""
    from lightning.pytorch.loggers import CSVLogger

    timer = _StepTimer(warmup)
    trainer = L.Trainer(
        # The accelerator by name: given as an object, Lightning sets bf16 autocast up for CUDA even on a CPU.
        max_steps=len(batches), max_epochs=1, accelerator=recipe_trainer.strategy.root_device.type, devices=1,
        precision=precision or recipe_trainer.precision, gradient_clip_val=recipe_trainer.gradient_clip_val,
        logger=CSVLogger(log_dir), enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, num_sanity_val_steps=0, limit_val_batches=0, use_distributed_sampler=False,
        callbacks=[timer],
    )
    trainer.fit(module, train_dataloaders=_Replay(batches))
    return timer.elapsed()


def recipe_batches(recipe: str, count: int, run_dir: str, threads: int | None = None,
                   overrides: list[str] | None = None) -> tuple[Any, list]:
    """The recipe's CLI (model, data, trainer; built, not run, with ``threads`` CPU threads or seqkit's choice, and
    command-line ``overrides``) and its first ``count`` training batches."""
    from seqkit.recipe_hub import resolve_recipe
    from seqkit.runner import SeqkitCLI

    warnings.filterwarnings("ignore", message="LightningCLI's args parameter")
    warnings.filterwarnings("ignore", message="The number of training batches")
    warnings.filterwarnings("ignore", message="You defined a `validation_step` but have no `val_dataloader`")
    args = ["--config", resolve_recipe(recipe), "--run_dir", run_dir, "--trainer.logger", "false"]
    args += (["--threads", str(threads)] if threads else []) + (overrides or [])
    cli = SeqkitCLI(args=args, run=False)
    cli.model.scheduler_factory = None  # no validation here: plateau schedulers would have nothing to follow
    cli.datamodule.setup("fit")
    cli.model.attach_data(cli.datamodule.data_info())  # the fits below get the batches alone, not the DataModule
    batches = []
    for batch in cli.datamodule.train_dataloader():
        batches.append(batch)
        if len(batches) == count:
            break
    return cli, batches
