"""Checks that run on raw splits before any tokenisation or training.

Each check works on the Arrow columns (vectorised, no Python loop over rows) and raises :class:`DataError` with
the split, the file, the column and the first offending row, so a bad file is found in seconds, not after an
epoch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from seqkit.errors import DataError

if TYPE_CHECKING:
    from datasets import Dataset


def _arrow_column(dataset: Dataset, column: str) -> pa.ChunkedArray:
    table = dataset.with_format("arrow")[:]
    return table.column(column)


def _first_true(mask: pa.ChunkedArray | pa.Array) -> int:
    return pc.index(mask.fill_null(True), True).as_py()


def _refuse_nulls(values: pa.ChunkedArray, problem: str) -> None:
    """Raise ``Row <first null> <problem>`` if ``values`` has a missing value."""
    if values.null_count:
        raise DataError(f"Row {_first_true(pc.is_null(values))} {problem}")


def check_not_empty(dataset: Dataset, split: str, where: str) -> None:
    if len(dataset) == 0:
        raise DataError(f"Split '{split}' ({where}) has no rows; point the recipe at a split with data.")


def check_columns(dataset: Dataset, columns: list[str], split: str, where: str) -> None:
    """Every column in ``columns`` exists in ``dataset``."""
    for column in columns:
        if column not in dataset.column_names:
            raise DataError(
                f"Column '{column}' not found in split '{split}' ({where}); it has: "
                f"{', '.join(dataset.column_names)}. Map it with data.init_args.source.columns."
            )


def check_text(dataset: Dataset, column: str, split: str, where: str) -> None:
    """``column`` holds strings, with no missing values."""
    values = _arrow_column(dataset, column)
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        raise DataError(
            f"Column '{column}' in split '{split}' ({where}) holds {values.type} values, not text; "
            "map the text column with data.init_args.source.columns."
        )
    _refuse_nulls(values, f"of column '{column}' in split '{split}' ({where}) is empty (null), not text.")


def check_labels(dataset: Dataset, column: str, num_classes: int | None, split: str, where: str) -> None:
    """``column`` holds integer class ids, with none missing, in ``0..num_classes-1`` (range unchecked if ``None``)."""
    values = _arrow_column(dataset, column)
    if not pa.types.is_integer(values.type):
        raise DataError(
            f"Column '{column}' in split '{split}' ({where}) holds {values.type} values; labels must be integer "
            "class ids 0..C-1 (or strings, mapped to ids in sorted order)."
        )
    _refuse_nulls(values, f"of label column '{column}' in split '{split}' ({where}) has no label.")
    if num_classes is None:
        return
    outside = pc.or_(pc.less(values, 0), pc.greater_equal(values, num_classes))
    if pc.any(outside).as_py():
        row = _first_true(outside)
        value = values[row].as_py()
        raise DataError(
            f"Row {row} of split '{split}' ({where}) has label {value} in column '{column}', "
            f"outside 0..{num_classes - 1}; fix the data or set data.init_args.num_classes."
        )


def label_range(dataset: Dataset, column: str) -> tuple[int, int]:
    """Smallest and largest value of an integer label column."""
    result = pc.min_max(_arrow_column(dataset, column))
    return result["min"].as_py(), result["max"].as_py()
