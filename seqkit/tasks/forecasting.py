"""Multi-horizon forecasting of standardised series: MSE loss, MSE/MAE metrics, forecasts in original units."""

from __future__ import annotations

from typing import Any

import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import Tensor, nn
from torchmetrics import MeanAbsoluteError, MeanSquaredError

from seqkit.models.forecasting import DecoderMode, Network, build_network
from seqkit.nn.recurrent import CellType
from seqkit.tasks.base import TaskModule


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
        network: ``rnn`` (LSTM/GRU encoder, direct multi-horizon head), ``seq2seq`` (encoder-decoder) or
            ``linear`` (DLinear). The settings below apply to the networks that have them.
        hidden_size: Recurrent width (``rnn``, ``seq2seq``).
        num_layers: Stacked recurrent layers (``rnn``, ``seq2seq``).
        cell: ``lstm``, ``gru`` or ``rnn`` (``rnn``, ``seq2seq``).
        dropout: Dropout between recurrent layers and before the output (``rnn``, ``seq2seq``).
        decoder: ``autoregressive`` or ``direct`` (``seq2seq``).
        attention: Decoder attends over the encoder outputs (``seq2seq``).
        kernel_size: Moving-average window of the trend (``linear``).
        individual: One linear map per channel (``linear``).
        optimizer, lr_scheduler: The recipe's optimizer (default Adam, lr 1e-3) and scheduler (stepped every epoch).
    """

    monitor = ("val_mse", "min")

    def __init__(
        self,
        num_inputs: int,
        num_targets: int,
        lookback: int,
        horizon: int,
        series_spec: dict[str, Any] | None = None,
        network: Network = "rnn",
        hidden_size: int = 128,
        num_layers: int = 2,
        cell: CellType = "lstm",
        dropout: float = 0.1,
        decoder: DecoderMode = "autoregressive",
        attention: bool = False,
        kernel_size: int = 25,
        individual: bool = False,
        optimizer: OptimizerCallable | None = None,
        lr_scheduler: LRSchedulerCallable | None = None,
    ) -> None:
        super().__init__(optimizer, lr_scheduler)
        self.network = build_network(
            network, num_inputs, num_targets, lookback, horizon, hidden_size=hidden_size, num_layers=num_layers,
            cell=cell, dropout=dropout, decoder=decoder, attention=attention, kernel_size=kernel_size,
            individual=individual,
        )
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
