"""TimeBudgetDecay: the rate each step trains with follows the clock, and the set-ups it cannot serve are refused."""

from __future__ import annotations

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import Timer
from torch import nn

from seqkit.callbacks.time_budget import TimeBudgetDecay, budget_factor
from seqkit.errors import ConfigError

SECONDS_PER_STEP = 6.0  # the patched clock: step k starts k * 6 s into a 60 s budget


class _Regression(L.LightningModule):
    def __init__(self, scheduler: bool = False) -> None:
        super().__init__()
        self.layer = nn.Linear(2, 1)
        self.scheduler = scheduler
        self.lrs: list[float] = []

    def training_step(self, batch, batch_idx):
        self.lrs.append(self.trainer.optimizers[0].param_groups[0]["lr"])
        return self.layer(batch[0]).pow(2).mean()

    def train_dataloader(self):
        return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(40, 2)), batch_size=4)

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(self.parameters(), lr=2.0)
        if not self.scheduler:
            return optimizer
        return {"optimizer": optimizer, "lr_scheduler": torch.optim.lr_scheduler.StepLR(optimizer, 1)}


def _fit(module: L.LightningModule, monkeypatch, max_time: str | None = "00:00:01:00") -> None:
    def clock(self, stage="train"):
        return module.trainer.global_step * SECONDS_PER_STEP

    monkeypatch.setattr(Timer, "time_elapsed", clock)
    trainer = L.Trainer(max_time=max_time, max_steps=10, callbacks=[TimeBudgetDecay(0.4, 0.1)], logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(module)


def test_rate_holds_then_falls_linearly_to_its_floor_at_the_limit(monkeypatch):
    module = _Regression()
    _fit(module, monkeypatch)
    # steps 0-6 start within the first 60% of the budget; then 40% left at step 6 ... 6% at step 9, floor 0.1
    expected = [2.0 * budget_factor(k * SECONDS_PER_STEP, 60.0, 0.4, 0.1) for k in range(10)]
    assert module.lrs == pytest.approx(expected)
    assert module.lrs[:7] == pytest.approx([2.0] * 7)
    assert module.lrs[9] == pytest.approx(2.0 * (0.1 + 0.9 * 0.1 / 0.4))


def test_factor_reaches_the_floor_at_the_limit_and_stays_there():
    assert budget_factor(0.0, 100.0, 0.3, 0.0) == 1.0
    assert budget_factor(70.0, 100.0, 0.3, 0.0) == pytest.approx(1.0)
    assert budget_factor(85.0, 100.0, 0.3, 0.0) == pytest.approx(0.5)
    assert budget_factor(100.0, 100.0, 0.3, 0.2) == pytest.approx(0.2)
    assert budget_factor(130.0, 100.0, 0.3, 0.2) == pytest.approx(0.2)


def test_refuses_a_run_without_a_time_limit(monkeypatch):
    with pytest.raises(ConfigError, match="--trainer.max_time"):
        _fit(_Regression(), monkeypatch, max_time=None)


def test_refuses_a_second_owner_of_the_rate(monkeypatch):
    with pytest.raises(ConfigError, match="lr_scheduler null"):
        _fit(_Regression(scheduler=True), monkeypatch)


def test_base_rates_survive_a_checkpoint():
    callback = TimeBudgetDecay()
    callback.base_lrs = [[20.0, 2.0]]
    restored = TimeBudgetDecay()
    restored.load_state_dict(callback.state_dict())
    assert restored.base_lrs == [[20.0, 2.0]]


@pytest.mark.parametrize("decay, final", [(0.0, 0.0), (1.5, 0.0), (0.4, -0.1)])
def test_bad_settings_say_which(decay, final):
    with pytest.raises(ConfigError, match="TimeBudgetDecay"):
        TimeBudgetDecay(decay, final)
