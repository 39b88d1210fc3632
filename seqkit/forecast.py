"""Forecasts in original units: a trained :class:`~seqkit.tasks.Forecaster` on new data, tables and plots.

Used by ``seqkit predict`` (through :meth:`ForecastingDataModule.write_predictions`) and by
``seqkit.load(...).forecast(df)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from seqkit.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

    from seqkit.tasks.forecasting import Forecaster


def forecast_table(starts: np.ndarray, forecasts: np.ndarray, values: np.ndarray, columns: Sequence[str],
                   lookback: int, times: Sequence[Any] | None = None) -> pd.DataFrame:
    """One row per window and forecast step: ``window`` (first input row), ``step`` (1..H), ``row`` (the
    forecast row), ``time`` (its timestamp, when known), then per column ``<col>`` (forecast) and ``<col>_true``.

    Args:
        starts: First input row of each window ``(W,)``.
        forecasts: Forecasts in original units ``(W, H, C)``.
        values: The whole series in original units ``(N, C)``.
        columns: Column names ``C``.
        lookback: Input rows ``L``.
        times: Timestamps of the series rows ``(N,)``.
    """
    import pandas as pd

    n_windows, horizon, _ = forecasts.shape
    rows = (starts[:, None] + lookback + np.arange(horizon)[None, :]).reshape(-1)
    table: dict[str, Any] = {
        "window": np.repeat(starts, horizon),
        "step": np.tile(np.arange(1, horizon + 1), n_windows),
        "row": rows,
    }
    if times is not None:
        table["time"] = np.asarray(times)[rows]
    flat = forecasts.reshape(-1, forecasts.shape[-1])
    for index, name in enumerate(columns):
        table[name] = flat[:, index]
        table[f"{name}_true"] = values[rows, index]
    return pd.DataFrame(table)


def plot_forecasts(forecasts: Mapping[int, np.ndarray], values: np.ndarray, columns: Sequence[str], target: str,
                   lookback: int, path: str | Path, times: Sequence[Any] | None = None,
                   title: str | None = None) -> Path:
    """PNG of forecast vs truth of ``target`` for a few windows: one panel each, look-back, truth and forecast.

    Args:
        forecasts: First input row of a window -> its forecast ``(H, C)`` in original units.
        values: The whole series in original units ``(N, C)``.
        columns: Column names ``C``.
        target: The column to draw.
        lookback: Input rows ``L``.
        path: Output ``.png``.
        times: Timestamps of the series rows (panel titles).
        title: Figure title.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    column = list(columns).index(target)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure = Figure(figsize=(4.2 * len(forecasts), 3.4), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(forecasts), squeeze=False, sharey=True)[0]
    for ax, (start, forecast) in zip(axes, forecasts.items()):
        horizon = len(forecast)
        steps = np.arange(-lookback, horizon)
        ax.plot(steps, values[start: start + lookback + horizon, column], color="0.35", lw=1.0, label="truth")
        ax.plot(np.arange(horizon), forecast[:, column], color="tab:red", lw=1.4, label="forecast")
        ax.axvline(-0.5, color="0.6", ls=":", lw=0.8)
        when = f" ({str(times[start + lookback])[:16]})" if times is not None else ""
        ax.set_title(f"row {start + lookback}{when}", fontsize=9)
        ax.set_xlabel("hours from forecast start")
    axes[0].set_ylabel(target)
    axes[0].legend(loc="best", fontsize=8)
    if title:
        figure.suptitle(title, fontsize=10)
    figure.savefig(path, dpi=110)
    return path


def forecast_frame(module: Forecaster, frame: pd.DataFrame | Mapping[str, Sequence[Any]]) -> pd.DataFrame:
    """Forecast the ``horizon`` rows after the last ``lookback`` rows of ``frame``, in original units.

    ``frame`` needs the model's value columns (and its time column when it uses calendar features or to date the
    forecast); rows in time order. New values are scaled with the training run's train statistics.

    Returns:
        A DataFrame of ``horizon`` rows: the time column (continuing ``frame``'s spacing) when known, then one
        column per forecast value column.
    """
    import pandas as pd

    from seqkit.data.forecasting import calendar_features

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
    window = frame.iloc[-lookback:]
    values = window[columns].to_numpy(dtype=np.float64)
    if not np.isfinite(values).all():
        raise DataError(f"The last {lookback} rows hold a missing or non-finite value; fill them first.")
    scaled = (values - np.asarray(spec["mean"])) / np.asarray(spec["std"])
    time_column = spec.get("time_column")
    has_time = bool(time_column) and time_column in frame.columns
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
