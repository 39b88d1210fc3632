"""Length-bucketing batch sampler that shards batches across DDP ranks itself, each example on exactly one rank."""

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
    ``seed + epoch``, identical on every rank. Under DDP each rank takes every ``num_replicas``-th batch of
    :func:`equal_shares` of the list: the largest batches are halved until every rank has the same number of steps,
    so no example repeats (training, and evaluation that counts each example once) and no rank waits for another.

    Args:
        lengths: Length of every example, shape ``(N,)`` (any sequence of ints).
        batch_size: Examples per batch (an upper bound when ``max_tokens`` is set).
        max_tokens: If set, also cap each batch at this many padded tokens (``len(batch) * longest``).
        shuffle: Random order (training). Without it, examples are sorted by length once (evaluation).
        bucket: Sort pools by length. ``False`` gives plain random batches (for comparison).
        pool_factor: Pool size in batches: larger pools pad less but are less random.
        drop_last: Drop the last, smaller batch of each pool (and under DDP the batches past a multiple of the
            number of ranks, rather than halving batches).
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
        kept = len(batches) // self.num_replicas * self.num_replicas
        batches = batches[:kept] if self.drop_last and kept else equal_shares(batches, self.num_replicas)
        return batches[self.rank :: self.num_replicas]

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self._shard(self.batches()):
            yield batch.tolist()

    def __len__(self) -> int:
        return len(self._shard(self.batches()))


def equal_shares(batches: Sequence[np.ndarray], parts: int) -> list[np.ndarray]:
    """``batches`` re-cut into a multiple of ``parts`` batches, every example still in exactly one of them and the
    order kept: the largest batch is halved in place until the count is a multiple (at most ``parts - 1`` cuts).
    When there are too few examples for that, the two smallest neighbouring batches are merged instead.

    Raises ``ValueError`` when there are fewer examples than ``parts``: some part would get none.
    """
    batches = list(batches)
    examples = sum(len(batch) for batch in batches)
    if examples < parts:
        raise ValueError(f"{examples} examples cannot be shared among {parts} processes: each needs one")
    target = -(-len(batches) // parts) * parts
    if target > examples:
        target = len(batches) // parts * parts
    while len(batches) < target:
        at = max(range(len(batches)), key=lambda i: len(batches[i]))
        half = len(batches[at]) // 2
        batches[at : at + 1] = [batches[at][:half], batches[at][half:]]
    while len(batches) > target:
        at = min(range(len(batches) - 1), key=lambda i: len(batches[i]) + len(batches[i + 1]))
        batches[at : at + 2] = [np.concatenate([batches[at], batches[at + 1]])]
    return batches


class ShardSampler(Sampler[int]):
    """The indices ``0 .. size - 1`` in order, cut into ``num_replicas`` contiguous parts whose sizes differ by at
    most one; iterates over part ``rank``. Prediction loaders use it: rank ``r``'s outputs come right after rank
    ``r - 1``'s, so gathering them in rank order gives the split's order.
    """

    def __init__(self, size: int, num_replicas: int = 1, rank: int = 0) -> None:
        if size < num_replicas:
            raise ValueError(f"{size} examples cannot be shared among {num_replicas} processes: each needs one")
        self.start = rank * size // num_replicas
        self.end = (rank + 1) * size // num_replicas

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.start, self.end))

    def __len__(self) -> int:
        return self.end - self.start


def padding_fraction(lengths: Sequence[int] | np.ndarray, batches: Sequence[Sequence[int]]) -> float:
    """Share of a padded epoch that is padding: ``1 - real tokens / (sum over batches of size * longest)``."""
    lengths = np.asarray(lengths)
    real = padded = 0
    for batch in batches:
        batch_lengths = lengths[np.asarray(batch)]
        real += int(batch_lengths.sum())
        padded += len(batch_lengths) * int(batch_lengths.max())
    return 1.0 - real / padded if padded else 0.0
