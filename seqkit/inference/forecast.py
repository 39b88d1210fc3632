"""Forecasts in original units from a trained :class:`~seqkit.tasks.Forecaster` on new data::

    predictor = seqkit.load("runs/forecasting/etth1_lstm/20250101-120000")
    predictor.forecast(frame)   # the next ``horizon`` rows after the last ``lookback`` rows of ``frame``
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from seqkit.data.forecasting import calendar_features
from seqkit.data.time_order import time_order
from seqkit.errors import DataError
from seqkit.inference.predictor import Predictor

if TYPE_CHECKING:
    import pandas as pd

    from seqkit.tasks.forecasting import Forecaster


def numeric_column(values: pd.Series, name: str) -> np.ndarray:
    """One value column as float64 ``(N,)``; a text or other non-number is refused, naming the column and row."""
    import pandas as pd

    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(np.isnan(numbers) & values.notna().to_numpy())
    if len(bad):
        raise DataError(f"Column {name!r} holds {values.iloc[int(bad[0])]!r}, not a number; "
                        "the model reads numbers only.")
    return numbers


def forecast_frame(module: Forecaster, frame: pd.DataFrame | Mapping[str, Sequence[Any]]) -> pd.DataFrame:
    """Forecast the ``horizon`` rows after the last ``lookback`` rows of ``frame``, in original units.

    ``frame`` needs the model's value columns (and its time column when it uses calendar features or to date the
    forecast). Rows are put in time order by the time column when the data has it (a timestamp twice is refused).
    New values are scaled with the training run's train statistics.

    Returns:
        A DataFrame of ``horizon`` rows: the time column (continuing ``frame``'s spacing) when known, then one
        column per forecast value column.
    """
    import pandas as pd

    frame = frame if isinstance(frame, pd.DataFrame) else pd.DataFrame(frame)
    hparams = module.hparams
    spec = hparams.get("series_spec") or {}
    columns, lookback, horizon = spec.get("columns"), hparams["lookback"], hparams["horizon"]
    if not columns:
        raise DataError("This model was saved without its series settings (series_spec); retrain it with seqkit.")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"The data has no column {missing[0]!r}; the model reads {', '.join(columns)}.")
    if len(frame) < lookback:
        raise DataError(f"The model looks back {lookback} rows; the data has {len(frame)}.")
    time_column = spec.get("time_column")
    has_time = bool(time_column) and time_column in frame.columns
    if has_time:  # the last rows in time, and the forecast dated forwards from them
        order = time_order(frame[time_column], time_column, "the data")
        frame = frame if order is None else frame.iloc[order]
    window = frame.iloc[-lookback:]
    values = np.stack([numeric_column(window[name], name) for name in columns], axis=1)
    if not np.isfinite(values).all():
        raise DataError(f"The last {lookback} rows hold a missing or non-finite value; fill them first.")
    scaled = (values - np.asarray(spec["mean"])) / np.asarray(spec["std"])
    inputs = scaled.astype(np.float32)
    if spec.get("calendar_features"):
        if not has_time:
            raise DataError(f"The model uses calendar features: the data needs its time column {time_column!r}.")
        inputs = np.concatenate([inputs, calendar_features(window[time_column])], axis=1)
    device = next(module.parameters()).device
    with torch.inference_mode():
        forecast = module.to_original_units(module(torch.from_numpy(inputs)[None].to(device)))[0].cpu().numpy()
    out: dict[str, Any] = {}
    if has_time:
        times = pd.to_datetime(window[time_column])
        step = times.iloc[-1] - times.iloc[-2] if len(times) > 1 else pd.Timedelta(hours=1)
        out[time_column] = times.iloc[-1] + step * np.arange(1, horizon + 1)
    for index, name in enumerate(columns):
        out[name] = forecast[:, index]
    return pd.DataFrame(out)


class ForecastPredictor(Predictor):
    """A :class:`~seqkit.tasks.Forecaster` with its series settings and train statistics: ``forecast``."""

    def forecast(self, frame: Any) -> Any:
        """The ``horizon`` rows after the last ``lookback`` rows of ``frame`` (a pandas DataFrame or a dict of
        columns), in original units, as a DataFrame (see :func:`forecast_frame`)."""
        return forecast_frame(self.module, frame)
