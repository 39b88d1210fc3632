"""Optimiser set-up shared by the task modules."""

from __future__ import annotations

import lightning as L
import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable


def configure_optimization(
    module: L.LightningModule, optimizer: OptimizerCallable | None, scheduler: LRSchedulerCallable | None = None,
    monitor: str | None = None, interval: str = "epoch", param_groups: list[dict] | None = None,
):
    """Build the optimizer (and scheduler) from recipe factories, in Lightning's ``configure_optimizers`` format.

    Without an optimizer factory, Adam with lr 1e-3. (A ``None`` default, not ``torch.optim.AdamW``, because
    jsonargparse would otherwise carry the default class's ``init_args`` over to the class a recipe names.)
    ``ReduceLROnPlateau``-style schedulers follow ``monitor`` (default: the module's ``monitor`` metric).
    ``param_groups`` (``{"params": [...], "lr_scale": s}``) give groups their own learning rate: the recipe's
    rate times ``s``; the scheduler then scales each group from there.
    """
    params = module.parameters()
    scales = None
    if param_groups is not None:
        scales = [group.get("lr_scale", 1.0) for group in param_groups]
        params = [{k: v for k, v in group.items() if k != "lr_scale"} for group in param_groups]
    opt = optimizer(params) if optimizer is not None else torch.optim.Adam(params, lr=1e-3)
    for group, scale in zip(opt.param_groups, scales or [], strict=False):
        group["lr"] *= scale
    if scheduler is None:
        return opt
    sched = scheduler(opt)
    config = {"scheduler": sched, "interval": interval}
    if monitor or hasattr(module, "monitor"):
        config["monitor"] = monitor or module.monitor[0]
    return {"optimizer": opt, "lr_scheduler": config}
