"""A tiny hourly series for the forecasting tests, written as a file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def write_series(path: Path, rows: int = 400, seed: int = 0) -> pd.DataFrame:
    """An hourly table: ``date``, two noisy daily waves ``a`` and ``b`` and a target ``OT``, written to ``path``."""
    rng = np.random.default_rng(seed)
    t = np.arange(rows)
    frame = pd.DataFrame({
        "date": pd.date_range("2020-01-01", periods=rows, freq="h"),
        "a": 10 + 3 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 0.3, rows),
        "b": 5 * np.cos(2 * np.pi * t / 12) + rng.normal(0, 0.3, rows),
        "OT": 20 + 0.01 * t + 2 * np.sin(2 * np.pi * t / 24 + 1.0) + rng.normal(0, 0.2, rows),
    })
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return frame


