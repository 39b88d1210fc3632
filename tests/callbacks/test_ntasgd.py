"""NT-ASGD: when averaging starts, what it averages, and which weights validation and training see."""

from __future__ import annotations

from types import SimpleNamespace

import lightning as L
import torch
from torch import nn

from seqkit.callbacks.ntasgd import NTASGD


class _Weights(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(3))


def _validate(callback, trainer, module, loss):
    callback.on_validation_epoch_start(trainer, module)
    trainer.callback_metrics = {"val_loss": torch.tensor(loss)}
    callback.on_validation_end(trainer, module)


def test_starts_averaging_only_after_nonmonotone_validation_and_averages_steps():
    callback, module = NTASGD(nonmono=2), _Weights()
    trainer = SimpleNamespace(sanity_checking=False, callback_metrics={}, current_epoch=0)
    for epoch, loss in enumerate([5.0, 4.0, 3.0, 3.5, 3.6]):
        trainer.current_epoch = epoch
        _validate(callback, trainer, module, loss)
        assert not callback.averaging  # 3.5 and 3.6 are no worse than the best before the last 2 validations
    _validate(callback, trainer, module, 3.7)  # worse than 3.0, the best before the last two
    assert callback.averaging and callback.started_at_epoch == 4

    callback.on_train_epoch_start(trainer, module)
    for value in (2.0, 4.0, 6.0):  # three SGD steps after the start
        module.w.data.fill_(value)
        callback.on_train_batch_end(trainer, module, None, None, 0)
    expected = (0.0 + 2.0 + 4.0 + 6.0) / 4  # the weights at the start plus every later step
    callback.on_validation_epoch_start(trainer, module)
    torch.testing.assert_close(module.w.data, torch.full((3,), expected))  # validation sees the average
    callback.on_train_epoch_start(trainer, module)
    torch.testing.assert_close(module.w.data, torch.full((3,), 6.0))  # training resumes from the SGD weights


def test_state_round_trip():
    callback, module = NTASGD(nonmono=0), _Weights()
    trainer = SimpleNamespace(sanity_checking=False, callback_metrics={}, current_epoch=0)
    _validate(callback, trainer, module, 1.0)
    _validate(callback, trainer, module, 2.0)
    restored = NTASGD(nonmono=0)
    restored.load_state_dict(callback.state_dict())
    assert restored.averaging and restored.history == callback.history
