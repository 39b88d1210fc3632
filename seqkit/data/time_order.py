"""Rows of a series put in time order before anything reads them as a sequence.

A window, a forecast's dates and the split borders all assume rows in time order. Rows given in another order are
sorted by their timestamps (said in one log line); two rows with the same timestamp are refused, since no order
of them is right.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from seqkit.errors import DataError

log = logging.getLogger(__name__)


def timestamps(times: Sequence[Any] | np.ndarray, column: str, where: str) -> np.ndarray:
    """``times`` as ``datetime64[ns]`` ``(N,)``; a missing value or one that is not a timestamp is refused."""
    import pandas as pd

    values = pd.Series(np.asarray(times, dtype=object) if not isinstance(times, pd.Series) else times)
    stamps = pd.to_datetime(values, errors="coerce")
    if not pd.api.types.is_datetime64_any_dtype(stamps):  # mixed time zones come back as objects
        stamps = pd.to_datetime(values, errors="coerce", utc=True)
    missing = np.flatnonzero(stamps.isna().to_numpy())
    if len(missing):
        row = int(missing[0])
        raise DataError(f"The time column {column!r} of {where} holds {values.iloc[row]!r} in row {row}, "
                        "not a timestamp; fix or drop that row.")
    if stamps.dt.tz is not None:  # compared in UTC
        stamps = stamps.dt.tz_convert(None)
    return stamps.to_numpy(dtype="datetime64[ns]")


def time_order(times: Sequence[Any] | np.ndarray, column: str, where: str) -> np.ndarray | None:
    """Row indices that put the rows in time order ``(N,)``, or ``None`` when they already are.

    Raises:
        DataError: A timestamp appears twice (naming it and its rows), or a value is not a timestamp.
    """
    import pandas as pd

    stamps = timestamps(times, column, where)
    steps = np.diff(stamps)
    if (steps > np.timedelta64(0)).all():
        return None
    order = np.argsort(stamps, kind="stable")
    ordered = stamps[order]
    same = np.flatnonzero(ordered[1:] == ordered[:-1])
    if len(same):
        first, second = sorted((int(order[same[0]]), int(order[same[0] + 1])))
        raise DataError(f"The time column {column!r} of {where} holds {pd.Timestamp(ordered[same[0]])} twice "
                        f"(rows {first} and {second}); keep one row per timestamp.")
    log.info("The rows of %s are not in time order: sorted by %r.", where, column)
    return order
