"""Length-bucketing batch sampler that shards batches across DDP ranks itself."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import KW_ONLY, dataclass, field

import numpy as np
from torch.utils.data import Sampler


@dataclass(eq=False, repr=False)
class BucketBatchSampler(Sampler[list[int]]):
    """Batches of examples of similar length, so little of each batch is padding.

    Shuffles all indices, cuts them into pools of ``batch_size * pool_factor`` examples, sorts each pool by length
    and cuts it into batches, then shuffles the batch order. Every epoch (``set_epoch``) draws a new order from
    ``seed + epoch``, identical on every rank. Under DDP each rank takes every ``num_replicas``-th batch; the
    batch list is first padded by repeating batches so that all ranks run the same number of steps.

    Args:
        lengths: Length of every example, shape ``(N,)`` (any sequence of ints).
        batch_size: Examples per batch (an upper bound when ``max_tokens`` is set).
        max_tokens: If set, also cap each batch at this many padded tokens (``len(batch) * longest``).
        shuffle: Random order (training). Without it, examples are sorted by length once (evaluation).
        bucket: Sort pools by length. ``False`` gives plain random batches (for comparison).
        pool_factor: Pool size in batches: larger pools pad less but are less random.
        drop_last: Drop the last, smaller batch of each pool.
        seed: Base seed of the shuffling.
        num_replicas: Number of DDP ranks (world size).
        rank: This process's rank.
    """

    lengths: np.ndarray
    batch_size: int
    _: KW_ONLY
    max_tokens: int | None = None
    shuffle: bool = True
    bucket: bool = True
    pool_factor: int = 50
    drop_last: bool = False
    seed: int = 0
    num_replicas: int = 1
    rank: int = 0
    epoch: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")
        if not 0 <= self.rank < self.num_replicas:
            raise ValueError(f"rank {self.rank} is outside 0..{self.num_replicas - 1}")
        self.lengths = np.asarray(self.lengths, dtype=np.int64)

    def set_epoch(self, epoch: int) -> None:
        """Called by Lightning's loops at the start of every epoch (through :attr:`sampler`)."""
        self.epoch = epoch

    @property
    def sampler(self) -> BucketBatchSampler:
        """Itself. Lightning calls ``set_epoch`` on ``loader.sampler`` and ``loader.batch_sampler.sampler`` only, not
        on a batch sampler: without this every epoch would repeat the first epoch's order."""
        return self

    def _pool_batches(self, pool: np.ndarray) -> list[np.ndarray]:
        if self.bucket:
            pool = pool[np.argsort(self.lengths[pool], kind="stable")]
        if self.max_tokens is None:
            batches = [pool[i : i + self.batch_size] for i in range(0, len(pool), self.batch_size)]
        else:  # token budget: close a batch before it would pad past max_tokens
            batches, current, longest = [], [], 0
            for index in pool.tolist():
                grown = max(longest, int(self.lengths[index]))
                if current and (len(current) == self.batch_size or (len(current) + 1) * grown > self.max_tokens):
                    batches.append(np.asarray(current))
                    current, grown = [], int(self.lengths[index])
                current.append(index)
                longest = grown
            if current:
                batches.append(np.asarray(current))
        if self.drop_last and batches and len(batches[-1]) < self.batch_size and self.max_tokens is None:
            batches.pop()
        return batches

    def batches(self) -> list[np.ndarray]:
        """All batches of this epoch, for all ranks, before sharding."""
        n = len(self.lengths)
        if self.shuffle:
            rng = np.random.default_rng(self.seed + self.epoch)
            order = rng.permutation(n)
            pool_size = self.batch_size * self.pool_factor
            batches = [b for i in range(0, n, pool_size) for b in self._pool_batches(order[i : i + pool_size])]
            rng.shuffle(batches)
        else:
            batches = self._pool_batches(np.arange(n))
        return batches

    def _shard(self, batches: list[np.ndarray]) -> list[np.ndarray]:
        if self.num_replicas == 1 or not batches:
            return batches
        total = -(-len(batches) // self.num_replicas) * self.num_replicas
        padded = batches + batches[: total - len(batches)]
        return padded[self.rank :: self.num_replicas]

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self._shard(self.batches()):
            yield batch.tolist()

    def __len__(self) -> int:
        return len(self._shard(self.batches()))


def padding_fraction(lengths: Sequence[int] | np.ndarray, batches: Sequence[Sequence[int]]) -> float:
    """Share of a padded epoch that is padding: ``1 - real tokens / (sum over batches of size * longest)``."""
    lengths = np.asarray(lengths)
    real = padded = 0
    for batch in batches:
        batch_lengths = lengths[np.asarray(batch)]
        real += int(batch_lengths.sum())
        padded += len(batch_lengths) * int(batch_lengths.max())
    return 1.0 - real / padded if padded else 0.0
