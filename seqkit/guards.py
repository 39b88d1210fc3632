"""Callbacks that stop a run early, with a clear message, when continuing would waste it."""

from __future__ import annotations

import math

import lightning as L
import torch

from seqkit.distributed import ranks_where
from seqkit.errors import SeqkitError


class NonFiniteLossError(SeqkitError, FloatingPointError):
    """The training loss became NaN or infinite."""


class StopOnNonFiniteLoss(L.Callback):
    """Stops training at the first NaN or infinite training loss, naming the step and what to try.

    Under DDP every rank learns after each step whether any rank's loss went bad (one small all-reduce), and all
    of them stop together with the same message: a rank that stopped alone would leave the others waiting in the
    next gradient all-reduce until the collective times out. The checkpoints written so far (``last.ckpt``,
    ``best.ckpt``) still hold the last good state.
    """

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs, batch, batch_idx) -> None:
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        if not isinstance(loss, torch.Tensor):
            return
        value = float(loss.detach())
        bad = ranks_where(not math.isfinite(value), device=loss.device)
        if not bad:
            return
        where = f"on rank {', '.join(map(str, bad))} of {trainer.world_size} " if trainer.world_size > 1 else ""
        raise NonFiniteLossError(
            f"Training loss became {value if trainer.world_size == 1 else 'non-finite'} {where}in batch {batch_idx} "
            f"of epoch {trainer.current_epoch}; lower the learning rate or clip gradients "
            "(--trainer.gradient_clip_val 1.0). Checkpoints saved before this step are intact."
        )
