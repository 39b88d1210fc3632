"""The machinery every seqkit text DataModule shares.

Loading and checking the raw splits, building the tokenizer from the training split, tokenising through
``datasets.map`` (cached), and bucketed, rank-sharded data loaders. Task DataModules subclass
:class:`TextDataModule` and say which columns hold text, how to check and encode a split, and how to collate.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import lightning as L
from torch.utils.data import DataLoader

from seqkit.data.checks import check_columns, check_not_empty, check_text
from seqkit.data.collate import ArrowBatches, PadCollator
from seqkit.data.encoding import sequence_lengths
from seqkit.data.resumable import ResumableDataLoader, training_position
from seqkit.data.sampler import BucketBatchSampler
from seqkit.data.sources import DataSource, describe_split, load_splits, log_origin
from seqkit.data.tokenizers import Tokenizer, TokenizerConfig, build_tokenizer
from seqkit.errors import DataError

if TYPE_CHECKING:
    from datasets import Dataset

log = logging.getLogger(__name__)

TRAIN, VALIDATION, TEST = "train", "validation", "test"


class TextDataModule(L.LightningDataModule):
    """Base class: raw splits -> checks -> tokenizer -> cached token ids -> bucketed batches.

    Args:
        source: Where the data comes from (local name, files or Hub id) and its column mapping.
        tokenizer: Tokenizer to train on the training split, or to load (``tokenizer.path``).
        batch_size: Training examples per batch (per process under DDP).
        eval_batch_size: Examples per evaluation batch; defaults to ``batch_size``.
        max_tokens: Optional cap on padded tokens per batch (``batch_size`` stays an upper bound).
        bucketing: Group examples of similar length into batches (much less padding).
        pool_factor: Bucketing pool size, in batches.
        num_workers: DataLoader worker processes.
        train_split: Split name for training.
        val_split: Split name for validation; ``None`` for none.
        test_split: Split name for testing; ``None`` for none.
        val_from_train: If set, hold out this fraction of the training split (seeded) as validation instead of
            reading ``val_split``.
        max_rows: Use only this many rows of each split (an int for all, or ``{split_role: rows}`` with roles
            ``train``/``validation``/``test``), for quick runs and tests.
        seed: Seed for subsets, held-out splits and batch order.
    """

    #: Take ``max_rows`` subsets at random (``True``) or from the start (``False``, for running text).
    random_subsets = True

    def __init__(
        self,
        source: DataSource,
        tokenizer: TokenizerConfig | None = None,
        batch_size: int = 32,
        eval_batch_size: int | None = None,
        max_tokens: int | None = None,
        bucketing: bool = True,
        pool_factor: int = 50,
        num_workers: int = 0,
        train_split: str = "train",
        val_split: str | None = "validation",
        test_split: str | None = "test",
        val_from_train: float | None = None,
        max_rows: int | dict[str, int] | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.source = source
        self.tokenizer_config = tokenizer or TokenizerConfig()
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size or batch_size
        self.max_tokens = max_tokens
        self.bucketing = bucketing
        self.pool_factor = pool_factor
        self.num_workers = num_workers
        self.split_names = {TRAIN: train_split, VALIDATION: val_split, TEST: test_split}
        self.val_from_train = val_from_train
        self.max_rows = max_rows
        self.seed = seed
        self._raw: dict[str, Dataset] | None = None
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
        wanted = {role: name for role, name in self.split_names.items() if name}
        if self.val_from_train:
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

    # ----------------------------------------------------------------- raw data and tokenizer
    @property
    def raw(self) -> dict[str, Dataset]:
        """Checked raw splits by role (``train``, ``validation``, ``test``), loaded once on first use."""
        if self._raw is None:
            self._raw = self._load_raw()
        return self._raw

    def _load_raw(self) -> dict[str, Dataset]:
        wanted = self.split_roles()
        log_origin(self.source, list(dict.fromkeys(wanted.values())))
        loaded = load_splits(self.source, list(dict.fromkeys(wanted.values())))
        raw = {role: loaded[name] for role, name in wanted.items()}
        if self.val_from_train:
            parts = raw[TRAIN].train_test_split(test_size=self.val_from_train, seed=self.seed)
            raw[TRAIN], raw[VALIDATION] = parts["train"], parts["test"]
        for role in list(raw):
            raw[role] = self._subset(role, raw[role])
            where = describe_split(self.source, wanted.get(role, wanted[TRAIN]))
            raw[role] = self.check_split(role, raw[role], where)
        return raw

    def _subset(self, role: str, dataset: Dataset) -> Dataset:
        limit = self.max_rows.get(role) if isinstance(self.max_rows, dict) else self.max_rows
        if limit is None or limit >= len(dataset):
            return dataset
        if self.random_subsets:
            dataset = dataset.shuffle(seed=self.seed)
        return dataset.select(range(limit))

    @property
    def tokenizer(self) -> Tokenizer:
        """The tokenizer, trained on the training split (or loaded) on first use and cached on disk."""
        if self._tokenizer is None:
            train = self.raw[TRAIN]
            columns = self.text_columns()

            def corpus() -> Iterator[list[str]]:
                for batch in train.select_columns(columns).iter(batch_size=1000):
                    for column in columns:
                        yield batch[column]

            self._tokenizer = build_tokenizer(self.tokenizer_config, corpus, f"{train._fingerprint}:{columns}")
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
        self._check_sharding()

    def _check_sharding(self) -> None:
        trainer = self.trainer
        if trainer is None or trainer.world_size == 1:
            return
        connector = getattr(trainer, "_accelerator_connector", None)
        if getattr(connector, "use_distributed_sampler", False):
            raise DataError(
                "seqkit's data modules shard batches across ranks themselves: create the Trainer with "
                "use_distributed_sampler=False (the seqkit CLI does this for you)."
            )

    def _loader(self, role: str, train: bool) -> DataLoader:
        if role not in self.encoded:
            raise DataError(f"No {role} split is configured for {self.source.label}; set data.init_args.{role}_split.")
        dataset = self.encoded[role]
        trainer = self.trainer
        sampler = BucketBatchSampler(
            sequence_lengths(dataset, self.length_column()),
            self.batch_size if train else self.eval_batch_size,
            max_tokens=self.max_tokens,
            shuffle=train,
            bucket=self.bucketing,
            pool_factor=self.pool_factor,
            seed=self.seed,
            num_replicas=trainer.world_size if trainer else 1,
            rank=trainer.global_rank if trainer else 0,
        )
        # Training loaders resume mid-epoch from a checkpoint (seqkit.data.resumable).
        loader_class, extra = (ResumableDataLoader, {"position": self._train_position}) if train else (DataLoader, {})
        return loader_class(
            ArrowBatches(dataset), batch_sampler=sampler, collate_fn=self.collator(),
            num_workers=self.num_workers, persistent_workers=self.num_workers > 0, **extra,
        )

    def _train_position(self) -> tuple[int, int]:
        """``(epoch, batches done)`` of the running fit, stored in checkpoints by the training loader."""
        return training_position(self.trainer)

    def train_dataloader(self) -> DataLoader:
        return self._loader(TRAIN, train=True)

    def val_dataloader(self) -> DataLoader | list:
        return self._loader(VALIDATION, train=False) if VALIDATION in self.encoded else []

    def test_dataloader(self) -> DataLoader:
        return self._loader(TEST, train=False)

    def predict_dataloader(self) -> DataLoader:
        """The test split in file order, so predictions line up with the input rows.

        A plain sequential ``BatchSampler``: Lightning rebuilds a prediction loader's batch sampler to track indices.
        """
        if TEST not in self.encoded:
            raise DataError(f"No test split is configured for {self.source.label}; set data.init_args.test_split.")
        return DataLoader(ArrowBatches(self.encoded[TEST]), batch_size=self.eval_batch_size, shuffle=False,
                          collate_fn=self.collator(), num_workers=self.num_workers)
