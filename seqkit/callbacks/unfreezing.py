"""Gradual unfreezing (Howard and Ruder 2018): fine-tune a pretrained model from the top layer group down."""

from __future__ import annotations

from typing import Literal

import lightning as L
from lightning.pytorch.utilities import rank_zero_info

from seqkit.errors import SeqkitError


class GradualUnfreezing(L.Callback):
    """Train only the top layer groups at first, and unfreeze one more group every ``every`` epochs (or steps).

    The module lists its groups, bottom to top, in ``layer_groups()`` (a
    :class:`~seqkit.tasks.SequenceClassifier`: embeddings, each recurrent layer, pooling and head). Frozen
    parameters get no gradient, so the optimizer leaves them alone and backpropagation stops above them. Which
    groups train depends only on the epoch (or step) count, so a resumed run picks up exactly where it was.

    Under DDP use ``strategy: ddp_find_unused_parameters_true``: frozen parameters take part in no backward pass.

    Args:
        every: Unfreeze the next group after this many epochs (or steps).
        interval: ``epoch`` (ULMFiT) or ``step`` (for runs shorter than a few epochs).
        start: Groups trainable at the start (1: the head only).
    """

    def __init__(self, every: int = 1, interval: Literal["epoch", "step"] = "epoch", start: int = 1) -> None:
        if every < 1 or start < 1:
            raise ValueError("GradualUnfreezing: every and start must be at least 1")
        self.every = every
        self.interval = interval
        self.start = start
        self._trainable: int | None = None

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if not callable(getattr(pl_module, "layer_groups", None)):
            raise SeqkitError(f"GradualUnfreezing needs a module with layer_groups(); {type(pl_module).__name__} "
                              "has none.")
        strategy = trainer.strategy
        if type(strategy).__name__ == "DDPStrategy" and not strategy._ddp_kwargs.get("find_unused_parameters"):
            raise SeqkitError("GradualUnfreezing under DDP needs --trainer.strategy ddp_find_unused_parameters_true "
                              "(frozen layers get no gradient).")

    def trainable_groups(self, count: int, total: int) -> int:
        """Groups trainable after ``count`` epochs or steps, out of ``total``."""
        return min(total, self.start + count // self.every)

    def _apply(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        count = trainer.current_epoch if self.interval == "epoch" else trainer.global_step
        groups = pl_module.layer_groups()
        trainable = self.trainable_groups(count, len(groups))
        if trainable == self._trainable:
            return
        for depth, params in enumerate(groups):
            for param in params:
                param.requires_grad_(depth >= len(groups) - trainable)
        self._trainable = trainable
        rank_zero_info(f"Gradual unfreezing: training the top {trainable} of {len(groups)} layer groups")

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._apply(trainer, pl_module)

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch, batch_idx: int) -> None:
        if self.interval == "step":
            self._apply(trainer, pl_module)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        for params in pl_module.layer_groups():  # leave the model as it was found: all trainable
            for param in params:
                param.requires_grad_(True)
        self._trainable = None
