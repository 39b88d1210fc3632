"""Forecasting networks: shapes, and a model that must learn a noiseless sine."""

from __future__ import annotations

import lightning as L
import numpy as np
import pandas as pd
import pytest
import torch

from seqkit.data import DataSource, ForecastingDataModule
from seqkit.data.options import Batching
from seqkit.models.forecasting import DLinear, ForecasterConfig, build_network
from seqkit.tasks import Forecaster


@pytest.mark.parametrize(("network", "options"), [
    ("rnn", {"cell": "lstm"}), ("rnn", {"cell": "gru"}), ("seq2seq", {"decoder": "autoregressive", "attention": True}),
    ("seq2seq", {"decoder": "direct"}), ("linear", {}), ("linear", {"individual": True}),
])
def test_networks_map_windows_to_horizons(network, options):
    net = build_network(3, 3, 48, 12, ForecasterConfig(network, hidden_size=16, num_layers=2, **options))
    forecast = net(torch.randn(4, 48, 3))
    assert forecast.shape == (4, 12, 3)
    forecast.sum().backward()
    assert all(p.grad is not None for p in net.parameters())


def test_recurrent_networks_read_extra_input_channels():
    net = build_network(7, 3, 48, 12, ForecasterConfig("seq2seq", hidden_size=16))
    assert net(torch.randn(2, 48, 7)).shape == (2, 12, 3)
    with pytest.raises(ValueError, match="calendar_features"):
        DLinear(7, 3, 48, 12)


def test_moving_average_keeps_a_straight_line():
    net = DLinear(1, 1, 48, 12)
    line = torch.linspace(0, 1, 48).view(1, 48, 1)
    inner = net.decompose(line)[0, 12:-12, 0]  # away from the replicated ends the average of a line is the line
    torch.testing.assert_close(inner, line[0, 12:-12, 0])


@pytest.mark.slow
def test_a_recurrent_forecaster_learns_a_noiseless_sine(tmp_path):
    t = np.arange(1200)
    frame = pd.DataFrame({"date": pd.date_range("2021-01-01", periods=len(t), freq="h"),
                          "s": np.sin(2 * np.pi * t / 24), "c": np.cos(2 * np.pi * t / 17)})
    frame.to_parquet(tmp_path / "series.parquet")
    data = ForecastingDataModule(DataSource(name=str(tmp_path)), lookback=48, horizon=12, target="s",
                                 borders=(800, 1000, 1200), batching=Batching(batch_size=32))
    torch.manual_seed(0)
    model = Forecaster(data.num_inputs, data.num_targets, 48, 12, data.series_spec,
                       ForecasterConfig("rnn", cell="gru", hidden_size=32, num_layers=1, dropout=0.0),
                       optimizer=lambda params: torch.optim.Adam(params, lr=0.01))
    trainer = L.Trainer(max_epochs=20, accelerator="cpu", logger=False, enable_checkpointing=False,
                        default_root_dir=tmp_path, enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(model, datamodule=data)
    mse = trainer.test(model, datamodule=data, verbose=False)[0]["test_mse"]
    # Standardised series have variance 1: forecasting the mean scores ~1, the last value ~0.5-1.
    assert mse < 0.01
