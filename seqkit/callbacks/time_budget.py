"""A learning rate set by the clock, for runs limited by time (``--trainer.max_time``) rather than by steps."""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Timer

from seqkit.distributed import from_rank_zero
from seqkit.errors import ConfigError


def budget_factor(elapsed: float, duration: float, decay_fraction: float, final_fraction: float) -> float:
    """The learning rate's multiplier after ``elapsed`` of ``duration`` seconds: 1 until the last
    ``decay_fraction`` of the budget, then a straight line down to ``final_fraction`` at the limit."""
    left = max(0.0, 1.0 - elapsed / duration)
    if left >= decay_fraction:
        return 1.0
    return final_fraction + (1.0 - final_fraction) * left / decay_fraction


class TimeBudgetDecay(L.Callback):
    """Hold every parameter group's learning rate, then decay it linearly over the last part of the time budget.

    A step-count schedule (cosine, linear) needs the number of steps a run will make, which a time limit leaves
    open: it depends on the machine. This schedule reads the elapsed training time (validation included, as
    ``max_time`` counts it) from Lightning's ``Timer`` before every step, so the rate reaches its floor when the
    run stops, and the validation Lightning runs at the stop scores the annealed model. ``ReduceLROnPlateau``, by
    contrast, steps only at epoch ends and may never cut the rate within a short budget. Set the task's
    ``lr_scheduler`` to null: this callback owns the rate. Under DDP rank zero's clock sets every rank's rate (as it
    decides when the ``Timer`` stops the run), so the ranks stay identical.

    Args:
        decay_fraction: The last part of the budget over which the rate falls (0.4: the last 40%).
        final_fraction: The rate at the limit, as a fraction of the rate the optimiser was configured with.
    """

    def __init__(self, decay_fraction: float = 0.4, final_fraction: float = 0.0) -> None:
        if not 0.0 < decay_fraction <= 1.0:
            raise ConfigError(f"TimeBudgetDecay: decay_fraction must be in (0, 1], not {decay_fraction}.")
        if not 0.0 <= final_fraction <= 1.0:
            raise ConfigError(f"TimeBudgetDecay: final_fraction must be in [0, 1], not {final_fraction}.")
        self.decay_fraction = decay_fraction
        self.final_fraction = final_fraction
        self.base_lrs: list[list[float]] | None = None  # per optimiser, per group; kept in checkpoints for resuming
        self._timer: Timer | None = None

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._timer = next((c for c in trainer.callbacks if isinstance(c, Timer)), None)  # type: ignore[attr-defined]
        if self._timer is None or self._timer.time_remaining() is None:
            raise ConfigError("TimeBudgetDecay decays the learning rate towards --trainer.max_time, which is not set; "
                              "give --trainer.max_time DD:HH:MM:SS or remove the callback.")
        if trainer.lr_scheduler_configs:
            raise ConfigError("TimeBudgetDecay sets the learning rate itself; set --model.init_args.lr_scheduler null "
                              "or remove the callback.")
        if self.base_lrs is None:
            self.base_lrs = [[group["lr"] for group in opt.param_groups] for opt in trainer.optimizers]

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any,
                             batch_idx: int) -> None:
        assert self._timer is not None and self.base_lrs is not None
        elapsed, remaining = self._timer.time_elapsed("train"), self._timer.time_remaining("train")
        assert remaining is not None  # on_train_start refused a Timer without a duration
        # Rank zero's clock decides, as it does when the Timer stops the run: ranks' clocks differ, and different
        # learning rates would make the ranks' weights drift apart.
        factor = from_rank_zero(budget_factor(elapsed, elapsed + remaining, self.decay_fraction, self.final_fraction))
        for opt, lrs in zip(trainer.optimizers, self.base_lrs):
            for group, base in zip(opt.param_groups, lrs):
                group["lr"] = base * factor

    def state_dict(self) -> dict[str, Any]:
        return {"base_lrs": self.base_lrs}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.base_lrs = state_dict.get("base_lrs")
