"""Tokenisation of whole splits through ``datasets.map`` (batched, cached on disk by fingerprint)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    from datasets import Dataset

    from seqkit.data.tokenizers import Tokenizer

Truncation = Literal["head", "tail", "head+tail"]


def truncate(ids: list[int], max_length: int, policy: Truncation = "head") -> list[int]:
    """Keep at most ``max_length`` ids: the first (``head``), the last (``tail``), or the first quarter and last
    three quarters (``head+tail``, the split that worked best for long reviews in Sun et al. 2019)."""
    if len(ids) <= max_length:
        return ids
    if policy == "head":
        return ids[:max_length]
    if policy == "tail":
        return ids[len(ids) - max_length :]
    head = max_length // 4
    return ids[:head] + ids[len(ids) - (max_length - head) :]


def encode_column(
    dataset: Dataset,
    tokenizer: Tokenizer,
    column: str,
    output: str = "input_ids",
    *,
    max_length: int | None = None,
    truncation: Truncation = "head",
    add_bos: bool = False,
    add_eos: bool = False,
    keep: tuple[str, ...] = (),
    desc: str | None = None,
) -> Dataset:
    """Add column ``output`` with the token ids of ``column``; drop every other column not in ``keep``.

    The result is cached by ``datasets`` under a fingerprint of (input data, tokenizer, settings), so the same
    set-up a second time, even in a new process, reads the cache instead of tokenising again.
    """
    from datasets.fingerprint import Hasher

    prefix = [tokenizer.bos_id] if add_bos else []
    suffix = [tokenizer.eos_id] if add_eos else []
    budget = None if max_length is None else max_length - len(prefix) - len(suffix)

    def encode(batch: dict[str, list]) -> dict[str, list]:
        ids = tokenizer.encode_batch(batch[column])
        if budget is not None:
            ids = [truncate(row, budget, truncation) for row in ids]
        if prefix or suffix:
            ids = [prefix + row + suffix for row in ids]
        return {output: ids}

    fingerprint = Hasher.hash(
        [dataset._fingerprint, tokenizer.fingerprint, column, output, max_length, truncation, add_bos, add_eos, keep]
    )
    remove = [c for c in dataset.column_names if c not in keep and c != output]
    return dataset.map(
        encode, batched=True, batch_size=1000, remove_columns=remove, new_fingerprint=fingerprint,
        desc=desc or f"Tokenising {column}",
    )


def sequence_lengths(dataset: Dataset, column: str = "input_ids") -> np.ndarray:
    """Length of every row's id list, read from the Arrow offsets (no Python loop). Shape ``(N,)``."""
    values = dataset.with_format("arrow")[:].column(column)
    return pc.list_value_length(values).to_numpy(zero_copy_only=False).astype(np.int64)


def pad_ids(values: pa.Array | pa.ChunkedArray, pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Pad an Arrow list-of-ints column into a matrix.

    Returns:
        ``ids`` of shape ``(B, T)`` (``T`` = longest row, at least 1) and ``lengths`` of shape ``(B,)``.
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    lengths = pc.list_value_length(values).to_numpy(zero_copy_only=False).astype(np.int64)
    flat = values.flatten().to_numpy(zero_copy_only=False)
    width = max(int(lengths.max(initial=0)), 1)
    ids = np.full((len(lengths), width), pad_id, dtype=np.int64)
    ids[np.arange(width) < lengths[:, None]] = flat  # row-major fill keeps each row's order
    return ids, lengths
