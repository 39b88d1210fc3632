"""Forecasting new data from Python: rows in any order are dated forwards, bad values named in one message."""

from __future__ import annotations

import pandas as pd
import pytest

from seqkit.errors import DataError
from seqkit.inference.forecast import forecast_frame
from seqkit.tasks import Forecaster
from tests.forecasting.series import write_series

SPEC = {"columns": ["a", "b", "OT"], "mean": [10.0, 0.0, 20.0], "std": [2.0, 3.0, 1.5], "time_column": "date",
        "calendar_features": False}


@pytest.fixture()
def model() -> Forecaster:
    return Forecaster(3, 3, 24, 6, SPEC, network={"architecture": "linear"}).eval()


def test_rows_in_reverse_time_order_forecast_the_hours_after_the_newest(model, tmp_path):
    frame = write_series(tmp_path / "s.parquet", rows=48)
    forward = forecast_frame(model, frame)
    backward = forecast_frame(model, frame.iloc[::-1].reset_index(drop=True))
    expected = pd.date_range(frame["date"].iloc[-1], periods=7, freq="h")[1:]
    assert list(backward["date"]) == list(expected)
    pd.testing.assert_frame_equal(backward, forward)


def test_a_repeated_timestamp_is_refused(model, tmp_path):
    frame = write_series(tmp_path / "s.parquet", rows=48)
    frame.loc[40, "date"] = frame.loc[30, "date"]
    with pytest.raises(DataError, match=r"'date' of the data holds 2020-01-02 06:00:00 twice \(rows 30 and 40\)"):
        forecast_frame(model, frame)


def test_a_text_value_names_its_column(model, tmp_path):
    frame = write_series(tmp_path / "s.parquet", rows=48).astype({"b": object})
    frame.loc[45, "b"] = "n/a"
    with pytest.raises(ValueError, match="Column 'b' holds 'n/a', not a number"):
        forecast_frame(model, frame)
