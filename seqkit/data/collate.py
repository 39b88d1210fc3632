"""Batch collation with dynamic padding: each batch is padded to its own longest sequence."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
import torch
from torch.utils.data import Dataset as TorchDataset

from seqkit.data.encoding import pad_ids


class ArrowBatches(TorchDataset):
    """Serves whole batches of a ``datasets.Dataset`` as Arrow tables.

    ``DataLoader`` calls ``__getitems__`` with a batch sampler's index list, so a batch is one Arrow ``take``
    instead of one Python dict per example.
    """

    def __init__(self, dataset) -> None:
        self.dataset = dataset.with_format("arrow")

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> pa.Table:
        return self.dataset[[index]]

    def __getitems__(self, indices: Sequence[int]) -> pa.Table:
        return self.dataset[list(indices)]


class PadCollator:
    """Turns an Arrow batch into padded tensors.

    For each id column ``<name>_ids`` it returns ``<name>_ids`` ``(B, T)`` (padded with ``pad_id``),
    ``<name>_lengths`` ``(B,)`` and ``<name>_mask`` ``(B, T)`` (``True`` on real tokens). Other columns named in
    ``scalar_columns`` become ``(B,)`` tensors (e.g. ``labels``).

    Args:
        pad_id: Padding id.
        id_columns: Columns holding token-id lists, each ending in ``_ids``.
        scalar_columns: ``{column: key}`` of per-example numbers to pass through.
    """

    def __init__(
        self, pad_id: int, id_columns: Sequence[str] = ("input_ids",), scalar_columns: dict[str, str] | None = None
    ) -> None:
        self.pad_id = pad_id
        self.id_columns = list(id_columns)
        self.scalar_columns = dict(scalar_columns or {})

    def __call__(self, table: pa.Table) -> dict[str, torch.Tensor]:
        if isinstance(table, list):  # a DataLoader without batched fetching hands over single-row tables
            table = pa.concat_tables(table)
        batch: dict[str, torch.Tensor] = {}
        for column in self.id_columns:
            name = column.removesuffix("_ids")
            ids, lengths = pad_ids(table.column(column), self.pad_id)
            ids_t, lengths_t = torch.from_numpy(ids), torch.from_numpy(lengths)
            batch[column] = ids_t
            batch[f"{name}_lengths"] = lengths_t
            batch[f"{name}_mask"] = torch.arange(ids_t.shape[1]) < lengths_t[:, None]
        for column, key in self.scalar_columns.items():
            batch[key] = torch.tensor(table.column(column).to_numpy())
        return batch
