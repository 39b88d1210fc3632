"""Data layer: sources, checks, tokenizers, cached tokenisation, collation, bucketing and DataModules."""

from seqkit.data.base import TextDataModule
from seqkit.data.classification import TextClassificationDataModule
from seqkit.data.collate import ArrowBatches, PadCollator
from seqkit.data.encoding import encode_column, pad_ids, sequence_lengths, truncate
from seqkit.data.features import AudioFeatures, LogMelFrontend, SpecAugment
from seqkit.data.forecasting import ForecastingDataModule
from seqkit.data.hierarchical import HierarchicalCollator, HierarchicalDataModule
from seqkit.data.info import NOT_GIVEN, DataInfo, DataNeed
from seqkit.data.language_modeling import LanguageModelingDataModule
from seqkit.data.options import Batching, Splits
from seqkit.data.sampler import BucketBatchSampler, padding_fraction
from seqkit.data.sentences import SentenceSplitter
from seqkit.data.sources import DataSource, load_splits
from seqkit.data.speech import (
    Composition,
    ConnectedWordsDataModule,
    SpeechDataModule,
    SpokenWordsDataModule,
)
from seqkit.data.tokenizers import Tokenizer, TokenizerConfig, build_tokenizer, load_tokenizer, train_tokenizer
from seqkit.data.translation import TranslationDataModule
from seqkit.data.trees import TreeCollator, TreeDataModule, parse_tree

__all__ = [
    "ArrowBatches",
    "AudioFeatures",
    "Composition",
    "ConnectedWordsDataModule",
    "DataInfo",
    "DataNeed",
    "Batching",
    "BucketBatchSampler",
    "DataSource",
    "ForecastingDataModule",
    "HierarchicalCollator",
    "HierarchicalDataModule",
    "LanguageModelingDataModule",
    "LogMelFrontend",
    "NOT_GIVEN",
    "PadCollator",
    "SentenceSplitter",
    "SpecAugment",
    "SpeechDataModule",
    "SpokenWordsDataModule",
    "Splits",
    "TextClassificationDataModule",
    "TextDataModule",
    "Tokenizer",
    "TokenizerConfig",
    "TranslationDataModule",
    "TreeCollator",
    "TreeDataModule",
    "build_tokenizer",
    "encode_column",
    "load_splits",
    "load_tokenizer",
    "pad_ids",
    "parse_tree",
    "padding_fraction",
    "sequence_lengths",
    "train_tokenizer",
    "truncate",
]
