"""The machinery every seqkit text DataModule shares.

Loading and checking the raw splits, building the tokenizer from the training split, tokenising through
``datasets.map`` (cached), and bucketed, rank-sharded data loaders. Task DataModules subclass
:class:`TextDataModule` and say which columns hold text, how to check and encode a split, and how to collate.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import lightning as L
from torch.utils.data import DataLoader

from seqkit.data.checks import check_columns, check_not_empty, check_text
from seqkit.data.collate import ArrowBatches, PadCollator
from seqkit.data.encoding import sequence_lengths
from seqkit.data.info import NOT_GIVEN, DataInfo, SplitColumn
from seqkit.data.options import TEST, TRAIN, VALIDATION, Batching, Splits
from seqkit.data.resumable import ResumableDataLoader, training_position
from seqkit.data.sampler import BucketBatchSampler, ShardSampler
from seqkit.data.sources import DataSource, describe_split, load_splits, log_origin
from seqkit.data.tokenizers import Tokenizer, TokenizerConfig, build_tokenizer
from seqkit.errors import DataError

if TYPE_CHECKING:
    from datasets import Dataset

log = logging.getLogger(__name__)


def rank_and_size(trainer: L.Trainer | None) -> tuple[int, int]:
    """``(global rank, world size)`` of the trainer a DataModule is attached to; ``(0, 1)`` without one."""
    return (trainer.global_rank, trainer.world_size) if trainer is not None else (0, 1)


def check_one_per_rank(role: str, count: int, world_size: int, unit: str = "examples") -> None:
    """Raise :class:`~seqkit.errors.DataError` when a split has fewer ``unit`` than there are processes: under DDP
    every process evaluates (and trains on) a share of each split, and a process with none would leave the others
    waiting for it."""
    if count < world_size:
        raise DataError(f"The {role} split has {count} {unit}, fewer than the {world_size} processes sharing it; use "
                        "more rows of it or fewer devices.")


def check_own_sharding(trainer: L.Trainer | None) -> None:
    """Raise :class:`~seqkit.errors.DataError` when a distributed Trainer would replace the samplers of a DataModule
    that shards its batches itself."""
    if trainer is None or trainer.world_size == 1:
        return
    connector = getattr(trainer, "_accelerator_connector", None)
    if getattr(connector, "use_distributed_sampler", False):
        raise DataError(
            "seqkit's data modules shard batches across ranks themselves: create the Trainer with "
            "use_distributed_sampler=False (the seqkit CLI does this for you)."
        )


def tokenizer_for(config: TokenizerConfig, train: Dataset, columns: list[str]) -> Tokenizer:
    """The tokenizer of ``config``: loaded (``config.path``), or trained on the text ``columns`` of the training
    split ``train``, cached on disk under the split's fingerprint."""

    def corpus() -> Iterator[list[str]]:
        for batch in train.select_columns(columns).iter(batch_size=1000):
            for column in columns:
                yield batch[column]

    return build_tokenizer(config, corpus, f"{train._fingerprint}:{columns}")


def split_sampler(lengths, batching: Batching, seed: int, trainer: L.Trainer | None, role: str, train: bool, *,
                  unit: str = "examples", sampler_class: type[BucketBatchSampler] = BucketBatchSampler,
                  **extra) -> BucketBatchSampler:
    """The batch sampler of one split, over the ``(N,)`` ``lengths`` of its items: bucketed as ``batching`` says,
    shuffled for training (from ``seed`` and the epoch), and under DDP this rank's share, every item on exactly one
    rank (a split with fewer ``unit`` than ranks is an error). ``extra`` goes to ``sampler_class``."""
    rank, world_size = rank_and_size(trainer)
    check_one_per_rank(role, len(lengths), world_size, unit=unit)
    return sampler_class(
        lengths, batching.batch_size if train else batching.eval_batch_size, max_tokens=batching.max_tokens,
        shuffle=train, bucket=batching.bucketing, pool_factor=batching.pool_factor, seed=seed,
        num_replicas=world_size, rank=rank, **extra,
    )


def split_loader(dataset, sampler: BucketBatchSampler, collate_fn, batching: Batching,
                 position: Callable[[], tuple[int, int]] | None = None) -> DataLoader:
    """The loader of one split's batches; with ``position`` (``(epoch, batches done)`` of the running fit) a training
    loader that resumes mid-epoch from a checkpoint (:mod:`seqkit.data.resumable`)."""
    loader_class, extra = (ResumableDataLoader, {"position": position}) if position else (DataLoader, {})
    return loader_class(dataset, batch_sampler=sampler, collate_fn=collate_fn, num_workers=batching.num_workers,
                        persistent_workers=batching.num_workers > 0, **extra)


class SplitLoaders:
    """Lightning's training, validation and test loader hooks of a DataModule that builds each split's loader with
    ``_loader(role, train)`` from its prepared splits ``prepared_splits()`` (no validation split: no validation)."""

    def prepared_splits(self) -> dict:
        raise NotImplementedError

    def _loader(self, role: str, train: bool) -> DataLoader:
        raise NotImplementedError

    def train_dataloader(self) -> DataLoader:
        return self._loader(TRAIN, train=True)

    def val_dataloader(self) -> DataLoader | list:
        return self._loader(VALIDATION, train=False) if VALIDATION in self.prepared_splits() else []

    def test_dataloader(self) -> DataLoader:
        return self._loader(TEST, train=False)


class TextDataModule(SplitLoaders, L.LightningDataModule):
    """Base class: raw splits -> checks -> tokenizer -> cached token ids -> bucketed batches.

    Args:
        source: Where the data comes from (local name, files or Hub id) and its column mapping.
        tokenizer: Tokenizer to train on the training split, or to load (``tokenizer.path``).
        batching: Batch sizes, bucketing and loader workers (:class:`~seqkit.data.options.Batching`); unset batch
            sizes come from the subclass's ``default_batch_sizes``.
        splits: Split names, held-out validation, row limits and seed (:class:`~seqkit.data.options.Splits`).
    """

    #: Take ``max_rows`` subsets at random (``True``) or from the start (``False``, for running text).
    random_subsets = True

    #: ``(batch_size, eval_batch_size)`` when ``batching`` leaves them unset (``None``: the training size).
    default_batch_sizes: tuple[int, int | None] = (32, None)

    def __init__(
        self,
        source: DataSource,
        tokenizer: TokenizerConfig | None = None,
        batching: Batching | None = None,
        splits: Splits | None = None,
    ) -> None:
        super().__init__()
        self.source = source
        self.tokenizer_config = tokenizer or TokenizerConfig()
        self.batching = (batching or Batching()).with_defaults(*self.default_batch_sizes)
        self.splits = splits or Splits()
        self._tokenizer: Tokenizer | None = None
        self.encoded: dict[str, Dataset] = {}

    # ----------------------------------------------------------------- hooks for subclasses
    def text_columns(self) -> list[str]:
        """Columns whose text trains the tokenizer and gets tokenised."""
        return [self.source.column("text", "text")]

    def column_roles(self) -> dict[str, str]:
        """``{role: column}`` of every column this task reads (``seqkit data show`` prints it)."""
        return {"text": self.source.column("text", "text")}

    def split_roles(self) -> dict[str, str]:
        """``{role: split name}`` of the splits read from the source (held-out ones come from ``train``)."""
        wanted = {role: name for role, name in self.splits.names.items() if name}
        if self.splits.val_from_train:
            wanted.pop(VALIDATION, None)
        return wanted

    def check_split(self, role: str, dataset: Dataset, where: str) -> Dataset:
        """Check one raw split (and possibly convert it, e.g. string labels to ids). Runs before training."""
        check_not_empty(dataset, role, where)
        check_columns(dataset, self.text_columns(), role, where)
        for column in self.text_columns():
            check_text(dataset, column, role, where)
        return dataset

    def encode(self, role: str, dataset: Dataset) -> Dataset:
        """Tokenise one checked split."""
        raise NotImplementedError

    def collator(self) -> PadCollator:
        raise NotImplementedError

    def length_column(self) -> str:
        """The id column whose lengths drive bucketing."""
        return "input_ids"

    def data_info(self) -> DataInfo:
        """What tasks read from this data besides the batches: the tokenizer, each split's input texts (the first
        text column) and, for classification data, the class names. Complete once the DataModule is set up."""
        return DataInfo(tokenizer=self.tokenizer, texts=SplitColumn(lambda: self.raw, self.text_columns()[0]),
                        label_names=getattr(self, "label_names", NOT_GIVEN))

    # ----------------------------------------------------------------- raw data and tokenizer
    @cached_property
    def raw(self) -> dict[str, Dataset]:
        """Checked raw splits by role (``train``, ``validation``, ``test``), loaded once on first use."""
        return self._load_raw()

    def _load_raw(self) -> dict[str, Dataset]:
        wanted = self.split_roles()
        log_origin(self.source, list(dict.fromkeys(wanted.values())))
        loaded = load_splits(self.source, list(dict.fromkeys(wanted.values())))
        raw = {role: loaded[name] for role, name in wanted.items()}
        if self.splits.val_from_train:
            parts = raw[TRAIN].train_test_split(test_size=self.splits.val_from_train, seed=self.splits.seed)
            raw[TRAIN], raw[VALIDATION] = parts["train"], parts["test"]
        for role in list(raw):
            raw[role] = self._subset(role, raw[role])
            where = describe_split(self.source, wanted.get(role, wanted[TRAIN]))
            raw[role] = self.check_split(role, raw[role], where)
        return raw

    def _subset(self, role: str, dataset: Dataset) -> Dataset:
        limit = self.splits.rows(role)
        if limit is None or limit >= len(dataset):
            return dataset
        if self.random_subsets:
            dataset = dataset.shuffle(seed=self.splits.seed)
        return dataset.select(range(limit))

    @property
    def tokenizer(self) -> Tokenizer:
        """The tokenizer, trained on the training split (or loaded) on first use and cached on disk."""
        if self._tokenizer is None:
            self._tokenizer = tokenizer_for(self.tokenizer_config, self.raw[TRAIN], self.text_columns())
        return self._tokenizer

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.vocab_size

    @property
    def pad_id(self) -> int:
        return self.tokenizer.pad_id

    # ----------------------------------------------------------------- Lightning hooks
    def prepare_data(self) -> None:
        # Runs once per machine before the other ranks set up: they then read the datasets cache.
        for role, dataset in self.raw.items():
            self.encode(role, dataset)

    def setup(self, stage: str | None = None) -> None:
        if not self.encoded:
            self.encoded = {role: self.encode(role, dataset) for role, dataset in self.raw.items()}
        trainer = self.trainer
        if trainer is not None:
            log_dir = trainer.log_dir  # a collective call under DDP: every rank must make it
            if log_dir and trainer.is_global_zero:
                self.tokenizer.save(Path(log_dir) / "tokenizer")
        check_own_sharding(self.trainer)

    def prepared_splits(self) -> dict[str, Dataset]:
        return self.encoded

    def _loader(self, role: str, train: bool) -> DataLoader:
        if role not in self.encoded:
            raise DataError(f"No {role} split is configured for {self.source.label}; set data.init_args.splits.{role}.")
        dataset = self.encoded[role]
        sampler = split_sampler(sequence_lengths(dataset, self.length_column()), self.batching, self.splits.seed,
                                self.trainer, role, train)
        return split_loader(ArrowBatches(dataset), sampler, self.collator(), self.batching,
                            self._train_position if train else None)

    def _train_position(self) -> tuple[int, int]:
        """``(epoch, batches done)`` of the running fit, stored in checkpoints by the training loader."""
        return training_position(self.trainer)

    def predict_dataloader(self) -> DataLoader:
        """The test split in file order, so predictions line up with the input rows; under DDP each rank predicts
        a contiguous part of it (:class:`~seqkit.data.sampler.ShardSampler`).

        Plain batching of a sampler: Lightning rebuilds a prediction loader's batch sampler to track indices.
        """
        if TEST not in self.encoded:
            raise DataError(f"No test split is configured for {self.source.label}; set data.init_args.splits.test.")
        dataset = self.encoded[TEST]
        rank, world_size = rank_and_size(self.trainer)
        check_one_per_rank(TEST, len(dataset), world_size)
        return DataLoader(ArrowBatches(dataset), sampler=ShardSampler(len(dataset), world_size, rank),
                          batch_size=self.batching.eval_batch_size, collate_fn=self.collator(),
                          num_workers=self.batching.num_workers)
