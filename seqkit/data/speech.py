"""DataModules for speech: isolated words (one label per recording) and connected words built on the fly.

Both read a table with an audio column (a WAV file's bytes, the HuggingFace ``datasets`` ``Audio`` struct
``{bytes, path}``, or file paths) and a label column, decode every recording once (mono, resampled to
``features.sample_rate``; see :mod:`seqkit.data.audio`) and keep the samples in one flat array. Batches are
bucketed by length as the text tasks' are; each batch's features are computed in one go from its padded
waveforms (:class:`~seqkit.data.features.LogMelFrontend`), normalised, and masked with SpecAugment when training.

- :class:`SpokenWordsDataModule`: one recording, one class (the Free Spoken Digit Dataset's isolated digits).
- :class:`ConnectedWordsDataModule`: utterances of ``min_words..max_words`` recordings of one speaker joined with
  seeded random pauses (and optional noise), labelled with the sequence of their words, for CTC. Each training
  epoch draws new utterances; validation and test utterances are drawn once, with fixed seeds, from their own
  split's recordings only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import lightning as L
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from seqkit.data.base import (
    SplitLoaders,
    check_one_per_rank,
    check_own_sharding,
    rank_and_size,
    split_loader,
    split_sampler,
)
from seqkit.data.checks import check_columns, check_labels, check_not_empty
from seqkit.data.connected_words import (
    EVAL_SEEDS,
    Composition,
    ConnectedBatches,
    EpochBucketSampler,
    Plan,
    draw_plan,
)
from seqkit.data.features import AudioFeatures, LogMelFrontend, SpecAugment
from seqkit.data.info import DataInfo
from seqkit.data.options import TEST, TRAIN, VALIDATION, Batching, Splits
from seqkit.data.recordings import FeatureBatches, Recordings, WordBatches, decode_recordings, pad_waves
from seqkit.data.resumable import training_position
from seqkit.data.sampler import BucketBatchSampler, ShardSampler
from seqkit.data.sources import DataSource, describe_split, load_splits, log_origin
from seqkit.errors import ConfigError, DataError

if TYPE_CHECKING:
    from datasets import Dataset as HFDataset

__all__ = [
    "Composition", "ConnectedBatches", "ConnectedWordsDataModule", "EpochBucketSampler", "FeatureBatches", "Plan",
    "Recordings", "SpeechDataModule", "SpokenWordsDataModule", "WordBatches", "decode_recordings", "draw_plan",
    "pad_waves",
]




def _whole_batch(batch: dict[str, Tensor]) -> dict[str, Tensor]:
    return batch


class SpeechDataModule(SplitLoaders, L.LightningDataModule):
    """What both speech DataModules share: loading, checking and decoding the splits, class names, global feature
    statistics, bucketed loaders. Subclasses build each split's dataset.

    Args:
        source: The dataset; ``columns`` may map the roles ``audio``, ``label``, ``speaker`` and ``file``.
        features: How audio becomes features (:class:`~seqkit.data.features.AudioFeatures`); kept with the model.
        spec_augment: Mask bands of channels and spans of frames of training batches (off when ``None``).
        num_classes: Number of classes; default: the largest training label + 1 (or ``len(label_names)``).
        label_names: Class names in id order, kept with the model; default ``"0"``, ``"1"``...
        test_speakers: Hold these speakers out: every recording of theirs (from every split read) is the test
            split and every other recording trains (the speaker-independent protocol); ``None``: the splits as
            they are.
        max_seconds: Longest recording accepted (longer ones are refused, naming the row).
        batching: Batch sizes (default 32), bucketing, loader workers; ``max_tokens`` counts samples.
        splits: Split names, ``val_from_train``, ``max_rows`` and the seed.
    """

    default_batch_size = 32

    def __init__(
        self,
        source: DataSource,
        features: AudioFeatures | None = None,
        spec_augment: SpecAugment | None = None,
        num_classes: int | None = None,
        label_names: list[str] | None = None,
        test_speakers: list[str] | None = None,
        max_seconds: float | None = 30.0,
        batching: Batching | None = None,
        splits: Splits | None = None,
    ) -> None:
        super().__init__()
        self.source = source
        self.features = features or AudioFeatures()
        self.spec_augment = spec_augment
        self._num_classes = num_classes
        self.label_names = list(label_names) if label_names else None
        if self.label_names and num_classes is not None and len(self.label_names) != num_classes:
            raise ConfigError(f"label_names has {len(self.label_names)} names but num_classes is {num_classes}.")
        self.test_speakers = list(test_speakers) if test_speakers else None
        self.max_seconds = max_seconds
        self.batching = (batching or Batching()).with_defaults(self.default_batch_size)
        self.splits = splits or Splits()
        self._recordings: dict[str, Recordings] | None = None
        self._stats: dict[str, list[float]] | None = None
        self.datasets: dict[str, Dataset] = {}

    # ----------------------------------------------------------------- columns
    @property
    def audio_column(self) -> str:
        return self.source.column("audio", "audio")

    @property
    def label_column(self) -> str:
        return self.source.column("label", "label")

    @property
    def speaker_column(self) -> str:
        return self.source.column("speaker", "speaker")

    def column_roles(self) -> dict[str, str]:
        """``{role: column}`` of the columns read (``seqkit data show`` prints it)."""
        return {"audio": self.audio_column, "label": self.label_column, "speaker": self.speaker_column}

    def split_roles(self) -> dict[str, str]:
        """``{role: split name}`` read from the source."""
        wanted = {role: name for role, name in self.splits.names.items() if name}
        if self.splits.val_from_train:
            wanted.pop(VALIDATION, None)
        return wanted

    # ----------------------------------------------------------------- raw splits
    def _tables(self) -> dict[str, tuple[pa.Table, str]]:
        """Checked Arrow tables by role, with where each came from."""
        wanted = self.split_roles()
        names = list(dict.fromkeys(wanted.values()))
        log_origin(self.source, names)
        loaded = load_splits(self.source, names)
        for name, dataset in loaded.items():
            self._check(dataset, name, describe_split(self.source, name))
        tables = {role: (loaded[name].with_format("arrow")[:], describe_split(self.source, name))
                  for role, name in wanted.items()}
        if self.test_speakers:
            tables = self._hold_out_speakers(tables)
        if self.splits.val_from_train:
            table, where = tables[TRAIN]
            order = np.random.default_rng(self.splits.seed).permutation(table.num_rows)
            held = int(round(table.num_rows * self.splits.val_from_train))
            tables[VALIDATION] = (table.take(np.sort(order[:held])), f"{where}, held out")
            tables[TRAIN] = (table.take(np.sort(order[held:])), where)
        for role, (table, where) in list(tables.items()):
            limit = self.splits.rows(role)
            if limit is not None and limit < table.num_rows:
                rows = np.random.default_rng(self.splits.seed).permutation(table.num_rows)[:limit]
                tables[role] = (table.take(np.sort(rows)), where)
        return tables

    def _hold_out_speakers(self, tables: dict[str, tuple[pa.Table, str]]) -> dict[str, tuple[pa.Table, str]]:
        column = self.speaker_column
        pool = pa.concat_tables([table for role, (table, _) in tables.items() if role in (TRAIN, TEST)])
        if column not in pool.column_names:
            raise DataError(f"test_speakers needs a speaker column; the data has none named {column!r} (map it with "
                            "data.init_args.source.columns.speaker).")
        held = pc.is_in(pool.column(column), value_set=pa.array(self.test_speakers))
        known = set(pc.unique(pool.column(column)).to_pylist())
        unknown = [s for s in self.test_speakers if s not in known]
        if unknown:
            raise DataError(f"test_speakers names {unknown[0]!r}, who is not in the data (speakers: "
                            f"{', '.join(sorted(map(str, known)))}).")
        where = f"{self.source.label}, speakers {', '.join(self.test_speakers)} held out"
        return {TRAIN: (pool.filter(pc.invert(held)), where), TEST: (pool.filter(held), where)}

    def _check(self, dataset: HFDataset, split: str, where: str) -> None:
        check_not_empty(dataset, split, where)
        check_columns(dataset, [self.audio_column, self.label_column], split, where)
        check_labels(dataset, self.label_column, self._num_classes or (len(self.label_names) if self.label_names
                                                                        else None), split, where)

    @property
    def recordings(self) -> dict[str, Recordings]:
        """Decoded recordings by role, loaded once on first use."""
        if self._recordings is None:
            tables = self._tables()
            train_labels = tables[TRAIN][0].column(self.label_column)
            if self._num_classes is None:
                self._num_classes = len(self.label_names) if self.label_names else int(pc.max(train_labels).as_py()) + 1
            self._recordings = {
                role: decode_recordings(table, self.audio_column, self.label_column, self.speaker_column,
                                        self.features.sample_rate, where, self.source.column("file", "file"),
                                        self.max_seconds)
                for role, (table, where) in tables.items()
            }
            for role, recordings in self._recordings.items():
                if len(recordings) == 0:
                    raise DataError(f"Split '{role}' of {self.source.label} has no rows after selection.")
                if recordings.labels.max() >= self._num_classes:
                    raise DataError(f"Split '{role}' has label {int(recordings.labels.max())}, outside 0.."
                                    f"{self._num_classes - 1}; set data.init_args.num_classes or label_names.")
        return self._recordings

    # ----------------------------------------------------------------- values the model needs (linked by the CLI)
    def data_info(self) -> DataInfo:
        """What tasks read besides the batches: the class names."""
        return DataInfo(label_names=self.label_names)

    @property
    def num_classes(self) -> int:
        _ = self.recordings
        return self._num_classes

    @property
    def audio_features(self) -> AudioFeatures:
        """The feature settings, passed to the model (which keeps them for new audio)."""
        return self.features

    @property
    def num_features(self) -> int:
        """Width ``F`` of each feature vector."""
        return self.features.num_features

    @property
    def feature_stats(self) -> dict[str, list[float]] | None:
        """Training-set mean and standard deviation of each feature (``normalization: global``), else ``None``."""
        if self.features.normalization != "global":
            return None
        if self._stats is None:
            self._stats = self._training_stats()
        return self._stats

    def stats_waves(self) -> list[np.ndarray]:
        """The waveforms global statistics are computed over (the training recordings)."""
        train = self.recordings[TRAIN]
        return [train.wave(i) for i in range(len(train))]

    def _training_stats(self) -> dict[str, list[float]]:
        frontend = LogMelFrontend(self.features)
        total = torch.zeros(self.num_features, dtype=torch.float64)
        square = torch.zeros_like(total)
        count = 0
        waves = self.stats_waves()
        for start in range(0, len(waves), 256):  # batched: one stft per 256 recordings
            feats, frames = frontend(*pad_waves(waves[start : start + 256]))
            mask = torch.arange(feats.shape[1]) < frames[:, None]
            real = feats[mask].double()  # (frames, F)
            total += real.sum(0)
            square += real.square().sum(0)
            count += real.shape[0]
        mean = total / count
        std = (square / count - mean.square()).clamp(min=1e-10).sqrt()
        return {"mean": mean.tolist(), "std": std.tolist()}

    # ----------------------------------------------------------------- Lightning hooks
    def build(self, role: str, recordings: Recordings, train: bool) -> tuple[Dataset, np.ndarray | None]:
        """The dataset of one split and, for bucketing, each item's length (``None``: the dataset's own sampler)."""
        raise NotImplementedError

    def prepare_data(self) -> None:
        pass

    def setup(self, stage: str | None = None) -> None:
        if not self.datasets:
            self.datasets = {role: self.build(role, recordings, role == TRAIN)
                             for role, recordings in self.recordings.items()}
        check_own_sharding(self.trainer)

    def _sampler(self, role: str, train: bool) -> BucketBatchSampler:
        """Under DDP every item is on exactly one rank (``BucketBatchSampler``'s sharding), in training and in
        evaluation."""
        _, lengths = self.datasets[role]
        return split_sampler(lengths, self.batching, self.splits.seed, self.trainer, role, train, unit="utterances")

    def _predict_part(self) -> tuple[Dataset, ShardSampler]:
        """The test split and this rank's contiguous part of it (all of it on one process)."""
        if TEST not in self.datasets:
            raise DataError(f"No test split is configured for {self.source.label}; set data.init_args.splits.test.")
        dataset = self.datasets[TEST][0]
        rank, world_size = rank_and_size(self.trainer)
        check_one_per_rank(TEST, len(dataset), world_size, unit="utterances")
        return dataset, ShardSampler(len(dataset), world_size, rank)

    def prepared_splits(self) -> dict[str, tuple[Dataset, np.ndarray | None]]:
        return self.datasets

    def _loader(self, role: str, train: bool) -> DataLoader:
        if role not in self.datasets:
            raise DataError(f"No {role} split is configured for {self.source.label}; set data.init_args.splits.{role}.")
        return split_loader(self.datasets[role][0], self._sampler(role, train), _whole_batch, self.batching,
                            self._train_position if train else None)

    def _train_position(self) -> tuple[int, int]:
        return training_position(self.trainer)

    def predict_dataloader(self) -> DataLoader:
        """The test split in its own order (under DDP each rank predicts a contiguous part of it)."""
        dataset, part = self._predict_part()
        return DataLoader(dataset, sampler=part, batch_size=self.batching.eval_batch_size, collate_fn=_whole_batch,
                          num_workers=self.batching.num_workers)


class SpokenWordsDataModule(SpeechDataModule):
    """Isolated words: one recording, one class. Batches: ``features`` ``(B, T, F)``, ``feature_lengths`` ``(B,)``,
    ``labels`` ``(B,)``. Arguments as :class:`SpeechDataModule`."""

    def build(self, role: str, recordings: Recordings, train: bool) -> tuple[Dataset, np.ndarray]:
        featurize = FeatureBatches(self.features, self.spec_augment, train)
        return WordBatches(recordings, featurize), recordings.lengths


class ConnectedWordsDataModule(SpeechDataModule):
    """Connected words for CTC, composed on the fly from isolated recordings (see the module docstring).

    Batches: ``features`` ``(B, T, F)``, ``feature_lengths`` ``(B,)``, ``targets`` ``(B, W)`` (class ids, -1 past
    each utterance's words) and ``target_lengths`` ``(B,)``.

    Args:
        composition: How utterances are drawn (:class:`Composition`).
        source, features, spec_augment, num_classes, label_names, test_speakers, max_seconds, batching, splits:
            As :class:`SpeechDataModule`.
    """

    default_batch_size = 32

    def __init__(self, source: DataSource, composition: Composition | None = None,
                 features: AudioFeatures | None = None, spec_augment: SpecAugment | None = None,
                 num_classes: int | None = None, label_names: list[str] | None = None,
                 test_speakers: list[str] | None = None, max_seconds: float | None = 30.0,
                 batching: Batching | None = None, splits: Splits | None = None) -> None:
        super().__init__(source, features, spec_augment, num_classes, label_names, test_speakers, max_seconds,
                         batching, splits)
        self.composition = composition or Composition()

    def build(self, role: str, recordings: Recordings, train: bool) -> tuple[Dataset, None]:
        c = self.composition
        count = c.train_utterances if train else c.eval_utterances
        limit = self.splits.rows(role)
        count = min(count, limit) if limit is not None else count
        seed = c.seed if train else c.seed + EVAL_SEEDS.get(role, 3_000_003)
        dataset = ConnectedBatches(recordings, c, count, seed, self.features.sample_rate,
                                   FeatureBatches(self.features, self.spec_augment, train), per_epoch=train)
        return dataset, None

    def stats_waves(self) -> list[np.ndarray]:
        """Global statistics come from the first training epoch's utterances (pauses included)."""
        dataset = self.datasets[TRAIN][0] if self.datasets else self.build(TRAIN, self.recordings[TRAIN], True)[0]
        plan = dataset.plan(0)
        return [dataset.compose(plan, i) for i in range(min(len(dataset), 2000))]

    def _sampler(self, role: str, train: bool) -> BucketBatchSampler:
        dataset, _ = self.datasets[role]
        return split_sampler(dataset.plan(0).lengths, self.batching, self.splits.seed, self.trainer, role, train,
                             unit="utterances", sampler_class=EpochBucketSampler, dataset=dataset)

    def predict_dataloader(self) -> DataLoader:
        dataset, part = self._predict_part()
        return DataLoader(dataset, batch_sampler=[[i] for i in part], collate_fn=_whole_batch)
