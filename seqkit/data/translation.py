"""DataModule for translation: parallel source/target columns, joint or separate subword vocabularies."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from seqkit.data.base import TEST, TRAIN, VALIDATION, TextDataModule, tokenizer_for
from seqkit.data.checks import check_columns, check_not_empty, check_text
from seqkit.data.collate import PadCollator
from seqkit.data.encoding import encode_column
from seqkit.data.info import DataInfo, SplitColumn
from seqkit.data.options import Batching, Splits
from seqkit.data.sources import DataSource, describe_split, load_splits, log_origin
from seqkit.data.tokenizers import Tokenizer, TokenizerConfig
from seqkit.errors import DataError

if TYPE_CHECKING:
    from datasets import Dataset

#: Folder of a run directory holding the target tokenizer when the vocabularies are separate.
TARGET_TOKENIZER_DIR = "tokenizer_target"
#: Column numbering the rows of each split, so decoded hypotheses find their raw reference text.
ROW_COLUMN = "row"


class TranslationDataModule(TextDataModule):
    """Sentence pairs: a source column and a target column of the same rows.

    Batches hold ``src_ids`` ``(B, S)``, ``src_lengths``, ``src_mask``, ``tgt_ids`` ``(B, T)`` (``<bos> ... <eos>``),
    ``tgt_lengths``, ``tgt_mask`` and ``rows`` ``(B,)`` (row numbers within the split, for :meth:`references`).

    Args:
        source: The dataset. Columns are named by language (``source_lang``/``target_lang``) unless
            ``source.columns`` maps the roles ``source`` and ``target``.
        source_lang: Source column (e.g. ``de``).
        target_lang: Target column (e.g. ``en``).
        tokenizer: Tokenizer settings. With ``target_tokenizer`` unset it is one joint vocabulary trained on both
            columns (source and target embeddings can then be shared); otherwise the source side's.
        target_tokenizer: Settings of a separate target tokenizer, trained on the target column only.
        max_length: Longest source, and longest target (with ``<bos>``/``<eos>``), in tokens; longer ones are cut.
        test_from_train: Hold out this fraction of the training split (seeded) as the test split, for data with a
            single split; with ``val_from_train`` the validation split is then taken from the rest.
        batching: Batch sizes (default 64 pairs), bucketing and loader workers.
        splits: Split names, held-out validation, row limits and seed (also of ``test_from_train``).
    """

    default_batch_sizes = (64, None)

    def __init__(
        self,
        source: DataSource,
        source_lang: str = "de",
        target_lang: str = "en",
        tokenizer: TokenizerConfig | None = None,
        target_tokenizer: TokenizerConfig | None = None,
        max_length: int = 100,
        test_from_train: float | None = None,
        batching: Batching | None = None,
        splits: Splits | None = None,
    ) -> None:
        super().__init__(source, tokenizer or TokenizerConfig(kind="sentencepiece_unigram", vocab_size=8000),
                         batching, splits)
        if max_length < 3:
            raise DataError(f"max_length must leave room for <bos>, a token and <eos> (>= 3), got {max_length}.")
        self.source_lang, self.target_lang = source_lang, target_lang
        self.target_tokenizer_config = target_tokenizer
        self.max_length = max_length
        self.test_from_train = test_from_train
        self._tgt_tokenizer: Tokenizer | None = None

    # ----------------------------------------------------------------- columns and splits
    @property
    def source_column(self) -> str:
        return self.source.column("source", self.source_lang)

    @property
    def target_column(self) -> str:
        return self.source.column("target", self.target_lang)

    def column_roles(self) -> dict[str, str]:
        return {"source": self.source_column, "target": self.target_column}

    @property
    def joint_vocabulary(self) -> bool:
        """One tokenizer for both languages (source and target ids mean the same tokens)."""
        return self.target_tokenizer_config is None

    def text_columns(self) -> list[str]:
        # The base class trains its tokenizer on these: both columns for a joint vocabulary, else the source only.
        return [self.source_column, self.target_column] if self.joint_vocabulary else [self.source_column]

    def check_split(self, role: str, dataset: Dataset, where: str) -> Dataset:
        columns = [self.source_column, self.target_column]  # both, even when the tokenizer reads one
        if self.source_column == self.target_column:
            raise DataError(f"Source and target are the same column {self.source_column!r}; "
                            "set source_lang and target_lang.")
        check_not_empty(dataset, role, where)
        check_columns(dataset, columns, role, where)
        for column in columns:
            check_text(dataset, column, role, where)
        return dataset.add_column(ROW_COLUMN, list(range(len(dataset))))

    def split_roles(self) -> dict[str, str]:
        return {TRAIN: self.splits.train} if self.test_from_train else super().split_roles()

    def _load_raw(self) -> dict[str, Dataset]:
        if not self.test_from_train:
            return super()._load_raw()
        # A single-split corpus: train -> (test | rest), rest -> (validation | train), both seeded.
        name = self.splits.train
        log_origin(self.source, [name])
        full = load_splits(self.source, [name])[name]
        parts = full.train_test_split(test_size=self.test_from_train, seed=self.splits.seed)
        raw = {TRAIN: parts["train"], TEST: parts["test"]}
        if self.splits.val_from_train:
            rest = raw[TRAIN].train_test_split(test_size=self.splits.val_from_train, seed=self.splits.seed)
            raw[TRAIN], raw[VALIDATION] = rest["train"], rest["test"]
        where = describe_split(self.source, name)
        return {role: self.check_split(role, self._subset(role, data), f"{where} ({role} part)")
                for role, data in raw.items()}

    def references(self, role: str) -> list[str]:
        """Raw target texts of split ``role``, indexed by the ``rows`` of its batches."""
        return self.raw[role][self.target_column]

    def data_info(self) -> DataInfo:
        """The base's items, the target tokenizer and each split's reference texts (BLEU's)."""
        return replace(super().data_info(), target_tokenizer=self.tgt_tokenizer,
                       references=SplitColumn(lambda: self.raw, self.target_column))

    # ----------------------------------------------------------------- tokenizers
    @property
    def src_tokenizer(self) -> Tokenizer:
        return self.tokenizer

    @property
    def tgt_tokenizer(self) -> Tokenizer:
        """The target tokenizer (the joint one unless ``target_tokenizer`` is set)."""
        if self.joint_vocabulary:
            return self.tokenizer
        if self._tgt_tokenizer is None:
            self._tgt_tokenizer = tokenizer_for(self.target_tokenizer_config, self.raw[TRAIN], [self.target_column])
            if self._tgt_tokenizer.pad_id != self.tokenizer.pad_id:
                raise DataError("Source and target tokenizers must share the padding id "
                                f"({self.tokenizer.pad_id} vs {self._tgt_tokenizer.pad_id}).")
            if self._tgt_tokenizer.bos_id is None or self._tgt_tokenizer.eos_id is None:
                raise DataError("The target tokenizer needs <bos> and <eos> tokens.")
        return self._tgt_tokenizer

    @property
    def src_vocab_size(self) -> int:
        return self.vocab_size  # the source tokenizer is the base's

    @property
    def tgt_vocab_size(self) -> int:
        return self.tgt_tokenizer.vocab_size

    # ----------------------------------------------------------------- encoding and batches
    def encode(self, role: str, dataset: Dataset) -> Dataset:
        encoded = encode_column(
            dataset, self.src_tokenizer, self.source_column, "src_ids", max_length=self.max_length,
            keep=(self.target_column, ROW_COLUMN), desc=f"Tokenising {role} source",
        )
        return encode_column(
            encoded, self.tgt_tokenizer, self.target_column, "tgt_ids", max_length=self.max_length,
            add_bos=True, add_eos=True, keep=("src_ids", ROW_COLUMN), desc=f"Tokenising {role} target",
        )

    def collator(self) -> PadCollator:
        return PadCollator(self.pad_id, ["src_ids", "tgt_ids"], {ROW_COLUMN: "rows"})

    def length_column(self) -> str:
        return "tgt_ids"  # the decoder's step loop is the cost, and it runs over the target length

    def setup(self, stage: str | None = None) -> None:
        super().setup(stage)
        trainer = self.trainer
        if trainer is not None and not self.joint_vocabulary:
            log_dir = trainer.log_dir
            if log_dir and trainer.is_global_zero:
                self.tgt_tokenizer.save(Path(log_dir) / TARGET_TOKENIZER_DIR)
