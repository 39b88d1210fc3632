"""The options every DataModule shares, as two typed groups that LightningCLI reads as nested arguments: ``batching``
(how batches are cut; ``--data.init_args.batching.batch_size 64``) and ``splits`` (which rows are read; ``splits:
{validation: null, val_from_train: 0.1}`` in a recipe). Fields a DataModule cannot honour are refused, not ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from seqkit.errors import DataError

TRAIN, VALIDATION, TEST = "train", "validation", "test"


@dataclass(frozen=True)
class _Group:
    """What both groups share: refusing the fields a DataModule has no use for."""

    def refuse(self, names: tuple[str, ...], owner: str, why: str) -> None:
        """Raise :class:`~seqkit.errors.DataError` if any field in ``names`` is set away from its default."""
        for item in fields(self):
            if item.name in names and getattr(self, item.name) != item.default:
                group = type(self).__name__.lower()  # the argument's name: batching or splits
                raise DataError(f"{group}.{item.name} does not apply to {owner} ({why}); remove it.")


@dataclass(frozen=True)
class Batching(_Group):
    """How a DataModule cuts each split into batches (``data.init_args.batching``).

    The batch sizes default to ``None``: "the DataModule's default" (its ``default_batch_sizes``: 32 texts, 64
    sentence pairs for translation, 25 trees, 20 and 10 rows for language models), filled in by :meth:`with_defaults`.
    Not a default instance per module (``Batching(batch_size=64)``): a recipe setting any other field of the group
    (``batching: {num_workers: 2}``) would replace it whole and silently train translation with 32.

    Args:
        batch_size: Training examples per batch (per process under DDP); ``None``: the DataModule's default.
        eval_batch_size: Examples per evaluation batch (per process; a language model's stream rows in all, shared
            by the processes); ``None``: the DataModule's default, else ``batch_size``.
        max_tokens: Optional cap on padded tokens per batch (``batch_size`` stays an upper bound).
        bucketing: Group examples of similar length into batches (much less padding).
        pool_factor: Bucketing pool size, in batches: larger pools pad less but are less random.
        num_workers: DataLoader worker processes.
    """

    batch_size: int | None = None
    eval_batch_size: int | None = None
    max_tokens: int | None = None
    bucketing: bool = True
    pool_factor: int = 50
    num_workers: int = 0

    def with_defaults(self, batch_size: int, eval_batch_size: int | None = None) -> Batching:
        """This group with its unset batch sizes taken from a DataModule's defaults."""
        train = batch_size if self.batch_size is None else self.batch_size
        evaluation = (eval_batch_size or train) if self.eval_batch_size is None else self.eval_batch_size
        return replace(self, batch_size=train, eval_batch_size=evaluation)


@dataclass(frozen=True)
class Splits(_Group):
    """Which splits a DataModule reads, how many rows of each, and the seed of random row choices (``splits``).

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
