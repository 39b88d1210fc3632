"""Optimiser set-up shared by the task modules."""

from __future__ import annotations

import lightning as L
import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable


def configure_optimization(
    module: L.LightningModule, optimizer: OptimizerCallable | None, scheduler: LRSchedulerCallable | None = None,
    monitor: str | None = None, interval: str = "epoch",
):
    """Build the optimizer (and scheduler) from recipe factories, in Lightning's ``configure_optimizers`` format.

    Without an optimizer factory, Adam with lr 1e-3. (A ``None`` default, not ``torch.optim.AdamW``, because
    jsonargparse would otherwise carry the default class's ``init_args`` over to the class a recipe names.)
    ``ReduceLROnPlateau``-style schedulers follow ``monitor`` (default: the module's ``monitor`` metric).
    """
    opt = optimizer(module.parameters()) if optimizer is not None else torch.optim.Adam(module.parameters(), lr=1e-3)
    if scheduler is None:
        return opt
    sched = scheduler(opt)
    config = {"scheduler": sched, "interval": interval}
    if monitor or hasattr(module, "monitor"):
        config["monitor"] = monitor or module.monitor[0]
    return {"optimizer": opt, "lr_scheduler": config}
