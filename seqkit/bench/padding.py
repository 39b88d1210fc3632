"""Share of padding in an epoch of a recipe's batches, with and without length bucketing."""

from __future__ import annotations

from typing import Literal

import numpy as np
import yaml
from jsonargparse.typing import PositiveInt

from seqkit.errors import SeqkitError


def recipe_data_module(recipe: str, overrides: dict[str, dict]):
    """Instantiate the ``data`` section of a recipe (with ``init_args`` overrides) without a model or trainer."""
    import lightning as L
    from jsonargparse import ArgumentParser

    with open(recipe) as handle:
        data = (yaml.safe_load(handle) or {}).get("data")
    if not data:
        raise SeqkitError(f"{recipe} has no data section.")
    init_args = data.get("init_args") or {}  # an override {"splits": {"max_rows": 100}} updates one group's fields
    data = {**data, "init_args": {**init_args, **{k: {**(init_args.get(k) or {}), **v} for k, v in overrides.items()}}}
    parser = ArgumentParser(exit_on_error=False)
    parser.add_subclass_arguments(L.LightningDataModule, "data")
    return parser.instantiate_classes(parser.parse_object({"data": data})).data


def epoch_padding(lengths: np.ndarray, batch_size: int, max_tokens: int | None, bucket: bool, seed: int = 0) -> dict:
    """Padding fraction, batches and padded tokens of one shuffled training epoch over ``lengths`` ``(N,)``."""
    from seqkit.data.sampler import BucketBatchSampler, padding_fraction

    sampler = BucketBatchSampler(lengths, batch_size, max_tokens=max_tokens, bucket=bucket, seed=seed)
    batches = list(sampler)
    padded = sum(len(b) * int(lengths[np.asarray(b)].max()) for b in batches)
    return {"padding": padding_fraction(lengths, batches), "batches": len(batches), "padded_tokens": padded}


def bench(*, recipe: str, split: Literal["train", "validation", "test"] = "train",
          max_rows: PositiveInt | None = None) -> int:
    """Share of padding in an epoch of a recipe's batches, with and without length bucketing.

    Args:
        recipe: a recipe whose data module pads batches (classification...)
        split: the split to measure
        max_rows: use only this many rows of each split
    """

    from seqkit.data.encoding import sequence_lengths

    overrides = {"splits": {"max_rows": max_rows}} if max_rows else {}
    data = recipe_data_module(recipe, overrides)
    if not callable(getattr(data, "length_column", None)):
        raise SeqkitError(f"{type(data).__name__} has no padded batches to measure.")
    data.prepare_data()
    data.setup("fit" if split != "test" else "test")
    if split not in data.encoded:
        raise SeqkitError(f"The recipe's data has no {split} split.")
    lengths = sequence_lengths(data.encoded[split], data.length_column())
    print(f"{recipe} [{split}]: {len(lengths):,} examples, {int(lengths.sum()):,} tokens, "
          f"length mean {lengths.mean():.1f}, max {lengths.max()}; batch_size {data.batching.batch_size}, "
          f"max_tokens {data.batching.max_tokens}")
    print("| batching | batches | padded tokens | padding fraction |")
    print("|---|---|---|---|")
    for bucket in (True, False):
        result = epoch_padding(lengths, data.batching.batch_size, data.batching.max_tokens, bucket, data.splits.seed)
        print(f"| {'bucketed' if bucket else 'random'} | {result['batches']:,} | {result['padded_tokens']:,} | "
              f"{result['padding']:.3f} |")
    return 0
