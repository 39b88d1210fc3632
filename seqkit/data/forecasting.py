"""Numeric time series as look-back/horizon windows, under the Informer / Time-Series-Library protocol.

One table (parquet, csv... or a Hub dataset, through :class:`~seqkit.data.sources.DataSource`), its rows put in
time order by the time column (a timestamp twice is refused), is cut by row *borders* into train / validation /
test. A window's inputs are ``lookback`` rows and its targets the ``horizon`` rows after them; validation and
test windows may look back into the split before them (their inputs start at ``border - lookback``). Every value
column is standardised with the mean and standard deviation of the train rows only, and the statistics travel
with the model (see :meth:`series_spec`).
"""

from __future__ import annotations

import json
import logging
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import lightning as L
import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from seqkit.data.base import check_one_per_rank, check_own_sharding, rank_and_size
from seqkit.data.forecast_output import forecast_table, plot_forecasts
from seqkit.data.info import DataInfo
from seqkit.data.options import TEST, TRAIN, VALIDATION, Batching, Splits
from seqkit.data.resumable import ResumableDataLoader, training_position
from seqkit.data.sampler import BucketBatchSampler, ShardSampler
from seqkit.data.sources import DataSource, describe_split, load_splits
from seqkit.data.time_order import time_order
from seqkit.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

ROLES = (TRAIN, VALIDATION, TEST)
#: The ETTh1/ETTh2 borders of Informer (12 / 4 / 4 months of hours): ends of train, validation and test.
ETT_HOUR_BORDERS = (12 * 30 * 24, 16 * 30 * 24, 20 * 30 * 24)
#: Calendar features (Time-Series-Library ``timeenc=1`` for hourly data), each scaled to [-0.5, 0.5].
CALENDAR_FEATURES = ("hour_of_day", "day_of_week", "day_of_month", "day_of_year")
Features = Literal["M", "S"]


def split_ranges(n_rows: int, borders: tuple[int, int, int] | None, lookback: int) -> dict[str, tuple[int, int]]:
    """First and end row of each split's windows: ``{role: (start, end)}``, inputs of the first window at ``start``.

    ``borders`` ends train, validation and test; ``None`` takes 70 / 10 / 20 % of the rows (Time-Series-Library's
    rule for other data sets). Validation and test start ``lookback`` rows before their border.
    """
    if borders is None:
        train_end = int(n_rows * 0.7)
        test_len = int(n_rows * 0.2)
        borders = (train_end, n_rows - test_len, n_rows)
    train_end, val_end, test_end = borders
    if not 0 < train_end < val_end < test_end <= n_rows:
        raise DataError(f"borders must satisfy 0 < train < validation < test <= {n_rows} rows, got {list(borders)}.")
    return {TRAIN: (0, train_end), VALIDATION: (train_end - lookback, val_end), TEST: (val_end - lookback, test_end)}


def window_starts(start: int, end: int, lookback: int, horizon: int) -> Tensor:
    """Input start rows of every stride-1 window whose inputs and targets lie in ``[start, end)``: ``(W,)``."""
    return torch.arange(start, max(end - lookback - horizon + 1, start))


def calendar_features(times: pd.Series | np.ndarray) -> np.ndarray:
    """``(N, 4)`` hour of day, day of week, day of month, day of year, each in [-0.5, 0.5]."""
    import pandas as pd

    index = pd.DatetimeIndex(times)
    return np.stack([
        index.hour / 23.0 - 0.5,
        index.day_of_week / 6.0 - 0.5,
        (index.day - 1) / 30.0 - 0.5,
        (index.day_of_year - 1) / 365.0 - 0.5,
    ], axis=1).astype(np.float32)


class WindowDataset(Dataset):
    """Windows over one series, fetched a whole batch at a time by tensor indexing (no per-window Python work).

    Args:
        inputs: Model inputs per row ``(N, C_in)`` (standardised values, then calendar features).
        targets: Targets per row ``(N, C_out)`` (standardised).
        starts: Input start row of each window ``(W,)``.
        lookback: Input rows ``L``.
        horizon: Target rows ``H``.
    """

    def __init__(self, inputs: Tensor, targets: Tensor, starts: Tensor, lookback: int, horizon: int) -> None:
        self.inputs, self.targets, self.starts = inputs, targets, starts
        self.input_offsets = torch.arange(lookback)
        self.target_offsets = torch.arange(lookback, lookback + horizon)

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        return {k: v[0] for k, v in self.__getitems__([index]).items()}

    def __getitems__(self, indices: list[int]) -> dict[str, Tensor]:
        """``{"x": (B, L, C_in), "y": (B, H, C_out), "start": (B,)}`` for the windows ``indices``."""
        starts = self.starts[torch.as_tensor(indices, dtype=torch.long)]
        return {
            "x": self.inputs[starts[:, None] + self.input_offsets],
            "y": self.targets[starts[:, None] + self.target_offsets],
            "start": starts,
        }


def _whole_batch(batch: dict[str, Tensor]) -> dict[str, Tensor]:
    """Collate for :class:`WindowDataset`: its ``__getitems__`` already returns the batch."""
    return batch


class ForecastingDataModule(L.LightningDataModule):
    """Look-back / horizon windows of a numeric series with train-only standardisation.

    ``num_inputs``, ``num_targets``, ``lookback``, ``horizon`` and ``series_spec`` (columns and train statistics)
    flow into the model through the seqkit CLI, so a recipe states them once, here.

    Args:
        source: Where the series comes from; its ``series_split`` file (``<name>/series.parquet``) holds every row
            in time order.
        series_split: The split (file stem) holding the series.
        lookback: Input rows ``L`` of each window.
        horizon: Rows ``H`` to forecast.
        features: ``M``: every value column in and out; ``S``: the ``target`` column only.
        target: The target column (``S`` setting; also listed first in plots).
        time_column: The timestamp column (not a feature); ``None`` if there is none.
        columns: The value columns, in order; default every column but ``time_column``.
        borders: Row indices ending train, validation and test (rows after the last are unused). Default: the
            ETTh1 borders 8,640 / 11,520 / 14,400; ``null`` takes 70 / 10 / 20 % of the rows.
        calendar_features: Add hour of day, day of week, day of month and day of year (in [-0.5, 0.5]) to the
            inputs; needs ``time_column``.
        batching: Windows per batch (default 32), loader workers. Windows all have one length: ``max_tokens``,
            ``bucketing`` and ``pool_factor`` are refused.
        splits: ``max_rows``: use only this many windows of each split, evenly spaced, for quick runs and tests
            (the protocol's figures need every window, the default); ``seed``: the training order. The splits are
            cut by ``borders``: split names and ``val_from_train`` are refused.
    """

    def __init__(
        self,
        source: DataSource,
        series_split: str = "series",
        lookback: int = 96,
        horizon: int = 96,
        features: Features = "M",
        target: str = "OT",
        time_column: str | None = "date",
        columns: list[str] | None = None,
        borders: tuple[int, int, int] | None = ETT_HOUR_BORDERS,
        calendar_features: bool = False,
        batching: Batching | None = None,
        splits: Splits | None = None,
    ) -> None:
        super().__init__()
        if lookback < 1 or horizon < 1:
            raise DataError(f"lookback and horizon must be positive, got {lookback} and {horizon}.")
        if features not in ("M", "S"):
            raise DataError(f"features must be 'M' (all columns) or 'S' (target only), got {features!r}.")
        if calendar_features and not time_column:
            raise DataError("calendar_features needs the time_column holding each row's timestamp.")
        self.source, self.series_split = source, series_split
        self.lookback, self.horizon = lookback, horizon
        self.features, self.target = features, target
        self.time_column = time_column
        self.columns_arg = list(columns) if columns else None
        self.borders = tuple(borders) if borders is not None else None
        self.calendar_features = calendar_features
        self.batching = (batching or Batching()).with_defaults(32)
        self.splits = splits or Splits()
        self.batching.refuse(("max_tokens", "bucketing", "pool_factor"), type(self).__name__, "windows of one length")
        self.splits.refuse(("train", "validation", "test", "val_from_train"), type(self).__name__, "borders cut splits")

    def split_roles(self) -> dict[str, str]:
        """``{role: split name}``: one split holds the whole series (``borders`` cut it)."""
        return {"series": self.series_split}

    def column_roles(self) -> dict[str, str]:
        """``{role: column}`` of the time and target columns (the values are every other column unless listed)."""
        return {**({"time": self.time_column} if self.time_column else {}), "target": self.target}

    # ----------------------------------------------------------------- the series, loaded once
    @cached_property
    def series(self) -> dict[str, Any]:
        """``values`` (N, C) float64 in original units, ``times`` (N,) or None, ``columns``, ``mean``, ``std``."""
        return self._load()

    def _load(self) -> dict[str, Any]:
        dataset = load_splits(self.source, [self.series_split])[self.series_split]
        where = describe_split(self.source, self.series_split)
        names = list(dataset.column_names)
        if self.time_column and self.time_column not in names:
            raise DataError(f"{where} has no time column {self.time_column!r} (columns: {', '.join(names)}).")
        columns = self.columns_arg or [c for c in names if c != self.time_column]
        missing = [c for c in [*columns, self.target] if c not in names]
        if missing:
            raise DataError(f"{where} has no column {missing[0]!r} (columns: {', '.join(names)}).")
        if self.features == "S":
            columns = [self.target]
        table = dataset.with_format("arrow")[:]  # whole columns through Arrow, not row by row
        values = np.stack([self._numbers(table, c, where) for c in columns], axis=1)
        if not np.isfinite(values).all():
            row = int(np.argwhere(~np.isfinite(values))[0, 0])
            raise DataError(f"{where} has a missing or non-finite value in row {row}; fill or drop it first.")
        times = table.column(self.time_column).to_numpy(zero_copy_only=False) if self.time_column else None
        order = time_order(times, self.time_column, where) if times is not None else None
        if order is not None:  # borders and windows count rows in time order
            values, times = values[order], times[order]
        ranges = split_ranges(len(values), self.borders, self.lookback)
        shortest = min(end - start for start, end in ranges.values())
        if shortest < self.lookback + self.horizon:
            raise DataError(f"A split of {where} is {shortest} rows long, shorter than lookback + horizon "
                            f"({self.lookback} + {self.horizon}); choose other borders or a shorter window.")
        train = values[: ranges[TRAIN][1]]
        mean, std = train.mean(axis=0), train.std(axis=0)  # train rows only; population std as in scikit-learn
        if (std == 0).any():
            raise DataError(f"Column {columns[int(np.argmin(std))]!r} is constant over the train rows of {where}.")
        return {"values": values, "times": times, "columns": columns, "mean": mean, "std": std, "ranges": ranges}

    @staticmethod
    def _numbers(table: Any, column: str, where: str) -> np.ndarray:
        """One value column as float64 ``(N,)``; text in it is refused naming the column."""
        try:
            return table.column(column).to_numpy(zero_copy_only=False).astype(np.float64)
        except (TypeError, ValueError) as error:
            raise DataError(f"Column {column!r} of {where} must be numeric: {error}") from None

    # ----------------------------------------------------------------- values the model needs (linked by the CLI)
    @property
    def num_targets(self) -> int:
        """Output channels ``C_out``: the value columns (they are also the first ``C_out`` input channels)."""
        return len(self.series["columns"])

    @property
    def num_inputs(self) -> int:
        """Input channels ``C_in``: the value columns, then the calendar features."""
        return self.num_targets + (len(CALENDAR_FEATURES) if self.calendar_features else 0)

    @property
    def series_spec(self) -> dict[str, Any]:
        """What scaling new data needs: value columns, train mean and std, time column, calendar features."""
        series = self.series
        return {
            "columns": list(series["columns"]),
            "mean": [float(v) for v in series["mean"]],
            "std": [float(v) for v in series["std"]],
            "time_column": self.time_column,
            "calendar_features": self.calendar_features,
        }

    # ----------------------------------------------------------------- scaling
    def scale(self, values: np.ndarray) -> np.ndarray:
        """Original units -> standardised, ``(..., C)``."""
        return (values - self.series["mean"]) / self.series["std"]

    def unscale(self, values: np.ndarray | Tensor) -> np.ndarray:
        """Standardised -> original units, ``(..., C)``."""
        values = values.detach().cpu().double().numpy() if isinstance(values, Tensor) else values
        return values * self.series["std"] + self.series["mean"]

    # ----------------------------------------------------------------- windows
    def windows(self, role: str) -> WindowDataset:
        """Every window of one split (or the ``max_rows`` subset)."""
        series = self.series
        scaled = torch.from_numpy(self.scale(series["values"])).float()
        inputs = scaled
        if self.calendar_features:
            inputs = torch.cat([scaled, torch.from_numpy(calendar_features(series["times"]))], dim=1)
        starts = window_starts(*series["ranges"][role], self.lookback, self.horizon)
        limit = self.splits.rows(role)
        if limit is not None and limit < len(starts):
            starts = starts[torch.linspace(0, len(starts) - 1, limit).round().long()]
        return WindowDataset(inputs, scaled, starts, self.lookback, self.horizon)

    def setup(self, stage: str | None = None) -> None:
        self.datasets = {role: self.windows(role) for role in ROLES}
        trainer = self.trainer
        if trainer is not None:
            log_dir = trainer.log_dir  # a collective call under DDP: every rank must make it
            if log_dir and trainer.is_global_zero:
                self.save_scaler(Path(log_dir) / "scaler.json")
        check_own_sharding(trainer)

    def data_info(self) -> DataInfo:
        """What tasks read besides the batches: nothing (the forecaster's settings are linked by the CLI)."""
        return DataInfo()

    def save_scaler(self, path: Path) -> None:
        """Write the train statistics (``series_spec``) as JSON into the run directory."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.series_spec, indent=2) + "\n")

    def _loader(self, role: str, train: bool) -> DataLoader:
        """Random batches of windows for training (a new order each epoch from ``seed + epoch``), windows in time
        order for evaluation; under DDP each rank takes its share, every window on exactly one rank."""
        dataset, batching = self.datasets[role], self.batching
        rank, world_size = rank_and_size(self.trainer)
        check_one_per_rank(role, len(dataset), world_size, unit="windows")
        sampler = BucketBatchSampler(np.ones(len(dataset)), batching.batch_size if train else batching.eval_batch_size,
                                     shuffle=train, bucket=False, seed=self.splits.seed, num_replicas=world_size,
                                     rank=rank)
        # Training loaders resume mid-epoch from a checkpoint (seqkit.data.resumable).
        loader_class, extra = (ResumableDataLoader, {"position": self._train_position}) if train else (DataLoader, {})
        return loader_class(dataset, batch_sampler=sampler, collate_fn=_whole_batch, num_workers=batching.num_workers,
                            persistent_workers=batching.num_workers > 0, **extra)

    def _train_position(self) -> tuple[int, int]:
        return training_position(self.trainer)

    def train_dataloader(self) -> DataLoader:
        return self._loader(TRAIN, train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(VALIDATION, train=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(TEST, train=False)

    def predict_dataloader(self) -> DataLoader:
        """Every test window in time order; under DDP each rank forecasts a contiguous part of them."""
        dataset = self.datasets[TEST]
        rank, world_size = rank_and_size(self.trainer)
        check_one_per_rank(TEST, len(dataset), world_size, unit="windows")
        return DataLoader(dataset, sampler=ShardSampler(len(dataset), world_size, rank),
                          batch_size=self.batching.eval_batch_size, collate_fn=_whole_batch,
                          num_workers=self.batching.num_workers)

    # ----------------------------------------------------------------- predictions in original units
    def write_predictions(self, batches: list[dict[str, Tensor]], run_dir: Path) -> list[Path]:
        """Write ``forecasts.parquet`` (original units, one row per window and step) and ``forecasts.png``.

        ``batches`` are the Forecaster's ``predict_step`` outputs (``start`` and ``forecast`` in original units).
        """

        starts = torch.cat([b["start"] for b in batches]).numpy()
        forecasts = torch.cat([b["forecast"] for b in batches]).double().numpy()
        series = self.series
        table = forecast_table(starts, forecasts, series["values"], series["columns"], self.lookback,
                               series["times"])
        path = run_dir / "forecasts.parquet"
        table.to_parquet(path, index=False)
        picks = starts[np.linspace(0, len(starts) - 1, min(4, len(starts))).round().astype(int)]
        target = self.target if self.target in series["columns"] else series["columns"][-1]
        chosen = {int(s): forecasts[int(np.searchsorted(starts, s))] for s in picks}
        plot = plot_forecasts(chosen, series["values"], series["columns"], target, self.lookback,
                              run_dir / "forecasts.png", times=series["times"])
        return [path, plot]
