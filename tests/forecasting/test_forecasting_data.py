"""ForecastingDataModule: the protocol's borders and window counts, train-only scaling, exact inversion."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from seqkit.data import DataSource, ForecastingDataModule
from seqkit.data.options import Splits
from seqkit.errors import DataError
from seqkit.tasks import Forecaster

SMALL_BORDERS = (200, 300, 400)


def protocol_windows(lookback: int, horizon: int) -> dict[str, tuple[int, int, int]]:
    """Informer / Time-Series-Library ETTh1 splits written out from the protocol: (first input row, end row, count)."""
    month = 30 * 24
    border1 = [0, 12 * month - lookback, 12 * month + 4 * month - lookback]
    border2 = [12 * month, 12 * month + 4 * month, 12 * month + 8 * month]
    return {role: (b1, b2, (b2 - b1) - lookback - horizon + 1)
            for role, b1, b2 in zip(("train", "validation", "test"), border1, border2)}


@pytest.mark.parametrize(("lookback", "horizon"), [(96, 96), (336, 336)])
def test_etth1_windows_follow_the_protocol(data_root, lookback, horizon):
    data = ForecastingDataModule(DataSource(name="etth1"), lookback=lookback, horizon=horizon)
    raw = pd.read_parquet(data_root / "etth1" / "series.parquet")
    values = raw.drop(columns="date").to_numpy()
    train = values[:8640]
    for role, (first, end, count) in protocol_windows(lookback, horizon).items():
        windows = data.windows(role)
        assert len(windows) == count
        assert int(windows.starts[0]) == first and int(windows.starts[-1]) + lookback + horizon == end
        batch = windows.__getitems__([0, count - 1])
        expected = (values[first: first + lookback] - train.mean(0)) / train.std(0)
        np.testing.assert_allclose(batch["x"][0].numpy(), expected, rtol=1e-5, atol=1e-5)
        last_targets = (values[end - horizon: end] - train.mean(0)) / train.std(0)
        np.testing.assert_allclose(batch["y"][1].numpy(), last_targets, rtol=1e-5, atol=1e-5)
    assert data.num_inputs == data.num_targets == 7
    assert data.series_spec["columns"] == ["HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"]


def test_scaler_reads_train_rows_only(series, tmp_path):
    source, path, frame = series
    before = ForecastingDataModule(source, lookback=24, horizon=12, borders=SMALL_BORDERS).series_spec
    changed = frame.copy()
    changed.loc[200:, ["a", "b", "OT"]] *= 100.0  # validation and test rows
    changed.to_csv(path, index=False)
    after = ForecastingDataModule(source, lookback=24, horizon=12, borders=SMALL_BORDERS).series_spec
    assert after == before
    changed.loc[199, "a"] += 50.0  # a train row does move it
    changed.to_csv(path, index=False)
    moved = ForecastingDataModule(source, lookback=24, horizon=12, borders=SMALL_BORDERS).series_spec
    assert moved["mean"][0] != before["mean"][0]
    np.testing.assert_allclose(before["mean"], frame.loc[:199, ["a", "b", "OT"]].mean().to_numpy())


def test_original_units_invert_the_scaling_exactly(series):
    source, _, frame = series
    data = ForecastingDataModule(source, lookback=24, horizon=12, borders=SMALL_BORDERS)
    model = Forecaster(data.num_inputs, data.num_targets, 24, 12, data.series_spec, network={"architecture": "linear"})
    values = frame[["a", "b", "OT"]].to_numpy()
    scaled = data.scale(values)
    assert abs(scaled[:200].mean(0)).max() < 1e-12 and abs(scaled[:200].std(0) - 1).max() < 1e-12
    restored = model.to_original_units(torch.from_numpy(scaled)).numpy()
    np.testing.assert_allclose(restored, values, rtol=0, atol=1e-12)
    np.testing.assert_allclose(data.unscale(scaled), values, rtol=0, atol=1e-12)


def test_univariate_setting_and_calendar_features(series):
    source, _, frame = series
    data = ForecastingDataModule(source, lookback=24, horizon=12, features="S", borders=SMALL_BORDERS,
                                 calendar_features=True)
    assert data.series_spec["columns"] == ["OT"]
    assert (data.num_inputs, data.num_targets) == (5, 1)
    batch = data.windows("test").__getitems__([0])
    assert batch["x"].shape == (1, 24, 5) and batch["y"].shape == (1, 12, 1)
    hours = batch["x"][0, :, 1]  # hour of day, scaled to [-0.5, 0.5]
    first = int(batch["start"][0])
    np.testing.assert_allclose(hours.numpy(), frame["date"].dt.hour[first: first + 24] / 23 - 0.5, atol=1e-6)


def test_max_rows_takes_evenly_spaced_windows(series):
    source, _, _ = series
    data = ForecastingDataModule(source, lookback=24, horizon=12, borders=SMALL_BORDERS, splits=Splits(max_rows=5))
    starts = data.windows("train").starts
    assert starts.tolist() == [0, 41, 82, 123, 164]  # of 200 - 24 - 12 + 1 = 165 windows, first and last kept


def test_bad_settings_fail_clearly(series):
    source, _, _ = series
    with pytest.raises(DataError, match="borders must satisfy"):
        _ = ForecastingDataModule(source, borders=(300, 200, 400)).series_spec
    with pytest.raises(DataError, match="shorter than lookback"):
        _ = ForecastingDataModule(source, lookback=96, horizon=120, borders=SMALL_BORDERS).series_spec
    with pytest.raises(DataError, match="no column 'load'"):
        _ = ForecastingDataModule(source, target="load", borders=SMALL_BORDERS).series_spec


def test_rows_out_of_time_order_are_sorted_and_a_repeated_timestamp_refused(series, caplog):
    source, path, frame = series
    in_order = ForecastingDataModule(source, lookback=24, horizon=12, borders=SMALL_BORDERS)
    frame.iloc[::-1].to_csv(path, index=False)  # newest row first
    with caplog.at_level("INFO", logger="seqkit"):
        reversed_rows = ForecastingDataModule(source, lookback=24, horizon=12, borders=SMALL_BORDERS)
        assert reversed_rows.series_spec == in_order.series_spec  # train statistics of the first 200 hours
    assert "not in time order: sorted by 'date'" in caplog.text
    np.testing.assert_array_equal(reversed_rows.series["values"], in_order.series["values"])
    assert (pd.to_datetime(reversed_rows.series["times"]) == frame["date"]).all()

    twice = frame.copy()
    twice.loc[7, "date"] = twice.loc[6, "date"]
    twice.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"holds 2020-01-01 06:00:00 twice \(rows 6 and 7\)"):
        _ = ForecastingDataModule(source, lookback=24, horizon=12, borders=SMALL_BORDERS).series_spec
    garbled = frame.astype({"date": str})
    garbled.loc[3, "date"] = "yesterday"
    garbled.to_csv(path, index=False)
    with pytest.raises(DataError, match="holds 'yesterday' in row 3, not a timestamp"):
        _ = ForecastingDataModule(source, lookback=24, horizon=12, borders=SMALL_BORDERS).series_spec


def test_a_text_value_in_the_series_names_its_column(series):
    source, path, frame = series
    frame.astype({"b": object}).assign(b=lambda f: f["b"].where(f.index != 5, "abc")).to_csv(path, index=False)
    with pytest.raises(DataError, match="Column 'b' of .* must be numeric"):
        _ = ForecastingDataModule(source, lookback=24, horizon=12, borders=SMALL_BORDERS).series_spec
