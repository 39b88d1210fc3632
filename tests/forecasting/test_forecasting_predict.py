"""Train, predict, load and publish a forecaster through the CLI: forecasts in original units all the way."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

import seqkit
from seqkit.cli import main
from tests.forecasting.series import write_series

RECIPE = """
seed_everything: 0
trainer:
  max_epochs: 2
  accelerator: cpu
  devices: 1
  enable_progress_bar: false
  enable_model_summary: false
data:
  class_path: seqkit.data.ForecastingDataModule
  init_args:
    source:
      name: {folder}
    lookback: 24
    horizon: 12
    borders: [200, 300, 400]
    calendar_features: true
    batching:
      batch_size: 16
model:
  class_path: seqkit.tasks.Forecaster
  init_args:
    network:
      architecture: seq2seq
      cell: gru
      hidden_size: 16
      num_layers: 1
"""


@pytest.mark.slow
def test_fit_predict_load_and_publish_agree(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    frame = write_series(folder / "series.parquet")
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(RECIPE.format(folder=folder))
    run, predicted = tmp_path / "run", tmp_path / "predicted"
    assert main(["fit", "--config", str(recipe), "--run_dir", str(run)]) == 0
    spec = json.loads((run / "scaler.json").read_text())
    train = frame.loc[:199, ["a", "b", "OT"]]
    np.testing.assert_allclose(spec["mean"], train.mean().to_numpy())
    np.testing.assert_allclose(spec["std"], train.std(ddof=0).to_numpy())
    # The data settings reached the model through the CLI's links, not through the recipe.
    saved = yaml.safe_load((run / "hparams.yaml").read_text())
    assert (saved["num_inputs"], saved["num_targets"], saved["lookback"], saved["horizon"]) == (7, 3, 24, 12)

    assert main(["predict", "--config", str(run / "config.yaml"), "--ckpt_path",
                 str(run / "checkpoints" / "best.ckpt"), "--run_dir", str(predicted)]) == 0
    table = pd.read_parquet(predicted / "forecasts.parquet")
    assert len(table) == (100 - 12 + 1) * 12 and (predicted / "forecasts.png").stat().st_size > 10_000
    np.testing.assert_array_equal(table["OT_true"].to_numpy(), frame["OT"].to_numpy()[table["row"]])
    assert (table["time"].to_numpy() == frame["date"].to_numpy()[table["row"]]).all()

    window = int(table["window"].iloc[-1])
    expected = table[table["window"] == window][["a", "b", "OT"]].to_numpy()
    history = frame.iloc[: window + 24]
    from_run = seqkit.load(run).forecast(history)
    assert list(from_run.columns) == ["date", "a", "b", "OT"]
    assert from_run["date"].iloc[0] == frame["date"].iloc[window + 24]
    np.testing.assert_allclose(from_run[["a", "b", "OT"]].to_numpy(), expected, rtol=1e-5, atol=1e-5)

    out = tmp_path / "published"
    assert main(["publish", str(run), "--repo_id", "someone/tiny-forecaster", "--dry_run", "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["hparams"]["series_spec"]["mean"] == spec["mean"] and config["tokenizers"] == {}
    assert "time-series-forecasting" in (out / "README.md").read_text()
    from_folder = seqkit.load(out).forecast(history)
    pd.testing.assert_frame_equal(from_folder, from_run)
