"""Lightning callback: measure, log and plot the gradient of the loss with respect to each step's hidden state."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch import Tensor

from seqkit.diagnostics.plotting import plot_gradient_norms
from seqkit.nn.gradients import HiddenGradientTracker

LossFn = Callable[[L.LightningModule, Any], Tensor]


class GradientThroughTime(L.Callback):
    """Every ``every_n_steps`` training steps, measure mean ``||dL/dh_t||`` per time step on the current batch.

    The measurement reruns the loss on the batch in eval mode (no dropout) under a
    :class:`~seqkit.nn.gradients.HiddenGradientTracker` and uses ``torch.autograd.grad``, so training's gradients
    and optimizer are untouched. It logs, per tracked layer, ``grad_through_time/<layer>/first`` (step 1),
    ``.../last`` (step T) and ``.../log10_ratio`` (``log10(first / last)``: strongly negative means vanishing),
    and at the end of training (rank 0) writes a PNG with every measured curve.

    Args:
        every_n_steps: Measure when ``global_step % every_n_steps == 0``.
        loss_fn: ``loss_fn(pl_module, batch) -> scalar``. Default: ``pl_module.training_step(batch, 0)`` with its
            logging silenced (a returned dict's ``"loss"`` is used).
        modules: Recurrent layers to track (names in ``pl_module.named_modules()``); default all of them.
        plot_path: PNG to write; default ``<trainer.log_dir or default_root_dir>/gradient_through_time.png``.
        plot: Write the PNG at the end of training (``False``: only log).

    Attributes:
        history: ``[(global_step, {layer: norms (T,)})]``, one entry per measurement.
    """

    def __init__(self, every_n_steps: int = 100, loss_fn: LossFn | None = None, modules: list[str] | None = None,
                 plot_path: str | Path | None = None, plot: bool = True) -> None:
        if every_n_steps < 1:
            raise ValueError("every_n_steps must be at least 1")
        self.every_n_steps = every_n_steps
        self.loss_fn = loss_fn
        self.modules = modules
        self.plot, self.plot_path = plot, plot_path
        self.history: list[tuple[int, dict[str, Tensor]]] = []

    def measure(self, pl_module: L.LightningModule, batch: Any) -> dict[str, Tensor]:
        """``{layer name: (T,)}`` mean gradient norms for one batch (eval mode, parameter grads untouched)."""
        was_training = pl_module.training
        pl_module.eval()
        try:
            with torch.enable_grad(), HiddenGradientTracker(pl_module, self.modules) as tracker:
                loss = self._loss(pl_module, batch)
            return tracker.norms(loss)
        finally:
            pl_module.train(was_training)

    def _loss(self, pl_module: L.LightningModule, batch: Any) -> Tensor:
        if self.loss_fn is not None:
            return self.loss_fn(pl_module, batch)
        # training_step logs its loss; a second, eval-mode value must not overwrite the real one.
        silence = {"log": lambda *a, **k: None, "log_dict": lambda *a, **k: None}
        saved = {name: pl_module.__dict__.get(name) for name in silence}
        pl_module.__dict__.update(silence)
        try:
            out = pl_module.training_step(batch, 0)
        finally:
            for name, value in saved.items():
                if value is None:
                    del pl_module.__dict__[name]
                else:
                    pl_module.__dict__[name] = value
        return out["loss"] if isinstance(out, dict) else out

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        step = trainer.global_step
        if step % self.every_n_steps:
            return
        norms = self.measure(pl_module, batch)
        self.history.append((step, {name: n.cpu() for name, n in norms.items()}))
        metrics = {}
        for name, curve in norms.items():
            first, last = float(curve[0]), float(curve[-1])
            metrics[f"grad_through_time/{name}/first"] = first
            metrics[f"grad_through_time/{name}/last"] = last
            if first > 0 and last > 0:
                metrics[f"grad_through_time/{name}/log10_ratio"] = math.log10(first / last)
        pl_module.log_dict(metrics, on_step=True, on_epoch=False, batch_size=1)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.plot and self.history and trainer.is_global_zero:
            self.save_plot(self.default_path(trainer))

    def default_path(self, trainer: L.Trainer) -> Path:
        if self.plot_path is not None:
            return Path(self.plot_path)
        return Path(trainer.log_dir or trainer.default_root_dir) / "gradient_through_time.png"

    def save_plot(self, path: str | Path) -> Path:
        """Write the recorded curves: one panel per layer, one line per measured step."""
        panels: dict[str, dict[str, Tensor]] = {}
        for step, norms in self.history:
            for name, curve in norms.items():
                panels.setdefault(name, {})[f"step {step}"] = curve
        return plot_gradient_norms(panels, path, title="Gradient of the loss through time")
