"""A training DataLoader that resumes in the middle of an epoch.

Lightning stores the ``state_dict`` of every training loader that has one in its checkpoints and hands it back to
``load_state_dict`` before the first batch of a resumed run. seqkit's samplers are deterministic per epoch
(``set_epoch``), so the state is just ``(epoch, batches already trained on)``: the resumed loader restores the
epoch and skips that many batches of the same order, without loading or collating them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import islice
from typing import Any

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


class ResumableDataLoader(DataLoader):
    """A ``DataLoader`` with Lightning's ``state_dict`` / ``load_state_dict`` interface for mid-epoch resume.

    Args:
        *args, **kwargs: As for ``DataLoader``; its (batch) sampler must give the same order for the same epoch.
        position: Returns ``(epoch, batches done)`` when a checkpoint is written (see :func:`training_position`).

    The loader draws its worker base seed from a private generator (unless one is given), so creating an iterator
    does not advance the global random state: a resumed run's dropout masks then continue exactly.
    """

    def __init__(self, *args: Any, position: Position | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("generator", torch.Generator().manual_seed(0))
        super().__init__(*args, **kwargs)
        self.position = position
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
        try:
            return super()._get_iterator()
        finally:
            self._wrapping = False
            self._skip = 0

    def state_dict(self) -> dict[str, int]:
        epoch, batches = self.position() if self.position is not None else (0, 0)
        return {"epoch": int(epoch), "batches": int(batches)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        sampler = self.index_sampler
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(int(state.get("epoch", 0)))
        self._skip = int(state.get("batches", 0))
