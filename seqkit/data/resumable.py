"""A training DataLoader that resumes in the middle of an epoch.

Lightning stores the ``state_dict`` of every training loader that has one in its checkpoints and hands it back to
``load_state_dict`` before the first batch of a resumed run. seqkit's samplers are deterministic per epoch
(``set_epoch``), so the state is just ``(epoch, batches already trained on)``: the resumed loader restores the
epoch and skips that many batches of the same order, without loading or collating them.

Random data augmentation (SpecAugment's masks, for one) must be resumable too. Lightning fetches a batch one step
ahead of training it, so a batch drawn from the global generators would depend on when it was fetched, and a
resumed run (which fetches its first batches before the saved generator states are restored) would draw different
masks. Each batch is therefore made with the torch, NumPy and Python generators seeded from ``(seed, epoch, rank,
batch)`` and the global states put back afterwards, as a worker process would: its randomness depends on nothing
else, and the model's draws (dropout) are not moved by the loading.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from itertools import islice
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

#: ``(epoch, batches done in it)`` of a training run, read when a checkpoint is written.
Position = Callable[[], tuple[int, int]]


def training_position(trainer: Any) -> tuple[int, int]:
    """Where ``trainer``'s fit loop stands: ``(epoch, batches done)``; a finished epoch is ``(epoch + 1, 0)``."""
    loop = trainer.fit_loop
    done = loop.epoch_loop.batch_progress.current.processed
    if done >= trainer.num_training_batches:
        return trainer.current_epoch + 1, 0
    return trainer.current_epoch, done


class _Skip:
    """Wraps a (batch) sampler: the next iteration starts ``skip`` items in, later ones from the start."""

    def __init__(self, inner: Any, skip: int) -> None:
        self.inner = inner
        self.skip = skip

    def __iter__(self) -> Iterator[Any]:
        skip, self.skip = self.skip, 0
        return islice(iter(self.inner), skip, None)

    def __len__(self) -> int:  # the full epoch: Lightning counts the skipped batches as done
        return len(self.inner)


class _SeededBatches:
    """The batches of a loader's iterator, each made with the global generators seeded from ``(seed, epoch, rank,
    batch)`` and restored afterwards (see the module docstring). Attributes are the wrapped iterator's."""

    def __init__(self, inner: Any, seed: int, epoch: int, rank: int, start: int) -> None:
        self.inner, self.seed, self.epoch, self.rank, self.index = inner, seed, epoch, rank, start

    def __iter__(self) -> _SeededBatches:
        return self

    def __next__(self) -> Any:
        saved = torch.get_rng_state(), np.random.get_state(), random.getstate()
        seed = int(np.random.SeedSequence([self.seed, self.epoch, self.rank, self.index]).generate_state(1)[0])
        torch.manual_seed(seed)
        np.random.seed(seed)
        random.seed(seed)
        try:
            return next(self.inner)
        finally:
            torch.set_rng_state(saved[0])
            np.random.set_state(saved[1])
            random.setstate(saved[2])
            self.index += 1

    def __len__(self) -> int:
        return len(self.inner)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class ResumableDataLoader(DataLoader):
    """A ``DataLoader`` with Lightning's ``state_dict`` / ``load_state_dict`` interface for mid-epoch resume.

    Args:
        *args, **kwargs: As for ``DataLoader``; its (batch) sampler must give the same order for the same epoch.
        position: Returns ``(epoch, batches done)`` when a checkpoint is written (see :func:`training_position`).

    The loader draws its worker base seed from a private generator (unless one is given), so creating an iterator
    does not advance the global random state: a resumed run's dropout masks then continue exactly. Without worker
    processes, each batch is made with generators seeded from ``(seed, epoch, rank, batch)`` (``seed``: torch's
    initial seed when the loader is built, i.e. the run's ``seed_everything``), so random augmentation resumes
    exactly too.
    """

    def __init__(self, *args: Any, position: Position | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("generator", torch.Generator().manual_seed(0))
        super().__init__(*args, **kwargs)
        self.position = position
        self.seed = torch.initial_seed() % 2**63
        self._skip = 0
        self._wrapping = False

    @property
    def index_sampler(self) -> Any:
        """The sampler whose order is resumed: the batch sampler, or the sampler when batching is off."""
        return self.batch_sampler if self.batch_sampler is not None else self.sampler

    @property
    def _index_sampler(self) -> Any:
        sampler = super()._index_sampler
        return _Skip(sampler, self._skip) if self._wrapping and self._skip else sampler

    def _get_iterator(self) -> Any:
        self._wrapping = True  # only the iterator created now skips; len() and later epochs see the whole sampler
        start = self._skip
        try:
            iterator = super()._get_iterator()
        finally:
            self._wrapping = False
            self._skip = 0
        if self.num_workers > 0:  # workers have generators of their own
            return iterator
        sampler = self.index_sampler
        return _SeededBatches(iterator, self.seed, getattr(sampler, "epoch", 0), getattr(sampler, "rank", 0), start)

    def state_dict(self) -> dict[str, int]:
        epoch, batches = self.position() if self.position is not None else (0, 0)
        return {"epoch": int(epoch), "batches": int(batches)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        sampler = self.index_sampler
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(int(state.get("epoch", 0)))
        self._skip = int(state.get("batches", 0))
