"""Length bucketing: padding waste, DDP sharding, epochs, token budgets; and collation."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
import torch

from seqkit.data import BucketBatchSampler, PadCollator, padding_fraction
from seqkit.data.classification import TextClassificationDataModule
from seqkit.data.encoding import sequence_lengths, truncate
from seqkit.data.options import Splits
from seqkit.data.sampler import ShardSampler, equal_shares
from seqkit.data.sources import DataSource
from seqkit.data.tokenizers import TokenizerConfig


@pytest.fixture(scope="module")
def imdb_lengths(data_root) -> np.ndarray:
    """Token lengths of a 2,000-review random slice of IMDB train (word level, no truncation)."""
    module = TextClassificationDataModule(
        DataSource(name="imdb"), TokenizerConfig(kind="word", vocab_size=30000), max_length=100_000,
        splits=Splits(validation=None, test=None, max_rows=2000),
    )
    module.setup("fit")
    return sequence_lengths(module.encoded["train"])


@pytest.mark.full_data
def test_bucketing_keeps_padding_small_on_imdb(imdb_lengths):
    assert len(imdb_lengths) == 2000
    bucketed = BucketBatchSampler(imdb_lengths, 32, shuffle=True, seed=0)
    random = BucketBatchSampler(imdb_lengths, 32, shuffle=True, bucket=False, seed=0)
    with_buckets = padding_fraction(imdb_lengths, list(bucketed))
    without = padding_fraction(imdb_lengths, list(random))
    print(f"IMDB 2,000 reviews, batch 32: padding {with_buckets:.3f} with bucketing, {without:.3f} without")
    assert with_buckets < 0.15
    assert without > 0.4


def test_every_example_once_per_epoch_and_new_order_each_epoch():
    lengths = np.random.default_rng(0).integers(1, 100, size=1003)
    sampler = BucketBatchSampler(lengths, 16, pool_factor=4, seed=3)
    first = list(sampler)
    assert sorted(i for batch in first for i in batch) == list(range(1003))
    sampler.set_epoch(1)
    assert list(sampler) != first
    sampler.set_epoch(0)
    assert list(sampler) == first  # reproducible from (seed, epoch)


@pytest.mark.parametrize(("size", "shuffle"), [(999, True), (999, False), (5, False), (3, True)])
def test_ddp_ranks_share_every_example_exactly_once_in_equal_steps(size, shuffle):
    lengths = np.random.default_rng(1).integers(1, 50, size=size)
    shards = [list(BucketBatchSampler(lengths, 10, num_replicas=3, rank=r, seed=5, shuffle=shuffle))
              for r in range(3)]
    assert len({len(s) for s in shards}) == 1 and len(shards[0]) >= 1  # same number of steps on every rank
    seen = [i for shard in shards for batch in shard for i in batch]
    assert sorted(seen) == list(range(size))  # no example repeated, none left out
    full = [list(b) for b in BucketBatchSampler(lengths, 10, seed=5, shuffle=shuffle)]  # one order on every rank
    interleaved = [batch for step in zip(*shards, strict=True) for batch in step]
    assert [i for b in interleaved for i in b] == [i for b in full for i in b]  # only cut, never reordered


def test_equal_shares_halves_the_largest_batches_or_merges_when_examples_are_few():
    batches = [np.arange(0, 10), np.arange(10, 14), np.arange(14, 24)]
    shared = equal_shares(batches, 2)
    assert [len(b) for b in shared] == [5, 5, 4, 10]
    assert [len(b) for b in equal_shares([np.array([0]), np.array([1]), np.array([2])], 2)] == [2, 1]
    with pytest.raises(ValueError, match="each needs one"):
        equal_shares([np.array([0])], 2)


def test_shard_sampler_gives_each_rank_a_contiguous_part_in_order():
    parts = [list(ShardSampler(10, 3, rank)) for rank in range(3)]
    assert parts == [[0, 1, 2], [3, 4, 5], [6, 7, 8, 9]]


def test_max_tokens_caps_padded_batch_size():
    lengths = np.random.default_rng(2).integers(1, 200, size=500)
    sampler = BucketBatchSampler(lengths, 64, max_tokens=1000, shuffle=True)
    batches = list(sampler)
    assert all(len(b) * lengths[b].max() <= 1000 or len(b) == 1 for b in batches)
    assert sorted(i for b in batches for i in b) == list(range(500))


def test_evaluation_order_is_deterministic_and_complete():
    lengths = [5, 1, 3, 3, 9, 2]
    batches = list(BucketBatchSampler(lengths, 4, shuffle=False))
    assert batches == [[1, 5, 2, 3], [0, 4]]
    in_order = list(BucketBatchSampler(lengths, 4, shuffle=False, bucket=False))
    assert in_order == [[0, 1, 2, 3], [4, 5]]


def test_pad_collator_pads_to_longest_with_lengths_and_mask():
    table = pa.table({"input_ids": [[5, 6, 7], [8], []], "label": [1, 0, 1]})
    batch = PadCollator(pad_id=0, scalar_columns={"label": "labels"})(table)
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 0, 0], [0, 0, 0]]
    assert batch["input_lengths"].tolist() == [3, 1, 0]
    assert batch["input_mask"].tolist() == [[True, True, True], [True, False, False], [False, False, False]]
    assert batch["labels"].dtype == torch.int64 and batch["labels"].tolist() == [1, 0, 1]


def test_collator_handles_sliced_arrow_batches():
    table = pa.table({"input_ids": [[1], [2, 3], [4, 5, 6], [7]]}).slice(1, 2)
    assert PadCollator(pad_id=9)(table)["input_ids"].tolist() == [[2, 3, 9], [4, 5, 6]]


@pytest.mark.parametrize("policy, expected", [
    ("head", [0, 1, 2, 3]), ("tail", [6, 7, 8, 9]), ("head+tail", [0, 7, 8, 9]),
])
def test_truncation_policies(policy, expected):
    assert truncate(list(range(10)), 4, policy) == expected
    assert truncate([1, 2], 4, policy) == [1, 2]
