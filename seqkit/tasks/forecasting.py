"""Multi-horizon forecasting of standardised series: MSE loss, MSE/MAE metrics, forecasts in original units."""

from __future__ import annotations

from typing import Any

import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import Tensor, nn
from torchmetrics import MeanAbsoluteError, MeanSquaredError

from seqkit.errors import ConfigError
from seqkit.models.forecasting import ForecasterConfig, build_network
from seqkit.tasks.base import TaskModule

#: The network's default settings (one instance, shared by the signature).
DEFAULT_NETWORK = ForecasterConfig()


class Forecaster(TaskModule):
    """Look-back window ``(B, L, C_in)`` -> forecast ``(B, H, C_out)``, trained with MSE on standardised values.

    ``val_mse``/``val_mae`` and ``test_mse``/``test_mae`` are averaged over every value of every window of the
    split (the Informer / Time-Series-Library protocol). ``predict_step`` returns forecasts in original units, with
    the train statistics in ``series_spec``, which the seqkit CLI fills in from the data, as it does
    ``num_inputs``, ``num_targets``, ``lookback`` and ``horizon``; they are saved with the model.

    Args:
        num_inputs: Input channels ``C_in`` (value columns, then calendar features).
        num_targets: Output channels ``C_out`` (the first ``C_out`` input channels).
        lookback: Input steps ``L``.
        horizon: Steps ``H`` to forecast.
        series_spec: Value columns, their train mean and std, time column, calendar features
            (:attr:`~seqkit.data.forecasting.ForecastingDataModule.series_spec`).
        network: :class:`~seqkit.models.forecasting.ForecasterConfig`: the ``architecture`` (``rnn``: LSTM/GRU
            encoder and a direct multi-horizon head, ``seq2seq``: encoder-decoder, or ``linear``: DLinear) and the
            settings of each; a dict is read as one.
        optimizer, lr_scheduler: The recipe's optimizer (default Adam, lr 1e-3) and scheduler (stepped every epoch).
    """

    monitor = ("val_mse", "min")
    default_network = DEFAULT_NETWORK

    def __init__(
        self,
        num_inputs: int,
        num_targets: int,
        lookback: int,
        horizon: int,
        series_spec: dict[str, Any] | None = None,
        network: ForecasterConfig = DEFAULT_NETWORK,
        optimizer: OptimizerCallable | None = None,
        lr_scheduler: LRSchedulerCallable | None = None,
    ) -> None:
        if isinstance(network, str):  # the layout before the network group named only the architecture here
            raise ConfigError(f"network is a ForecasterConfig: network={{'architecture': {network!r}, ...}}.")
        super().__init__(optimizer, lr_scheduler)
        self.network = build_network(num_inputs, num_targets, lookback, horizon, self.network_config)
        spec = series_spec or {}
        mean, std = spec.get("mean"), spec.get("std")
        if mean is not None and (len(mean) != num_targets or len(std) != num_targets):
            raise ValueError(f"series_spec has statistics for {len(mean)} columns; the model forecasts {num_targets}.")
        # Non-persistent: they come from the hyperparameters, so the weights file holds only weights.
        # float64, built directly: a float32 detour would round the statistics and break exact inversion.
        self.register_buffer("target_mean", torch.tensor(mean or [0.0] * num_targets, dtype=torch.float64),
                             persistent=False)
        self.register_buffer("target_std", torch.tensor(std or [1.0] * num_targets, dtype=torch.float64),
                             persistent=False)
        self.loss = nn.MSELoss()
        self.val_mse, self.val_mae = MeanSquaredError(), MeanAbsoluteError()
        self.test_mse, self.test_mae = MeanSquaredError(), MeanAbsoluteError()

    @classmethod
    def upgrade_hparams(cls, hparams: dict[str, Any]) -> dict[str, Any]:
        """Runs and folders written before the ``network`` group name the architecture ``network: rnn``."""
        if isinstance(hparams.get("network"), str):
            hparams["architecture"] = hparams.pop("network")  # folded into the network group next
        return hparams

    def to_original_units(self, forecast: Tensor) -> Tensor:
        """Standardised ``(..., C_out)`` -> original units (float64), inverting the train standardisation."""
        return forecast.double() * self.target_std + self.target_mean

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        loss = self.loss(self(batch["x"]), batch["y"])
        self.log("train_loss", loss, prog_bar=True, batch_size=len(batch["x"]))
        return loss

    def _evaluate(self, batch: dict[str, Tensor], stage: str) -> None:
        # Flat: every value of every window counts once, as in the protocol's mean over all of them.
        forecast, target = self(batch["x"]).reshape(-1), batch["y"].reshape(-1)
        mse, mae = getattr(self, f"{stage}_mse"), getattr(self, f"{stage}_mae")
        mse.update(forecast, target)
        mae.update(forecast, target)
        self.log(f"{stage}_mse", mse, prog_bar=True, batch_size=len(batch["x"]))
        self.log(f"{stage}_mae", mae, batch_size=len(batch["x"]))

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self._evaluate(batch, "val")

    def test_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self._evaluate(batch, "test")

    def predict_step(self, batch: dict[str, Tensor], batch_idx: int) -> dict[str, Tensor]:
        """``{"start": (B,) first input row of each window, "forecast": (B, H, C_out) in original units}``."""
        return {"start": batch["start"].cpu(), "forecast": self.to_original_units(self(batch["x"])).cpu()}


from seqkit.registry import TaskDeclaration, register_task  # noqa: E402 - the declaration closes the module

register_task(TaskDeclaration(
    Forecaster, pipeline_tag="time-series-forecasting", tags=("time-series", "forecasting"),
    predictor="seqkit.inference.forecast:ForecastPredictor",
    tokenizer=False,
    data_links=("num_inputs", "num_targets", "lookback", "horizon", "series_spec"),
))
