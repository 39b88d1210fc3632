"""DataModule for text classification: one text column, one label column."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from seqkit.data.base import TRAIN, TextDataModule
from seqkit.data.checks import check_columns, check_labels, label_range
from seqkit.data.collate import PadCollator
from seqkit.data.encoding import Truncation, encode_column
from seqkit.data.options import Batching, Splits
from seqkit.data.sources import DataSource
from seqkit.data.tokenizers import TokenizerConfig
from seqkit.errors import DataError

if TYPE_CHECKING:
    from datasets import Dataset


def warn_if_sparse(dataset: Dataset, column: str, num_classes: int, role: str, where: str) -> None:
    """Warn when classes inferred from the largest label leave some ids unused (e.g. one row labelled 7 in binary
    data makes an 8-class model): the data is probably wrong, or ``num_classes`` / ``label_names`` should be set."""
    present = sorted(pc.unique(dataset.with_format("arrow")[:].column(column)).to_pylist())
    if len(present) == num_classes:
        return
    shown = ", ".join(map(str, present[:10])) + (", ..." if len(present) > 10 else "")
    logging.getLogger("seqkit").warning(
        "Split '%s' (%s) uses labels {%s}: %d classes inferred from the largest label, %d of them never seen. Check "
        "the labels, or set data.init_args.num_classes / label_names.", role, where, shown, num_classes,
        num_classes - len(present))


class TextClassificationDataModule(TextDataModule):
    """Texts with integer (or string) class labels.

    Batches hold ``input_ids`` ``(B, T)``, ``input_lengths`` ``(B,)``, ``input_mask`` ``(B, T)`` and
    ``labels`` ``(B,)``. String labels are mapped to ids in sorted order (or the order of ``label_names``).

    Args:
        source: The dataset; its ``columns`` may map the roles ``text`` and ``label``.
        tokenizer: Tokenizer settings.
        num_classes: Number of classes; inferred from the training labels when ``None``. Labels outside
            ``0..num_classes-1`` are an error.
        label_names: Names of the classes, in id order (also fixes the id of each string label).
        max_length: Longest sequence in tokens; longer texts are cut by ``truncation``.
        truncation: Which part of a long text to keep: ``head``, ``tail`` or ``head+tail``.
        label_map: Maps raw integer labels to class ids before any check, e.g. IMDB ratings 1-4, 7-10 to 0..7
            (``{1: 0, 2: 1, 3: 2, 4: 3, 7: 4, 8: 5, 9: 6, 10: 7}``); a label missing from the map is an error.
        batching: Batch sizes (default 32), bucketing and loader workers.
        splits: Split names, held-out validation, row limits and seed.
    """

    def __init__(
        self,
        source: DataSource,
        tokenizer: TokenizerConfig | None = None,
        num_classes: int | None = None,
        label_names: list[str] | None = None,
        max_length: int = 512,
        truncation: Truncation = "head",
        label_map: dict[int, int] | None = None,
        batching: Batching | None = None,
        splits: Splits | None = None,
    ) -> None:
        super().__init__(source, tokenizer, batching, splits)
        self._num_classes = num_classes
        self.label_names = list(label_names) if label_names else None
        self.max_length = max_length
        self.truncation = truncation
        self.label_map = {int(k): int(v) for k, v in label_map.items()} if label_map else None

    @property
    def label_column(self) -> str:
        return self.source.column("label", "label")

    def column_roles(self) -> dict[str, str]:
        return {**super().column_roles(), "label": self.label_column}

    @property
    def num_classes(self) -> int:
        """Number of classes (read from the training labels when not configured)."""
        _ = self.raw  # loading checks every split's labels (and infers the count when not configured)
        return self._num_classes

    def check_split(self, role: str, dataset: Dataset, where: str) -> Dataset:
        dataset = super().check_split(role, dataset, where)
        check_columns(dataset, [self.label_column], role, where)
        if self.label_map:
            dataset = self._map_labels(role, dataset, where)
        dataset = self._labels_to_ids(role, dataset, where)
        check_labels(dataset, self.label_column, None, role, where)
        if self._num_classes is None:  # the training split comes first
            names = self.label_names
            self._num_classes = len(names) if names else label_range(dataset, self.label_column)[1] + 1
            if self._num_classes < 2:
                raise DataError(f"Split '{role}' ({where}) has a single class; a classifier needs two or more.")
            if not names:
                warn_if_sparse(dataset, self.label_column, self._num_classes, role, where)
        check_labels(dataset, self.label_column, self._num_classes, role, where)
        return dataset

    def _map_labels(self, role: str, dataset: Dataset, where: str) -> Dataset:
        """Replace each raw label by ``label_map[label]`` (vectorised; cached by ``datasets``)."""
        from datasets.fingerprint import Hasher

        column = self.label_column
        check_labels(dataset, column, None, role, where)
        keys = pa.array(list(self.label_map), pa.int64())
        values = pa.array(list(self.label_map.values()), pa.int64())
        found = pc.index_in(dataset.with_format("arrow")[:].column(column).cast(pa.int64()), value_set=keys)
        if found.null_count:
            row = pc.index(pc.is_null(found), True).as_py()
            raise DataError(
                f"Row {row} of split '{role}' ({where}) has label {dataset[row][column]!r}, which label_map "
                f"({sorted(self.label_map)}) does not cover; add it to data.init_args.label_map."
            )

        def remap(batch: pa.Table) -> pa.Table:
            index = pc.index_in(batch.column(column).cast(pa.int64()), value_set=keys)
            return batch.set_column(batch.schema.get_field_index(column), column, pc.take(values, index))

        fingerprint = Hasher.hash([dataset._fingerprint, column, sorted(self.label_map.items())])
        mapped = dataset.with_format("arrow").map(remap, batched=True, new_fingerprint=fingerprint,
                                                  desc=f"Mapping labels of {role}")
        return mapped.with_format(None)

    def _labels_to_ids(self, role: str, dataset: Dataset, where: str) -> Dataset:
        """Cast a string label column to ids (sorted names, or ``label_names`` order)."""
        feature = dataset.features[self.label_column]
        names = getattr(feature, "names", None)
        if names is not None:  # a datasets ClassLabel: already ids
            self.label_names = self.label_names or list(names)
            return dataset
        column = dataset.with_format("arrow")[:].column(self.label_column)
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            return dataset
        if self.label_names is None:
            if role != TRAIN:
                raise DataError(f"String labels in split '{role}' ({where}) need the training split's names first.")
            self.label_names = sorted(v for v in pc.unique(column).to_pylist() if v is not None)
        known = pc.is_in(column, value_set=pa.array(self.label_names))
        if not pc.all(known.fill_null(False)).as_py():
            row = pc.index(known.fill_null(False), False).as_py()
            raise DataError(
                f"Row {row} of split '{role}' ({where}) has label {column[row].as_py()!r}, not one of "
                f"{self.label_names}; fix the data or set data.init_args.label_names."
            )
        from datasets import ClassLabel

        return dataset.cast_column(self.label_column, ClassLabel(names=self.label_names))

    def encode(self, role: str, dataset: Dataset) -> Dataset:
        return encode_column(
            dataset, self.tokenizer, self.source.column("text", "text"), "input_ids",
            max_length=self.max_length, truncation=self.truncation, keep=(self.label_column,),
            desc=f"Tokenising {role}",
        )

    def collator(self) -> PadCollator:
        return PadCollator(self.pad_id, ["input_ids"], {self.label_column: "labels"})
