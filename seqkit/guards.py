"""Callbacks that stop a run early, with a clear message, when continuing would waste it."""

from __future__ import annotations

import math

import lightning as L
import torch

from seqkit.errors import SeqkitError


class NonFiniteLossError(SeqkitError, FloatingPointError):
    """The training loss became NaN or infinite."""


class StopOnNonFiniteLoss(L.Callback):
    """Stops training at the first NaN or infinite training loss, naming the step and what to try.

    The checkpoints written so far (``last.ckpt``, ``best.ckpt``) still hold the last good state.
    """

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs, batch, batch_idx) -> None:
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        if not isinstance(loss, torch.Tensor):
            return
        value = float(loss.detach())
        if not math.isfinite(value):
            raise NonFiniteLossError(
                f"Training loss became {value} in batch {batch_idx} of epoch {trainer.current_epoch}; "
                "lower the learning rate or clip gradients (--trainer.gradient_clip_val 1.0). "
                "Checkpoints saved before this step are intact."
            )
