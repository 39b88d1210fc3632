"""NT-ASGD: non-monotonically triggered averaged SGD (Merity et al. 2017), as a Lightning callback."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_info


class NTASGD(L.Callback):
    """Average the weights over SGD steps once validation stops improving.

    Train with plain SGD (``torch.optim.SGD``, constant learning rate). After each validation, if averaging has
    not started and the monitored loss is worse than the best of all but the last ``nonmono`` validations, start
    averaging: from then on every training step updates a running mean of the weights, as ``torch.optim.ASGD``
    with ``t0=0, lambd=0`` does. Validation, checkpoints and the final model use the averaged weights; training
    continues from the raw SGD weights, which this callback keeps in its state (so resuming is exact).

    Args:
        nonmono: Validations without improvement over the best before averaging starts (AWD-LSTM: 5).
        monitor: Logged metric to watch (lower is better).
    """

    def __init__(self, nonmono: int = 5, monitor: str = "val_loss") -> None:
        self.nonmono = nonmono
        self.monitor = monitor
        self.history: list[float] = []
        self.started_at_epoch: int | None = None
        self.steps = 0
        self._average: list[torch.Tensor] | None = None
        self._raw: list[torch.Tensor] | None = None  # SGD weights while the averaged ones are in the model

    @property
    def averaging(self) -> bool:
        return self._average is not None

    @staticmethod
    def _parameters(pl_module: L.LightningModule) -> list[torch.Tensor]:
        return [p for p in pl_module.parameters() if p.requires_grad]

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self._average is None:
            return
        self.steps += 1
        with torch.no_grad():
            for mean, weight in zip(self._average, self._parameters(pl_module), strict=True):
                mean.lerp_(weight, 1.0 / self.steps)  # running mean over the steps since averaging began

    def _swap_in_average(self, pl_module: L.LightningModule) -> None:
        if self._average is None or self._raw is not None:
            return
        with torch.no_grad():
            params = self._parameters(pl_module)
            self._raw = [p.detach().clone() for p in params]
            for p, mean in zip(params, self._average, strict=True):
                p.copy_(mean)

    def _swap_back_raw(self, pl_module: L.LightningModule) -> None:
        if self._raw is None:
            return
        with torch.no_grad():
            for p, raw in zip(self._parameters(pl_module), self._raw, strict=True):
                p.copy_(raw)
        self._raw = None

    def on_validation_epoch_start(self, trainer, pl_module) -> None:
        if not trainer.sanity_checking:
            self._swap_in_average(pl_module)

    def on_validation_end(self, trainer, pl_module) -> None:
        # Runs before ModelCheckpoint saves (Lightning runs checkpoint callbacks last): the checkpoint then holds
        # the averaged weights that were just validated.
        if trainer.sanity_checking or self.monitor not in trainer.callback_metrics:
            return
        loss = float(trainer.callback_metrics[self.monitor])
        earlier = self.history[: len(self.history) - self.nonmono]
        if self._average is None and earlier and loss > min(earlier):
            self._average = [p.detach().clone() for p in self._parameters(pl_module)]
            self.steps = 1
            self.started_at_epoch = trainer.current_epoch
            rank_zero_info(f"NT-ASGD: averaging weights from epoch {trainer.current_epoch + 1} on")
        self.history.append(loss)

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self._swap_back_raw(pl_module)

    def state_dict(self) -> dict[str, Any]:
        return {"history": self.history, "started_at_epoch": self.started_at_epoch, "steps": self.steps,
                "average": self._average, "raw": self._raw}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.history = list(state_dict["history"])
        self.started_at_epoch = state_dict["started_at_epoch"]
        self.steps = state_dict["steps"]
        self._average = state_dict["average"]
        self._raw = state_dict["raw"]
