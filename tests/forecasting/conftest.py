"""Fixtures of the forecasting tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from seqkit.data import DataSource
from tests.forecasting.series import write_series


@pytest.fixture()
def series(tmp_path: Path) -> tuple[DataSource, Path, pd.DataFrame]:
    """``(source, csv path, frame)`` of a 400-row series; borders (200, 300, 400) suit it."""
    path = tmp_path / "series.csv"
    frame = write_series(path)
    return DataSource(data_files={"series": str(path)}), path, frame
