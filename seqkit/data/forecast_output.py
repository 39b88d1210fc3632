"""Forecasts written out: a table of forecasts beside the truth, and a plot of a few windows (used by
:meth:`~seqkit.data.ForecastingDataModule.write_predictions`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd


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
