"""What a task reads from its data besides the batches: one typed object, :class:`DataInfo`.

A DataModule gives it with ``data_info()`` (every seqkit DataModule does); a task takes it with
``task.attach_data(info)`` or, when the Trainer's DataModule has ``data_info()``, by itself when training starts.
Each task names the items it needs (``data_needs``); a missing one is a one-line :class:`~seqkit.errors.DataError`
when training, validation or testing starts, never a metric that silently does not appear.

Every item has three states: not given (the default, :data:`NOT_GIVEN`), given, or declined with ``None`` (for
instance ``tokens_per_word=None``: train a language model without ``val_word_ppl``). Only items whose feature can
be left out may be declined.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any, Final, Protocol, runtime_checkable

from seqkit.errors import DataError


class _NotGiven:
    """The type of :data:`NOT_GIVEN`: an item the data did not provide (``None`` declines it instead)."""

    _instance: _NotGiven | None = None

    def __new__(cls) -> _NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:  # a copied or pickled DataInfo keeps the one instance
        return "NOT_GIVEN"


NOT_GIVEN: Final = _NotGiven()
"""The default of every :class:`DataInfo` item: the data did not say (``None`` says "go without")."""


@runtime_checkable
class TextDecoder(Protocol):
    """What a target tokenizer must do for BLEU: ids back to text (seqkit's :class:`~seqkit.data.Tokenizer` does)."""

    def decode_batch(self, batch: list[list[int]]) -> list[str]:
        """Detokenised text of each id list."""


@dataclass(frozen=True)
class DataInfo:
    """What tasks read from the data besides the batches. Per-split items are keyed by ``"train"``,
    ``"validation"`` and ``"test"``.

    Args:
        tokenizer: The (source) tokenizer: the CNN+RNN language model spells its words with ``id_to_token``;
            classifiers match pretrained word vectors and language models against it.
        target_tokenizer: Translation's target side, with ``decode_batch(ids) -> texts`` (and ``bos_id`` /
            ``eos_id``, checked against the model's when present): BLEU compares detokenised outputs.
        bptt: The mean chunk length of a language model's token stream (``scale_lr_by_length`` divides by it).
        tokens_per_word: Tokens per whitespace word of each split: ``val_word_ppl`` / ``test_word_ppl`` are the
            per-token loss times it, exponentiated. ``None``: no per-word perplexity.
        label_names: Class names in id order, kept with a classifier for its predictions and confusion matrix.
        references: Translation's raw target texts of each split, indexed by the ``rows`` of the split's batches:
            what BLEU and chrF score against.
        texts: The input text of each row of each split; ``predictions.jsonl`` shows the test split's beside
            each prediction.
    """

    tokenizer: Any = NOT_GIVEN
    target_tokenizer: TextDecoder | Any = NOT_GIVEN
    bptt: int | None | _NotGiven = NOT_GIVEN
    tokens_per_word: Mapping[str, float] | None | _NotGiven = NOT_GIVEN
    label_names: Sequence[str] | None | _NotGiven = NOT_GIVEN
    references: Mapping[str, Sequence[str]] | None | _NotGiven = NOT_GIVEN
    texts: Mapping[str, Sequence[str]] | None | _NotGiven = NOT_GIVEN

    def given(self, name: str) -> bool:
        """Whether item ``name`` holds a value (neither :data:`NOT_GIVEN` nor declined with ``None``)."""
        value = getattr(self, name)
        return value is not None and value is not NOT_GIVEN

    def get(self, name: str, default: Any = None) -> Any:
        """Item ``name``, or ``default`` when it is not given or declined."""
        return getattr(self, name) if self.given(name) else default

    def updated(self, other: DataInfo) -> DataInfo:
        """This info with every item ``other`` gives or declines (anything but :data:`NOT_GIVEN`) replaced."""
        changes = {f.name: getattr(other, f.name) for f in fields(other) if getattr(other, f.name) is not NOT_GIVEN}
        return replace(self, **changes)


class SplitColumn(Mapping):
    """``{split: texts}`` read from one column of a DataModule's raw splits when asked for (a corpus's texts are
    not copied into every :class:`DataInfo`).

    Args:
        splits: A callable giving the raw splits by role (``datasets.Dataset`` each, or anything indexed by column).
        column: The column to read.
    """

    def __init__(self, splits: Any, column: str) -> None:
        self._splits = splits
        self.column = column

    def __getitem__(self, split: str) -> Sequence[str]:
        return self._splits()[split][self.column]

    def __contains__(self, split: object) -> bool:
        return split in self._splits()

    def __iter__(self):
        return iter(self._splits())

    def __len__(self) -> int:
        return len(self._splits())


@dataclass(frozen=True)
class DataNeed:
    """One item a task reads from :class:`DataInfo`, and for what.

    Args:
        item: The :class:`DataInfo` field.
        purpose: What needs it, as the error message names it (``"val_word_ppl"``, ``"scale_lr_by_length"``).
        optional: Whether ``None`` may decline it (the feature is then left out); a required item must be given.
        stages: The Trainer stages that read it (``fit``, ``validate``, ``test``, ``predict``).
    """

    item: str
    purpose: str
    optional: bool = False
    stages: tuple[str, ...] = ("fit", "validate", "test")


def check_needs(task: str, info: DataInfo, needs: Sequence[DataNeed], stage: str) -> None:
    """Raise a one-line :class:`~seqkit.errors.DataError` for the first need of ``stage`` that ``info`` leaves out.

    An optional item declined with ``None`` passes; a required one must hold a value."""
    for need in needs:
        if stage not in need.stages:
            continue
        value = getattr(info, need.item)
        if value is NOT_GIVEN:
            decline = f", or {need.item}=None to train without {need.purpose}" if need.optional else ""
            raise DataError(f"{task}'s {need.purpose} needs the data's {need.item}: give it with "
                            f"task.attach_data(DataInfo({need.item}=...)) or the DataModule's data_info(){decline}.")
        if value is None and not need.optional:
            raise DataError(f"{task}'s {need.purpose} needs the data's {need.item}, which the data declined (None); "
                            f"give it with task.attach_data(DataInfo({need.item}=...)).")


def split_item(info: DataInfo, item: str, split: str, task: str) -> Any:
    """The ``split`` entry of per-split item ``item``; a one-line :class:`~seqkit.errors.DataError` when the item
    has none for that split."""
    values = getattr(info, item)
    try:
        return values[split]
    except (KeyError, IndexError, TypeError):
        raise DataError(f"{task} reads the data's {item} of the {split!r} split, which it lacks; give "
                        f"DataInfo({item}={{{split!r}: ...}}).") from None
