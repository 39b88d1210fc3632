"""The options every DataModule shares, as two typed groups: how batches are cut, and which rows are read.

A DataModule takes them as two arguments, ``batching`` and ``splits``, which LightningCLI reads as nested groups::

    data:
      init_args:
        batching: {batch_size: 64, max_tokens: 12000}
        splits: {validation: null, val_from_train: 0.1}

(``--data.init_args.batching.batch_size 64`` on the command line). Fields a DataModule cannot honour are refused
with a one-line error (:meth:`Batching.refuse`), not silently ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import ClassVar

from seqkit.errors import DataError

TRAIN, VALIDATION, TEST = "train", "validation", "test"


@dataclass(frozen=True)
class _Group:
    """What both groups share: refusing the fields a DataModule has no use for."""

    #: The group's argument name, for messages (``batching.max_tokens ...``).
    name: ClassVar[str]

    def refuse(self, names: tuple[str, ...], owner: str, why: str) -> None:
        """Raise :class:`~seqkit.errors.DataError` if any field in ``names`` is set away from its default."""
        for item in fields(self):
            if item.name in names and getattr(self, item.name) != item.default:
                raise DataError(f"{self.name}.{item.name} does not apply to {owner} ({why}); remove it.")


@dataclass(frozen=True)
class Batching(_Group):
    """How a DataModule cuts each split into batches (``data.init_args.batching``).

    The two batch sizes default to ``None``, meaning "this DataModule's default" (32 texts for classification, 64
    sentence pairs for translation, 25 trees, 20 training and 10 evaluation rows for language models), filled in by
    :meth:`with_defaults` when the module is built. A per-module default instance (``Batching(batch_size=64)`` in
    the translation signature) was not chosen because it is lost as soon as a recipe sets any other field of the
    group: ``batching: {num_workers: 2}`` would then silently train translation with 32.

    Args:
        batch_size: Training examples per batch (per process under DDP); ``None``: the DataModule's default.
        eval_batch_size: Examples per evaluation batch; ``None``: the DataModule's default, else ``batch_size``.
        max_tokens: Optional cap on padded tokens per batch (``batch_size`` stays an upper bound).
        bucketing: Group examples of similar length into batches (much less padding).
        pool_factor: Bucketing pool size, in batches: larger pools pad less but are less random.
        num_workers: DataLoader worker processes.
    """

    name: ClassVar[str] = "batching"

    batch_size: int | None = None
    eval_batch_size: int | None = None
    max_tokens: int | None = None
    bucketing: bool = True
    pool_factor: int = 50
    num_workers: int = 0

    def with_defaults(self, batch_size: int, eval_batch_size: int | None = None) -> Batching:
        """This group with its unset batch sizes taken from a DataModule's defaults."""
        train = self.batch_size or batch_size
        return replace(self, batch_size=train, eval_batch_size=self.eval_batch_size or eval_batch_size or train)


@dataclass(frozen=True)
class Splits(_Group):
    """Which splits a DataModule reads, how many rows of each, and the seed of every random choice of rows
    (``data.init_args.splits``).

    Args:
        train: Split name for training.
        validation: Split name for validation; ``None`` for none.
        test: Split name for testing; ``None`` for none.
        val_from_train: If set, hold out this fraction of the training split (seeded) as validation instead of
            reading ``validation``.
        max_rows: Use only this many rows of each split (an int for all, or ``{role: rows}`` with roles
            ``train``/``validation``/``test``), for quick runs and tests.
        seed: Seed of held-out splits, ``max_rows`` subsets and the training batch order.
    """

    name: ClassVar[str] = "splits"

    train: str = TRAIN
    validation: str | None = VALIDATION
    test: str | None = TEST
    val_from_train: float | None = None
    max_rows: int | dict[str, int] | None = None
    seed: int = 0

    @property
    def names(self) -> dict[str, str | None]:
        """``{role: split name}`` for the roles ``train``, ``validation`` and ``test``."""
        return {TRAIN: self.train, VALIDATION: self.validation, TEST: self.test}

    def rows(self, role: str) -> int | None:
        """The ``max_rows`` limit of one role (``None``: every row)."""
        return self.max_rows.get(role) if isinstance(self.max_rows, dict) else self.max_rows
