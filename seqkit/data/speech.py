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

from dataclasses import dataclass
from typing import TYPE_CHECKING

import lightning as L
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from seqkit.data.audio import audio_column_items, decode_audio
from seqkit.data.base import check_one_per_rank, check_own_sharding, rank_and_size
from seqkit.data.checks import check_columns, check_labels, check_not_empty
from seqkit.data.features import AudioFeatures, LogMelFrontend, SpecAugment, normalize_utterances
from seqkit.data.info import DataInfo
from seqkit.data.options import TEST, TRAIN, VALIDATION, Batching, Splits
from seqkit.data.resumable import ResumableDataLoader, training_position
from seqkit.data.sampler import BucketBatchSampler, ShardSampler
from seqkit.data.sources import DataSource, describe_split, load_splits, log_origin
from seqkit.errors import ConfigError, DataError

if TYPE_CHECKING:
    from datasets import Dataset as HFDataset


@dataclass
class Recordings:
    """The decoded recordings of one split.

    Attributes:
        samples: Every recording's mono samples, one after another ``(S_total,)`` float32.
        offsets: Where each recording starts and ends in ``samples`` ``(N + 1,)``.
        labels: Class id of each recording ``(N,)``.
        groups: Group id of each recording (its speaker) ``(N,)``; all 0 without a group column.
    """

    samples: np.ndarray
    offsets: np.ndarray
    labels: np.ndarray
    groups: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def lengths(self) -> np.ndarray:
        """Samples of each recording ``(N,)``."""
        return np.diff(self.offsets)

    def wave(self, index: int) -> np.ndarray:
        return self.samples[self.offsets[index] : self.offsets[index + 1]]


def decode_recordings(table: pa.Table, audio: str, label: str, group: str | None, sample_rate: int,
                      where: str, name_column: str | None = None, max_seconds: float | None = None) -> Recordings:
    """Decode the audio column of ``table`` (one split) into :class:`Recordings`; a bad file is one line naming
    its row (and file name, when ``name_column`` holds one)."""
    items = audio_column_items(table.column(audio))
    names = table.column(name_column).to_pylist() if name_column in table.column_names else None
    waves = []
    for row, item in enumerate(items):
        if item is None:
            raise DataError(f"Row {row} of {where} has no audio (null).")
        file = f"{names[row]}, " if names else ""
        waves.append(decode_audio(item, sample_rate, f"Audio of row {row} ({file}{where})", max_seconds))
    offsets = np.zeros(len(waves) + 1, dtype=np.int64)
    np.cumsum([len(w) for w in waves], out=offsets[1:])
    samples = np.concatenate(waves) if waves else np.zeros(0, dtype=np.float32)
    if group and group in table.column_names:
        _, groups = np.unique(np.asarray(table.column(group).to_pylist(), dtype=object).astype(str),
                              return_inverse=True)
    else:
        groups = np.zeros(len(waves), dtype=np.int64)
    labels = table.column(label).to_numpy().astype(np.int64)
    return Recordings(samples, offsets, labels, groups.astype(np.int64))


def pad_waves(waves: list[np.ndarray]) -> tuple[Tensor, Tensor]:
    """``(B, S)`` zero-padded float32 waveforms and their lengths ``(B,)``."""
    lengths = np.array([len(w) for w in waves], dtype=np.int64)
    batch = np.zeros((len(waves), int(lengths.max(initial=1))), dtype=np.float32)
    for row, wave in enumerate(waves):
        batch[row, : len(wave)] = wave
    return torch.from_numpy(batch), torch.from_numpy(lengths)


class FeatureBatches:
    """Padded waveforms -> ``{"features": (B, T, F), "feature_lengths": (B,)}``: the frontend, utterance
    normalisation when configured, and SpecAugment for training batches."""

    def __init__(self, features: AudioFeatures, spec_augment: SpecAugment | None, train: bool) -> None:
        self.frontend = LogMelFrontend(features)
        self.normalize = features.normalization == "utterance"
        self.spec_augment = spec_augment if train else None

    def __call__(self, waves: list[np.ndarray]) -> dict[str, Tensor]:
        feats, frames = self.frontend(*pad_waves(waves))
        if self.normalize:
            feats = normalize_utterances(feats, frames)
        if self.spec_augment is not None:
            feats = self.spec_augment(feats, frames)
        return {"features": feats, "feature_lengths": frames}


class WordBatches(Dataset):
    """Whole batches of isolated recordings: features and ``labels`` ``(B,)``."""

    def __init__(self, recordings: Recordings, featurize: FeatureBatches) -> None:
        self.recordings, self.featurize = recordings, featurize

    def __len__(self) -> int:
        return len(self.recordings)

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        return self.__getitems__([index])

    def __getitems__(self, indices: list[int]) -> dict[str, Tensor]:
        batch = self.featurize([self.recordings.wave(i) for i in indices])
        batch["labels"] = torch.from_numpy(self.recordings.labels[np.asarray(indices)])
        return batch


def _whole_batch(batch: dict[str, Tensor]) -> dict[str, Tensor]:
    return batch


class SpeechDataModule(L.LightningDataModule):
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
        dataset, lengths = self.datasets[role]
        rank, world_size = rank_and_size(self.trainer)
        check_one_per_rank(role, len(dataset), world_size, unit="utterances")
        return BucketBatchSampler(
            lengths, self.batching.batch_size if train else self.batching.eval_batch_size,
            max_tokens=self.batching.max_tokens, shuffle=train, bucket=self.batching.bucketing,
            pool_factor=self.batching.pool_factor, seed=self.splits.seed, num_replicas=world_size, rank=rank,
        )

    def _predict_part(self) -> tuple[Dataset, ShardSampler]:
        """The test split and this rank's contiguous part of it (all of it on one process)."""
        if TEST not in self.datasets:
            raise DataError(f"No test split is configured for {self.source.label}; set data.init_args.splits.test.")
        dataset = self.datasets[TEST][0]
        rank, world_size = rank_and_size(self.trainer)
        check_one_per_rank(TEST, len(dataset), world_size, unit="utterances")
        return dataset, ShardSampler(len(dataset), world_size, rank)

    def _loader(self, role: str, train: bool) -> DataLoader:
        if role not in self.datasets:
            raise DataError(f"No {role} split is configured for {self.source.label}; set data.init_args.splits.{role}.")
        loader_class, extra = ((ResumableDataLoader, {"position": lambda: training_position(self.trainer)}) if train
                               else (DataLoader, {}))
        return loader_class(self.datasets[role][0], batch_sampler=self._sampler(role, train),
                            collate_fn=_whole_batch, num_workers=self.batching.num_workers,
                            persistent_workers=self.batching.num_workers > 0, **extra)

    def train_dataloader(self) -> DataLoader:
        return self._loader(TRAIN, train=True)

    def val_dataloader(self) -> DataLoader | list:
        return self._loader(VALIDATION, train=False) if VALIDATION in self.datasets else []

    def test_dataloader(self) -> DataLoader:
        return self._loader(TEST, train=False)

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


# --------------------------------------------------------------------------------------- connected words
@dataclass(frozen=True)
class Composition:
    """How connected utterances are drawn (``data.init_args.composition``).

    Every utterance is ``min_words..max_words`` recordings of one speaker (uniform), each preceded by a pause,
    with a pause at the end; pauses are uniform in ``[min_pause, max_pause]`` seconds.
    """

    min_words: int = 1
    """Fewest recordings in an utterance."""
    max_words: int = 7
    """Most recordings in an utterance."""
    min_pause: float = 0.05
    """Shortest pause (seconds)."""
    max_pause: float = 0.5
    """Longest pause (seconds)."""
    noise_snr: tuple[float, float] | None = None
    """White noise at a signal-to-noise ratio (dB) drawn uniformly from this range; ``None``: clean."""
    train_utterances: int = 4000
    """Utterances per training epoch (new ones every epoch)."""
    eval_utterances: int = 500
    """Validation and test utterances (drawn once)."""
    seed: int = 0
    """Seed of every draw (the epoch is added for training; validation and test use their own fixed offsets)."""

    def __post_init__(self) -> None:
        if not 1 <= self.min_words <= self.max_words:
            raise ConfigError(f"composition needs 1 <= min_words <= max_words, got {self.min_words}, {self.max_words}.")
        if not 0 <= self.min_pause <= self.max_pause:
            raise ConfigError(f"composition needs 0 <= min_pause <= max_pause, got {self.min_pause}, {self.max_pause}.")
        if self.train_utterances < 1 or self.eval_utterances < 1:
            raise ConfigError("composition.train_utterances and eval_utterances must be at least 1.")


#: Seed offsets of the evaluation draws, so validation and test never share a draw with a training epoch.
_EVAL_SEEDS = {VALIDATION: 1_000_003, TEST: 2_000_003}


@dataclass
class Plan:
    """One draw of ``U`` utterances: recordings ``(U, W)`` (-1 past ``counts``), pauses ``(U, W + 1)`` in samples,
    noise SNR ``(U,)`` in dB (NaN: none) and total lengths ``(U,)`` in samples."""

    picks: np.ndarray
    counts: np.ndarray
    pauses: np.ndarray
    snr: np.ndarray
    lengths: np.ndarray


def draw_plan(recordings: Recordings, composition: Composition, utterances: int, seed: int,
              sample_rate: int) -> Plan:
    """Draw ``utterances`` connected utterances from ``recordings`` (vectorised; same seed, same plan)."""
    rng = np.random.default_rng(seed)
    c = composition
    counts = rng.integers(c.min_words, c.max_words + 1, utterances)
    groups = np.unique(recordings.groups)
    speaker = groups[rng.integers(0, len(groups), utterances)]
    order = np.argsort(recordings.groups, kind="stable")  # recordings grouped by speaker
    starts = np.searchsorted(recordings.groups[order], groups)
    sizes = np.searchsorted(recordings.groups[order], groups, side="right") - starts
    where = np.searchsorted(groups, speaker)
    picks = order[starts[where][:, None] + (rng.random((utterances, c.max_words)) * sizes[where][:, None]).astype(int)]
    used = np.arange(c.max_words)[None, :] < counts[:, None]
    picks = np.where(used, picks, -1)
    pauses = np.round(rng.uniform(c.min_pause, c.max_pause, (utterances, c.max_words + 1)) * sample_rate)
    pauses = np.where(np.arange(c.max_words + 1)[None, :] <= counts[:, None], pauses, 0).astype(np.int64)
    snr = rng.uniform(*c.noise_snr, utterances) if c.noise_snr else np.full(utterances, np.nan)
    lengths = (np.where(used, recordings.lengths[np.maximum(picks, 0)], 0).sum(1) + pauses.sum(1)).astype(np.int64)
    return Plan(picks, counts, pauses, snr, lengths)


class ConnectedBatches(Dataset):
    """Connected utterances composed from ``recordings``: features, ``targets`` ``(B, W)`` (padded with -1) and
    ``target_lengths`` ``(B,)``.

    A training dataset draws a new :class:`Plan` per epoch: the batch sampler hands out ``epoch * U + i`` so that
    workers need no shared state; an evaluation dataset has one fixed plan.
    """

    def __init__(self, recordings: Recordings, composition: Composition, utterances: int, seed: int,
                 sample_rate: int, featurize: FeatureBatches, per_epoch: bool) -> None:
        self.recordings, self.composition = recordings, composition
        self.utterances, self.seed, self.sample_rate = utterances, seed, sample_rate
        self.featurize, self.per_epoch = featurize, per_epoch
        self._plans: dict[int, Plan] = {}

    def __len__(self) -> int:
        return self.utterances

    def plan(self, epoch: int) -> Plan:
        """The draw of ``epoch`` (always epoch 0 for evaluation), cached."""
        epoch = epoch if self.per_epoch else 0
        if epoch not in self._plans:
            self._plans = {epoch: draw_plan(self.recordings, self.composition, self.utterances, self.seed + epoch,
                                            self.sample_rate)}
        return self._plans[epoch]

    def compose(self, plan: Plan, index: int) -> np.ndarray:
        """The waveform of utterance ``index`` of ``plan``: pause, word, pause, word, ..., pause (+ noise)."""
        parts = []
        for slot in range(int(plan.counts[index])):
            parts.append(np.zeros(plan.pauses[index, slot], dtype=np.float32))
            parts.append(self.recordings.wave(int(plan.picks[index, slot])))
        parts.append(np.zeros(plan.pauses[index, plan.counts[index]], dtype=np.float32))
        wave = np.concatenate(parts)
        if not np.isnan(plan.snr[index]):
            rng = np.random.default_rng([self.seed, index, len(wave)])
            power = float(np.mean(np.square(wave))) or 1e-8
            wave = wave + rng.standard_normal(len(wave)).astype(np.float32) * np.sqrt(
                power / 10 ** (plan.snr[index] / 10)).astype(np.float32)
        return wave

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        return self.__getitems__([index])

    def __getitems__(self, indices: list[int]) -> dict[str, Tensor]:
        epoch = indices[0] // self.utterances
        plan = self.plan(epoch)
        local = [i % self.utterances for i in indices]
        batch = self.featurize([self.compose(plan, i) for i in local])
        picks = plan.picks[np.asarray(local)]
        targets = np.where(picks >= 0, self.recordings.labels[np.maximum(picks, 0)], -1)
        batch["targets"] = torch.from_numpy(targets)
        batch["target_lengths"] = torch.from_numpy(plan.counts[np.asarray(local)].astype(np.int64))
        return batch


@dataclass(eq=False, repr=False)
class EpochBucketSampler(BucketBatchSampler):
    """A :class:`BucketBatchSampler` over a dataset redrawn every epoch: lengths come from the epoch's plan, and
    indices are offset by ``epoch * N`` so the dataset knows which draw they belong to."""

    dataset: ConnectedBatches | None = None

    def batches(self) -> list[np.ndarray]:
        self.lengths = self.dataset.plan(self.epoch).lengths
        offset = self.epoch * len(self.lengths) if self.dataset.per_epoch else 0
        return [batch + offset for batch in super().batches()]


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
        seed = c.seed if train else c.seed + _EVAL_SEEDS.get(role, 3_000_003)
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
        rank, world_size = rank_and_size(self.trainer)
        check_one_per_rank(role, len(dataset), world_size, unit="utterances")
        return EpochBucketSampler(
            dataset.plan(0).lengths, self.batching.batch_size if train else self.batching.eval_batch_size,
            max_tokens=self.batching.max_tokens, shuffle=train, bucket=self.batching.bucketing,
            pool_factor=self.batching.pool_factor, seed=self.splits.seed, num_replicas=world_size, rank=rank,
            dataset=dataset,
        )

    def predict_dataloader(self) -> DataLoader:
        dataset, part = self._predict_part()
        return DataLoader(dataset, batch_sampler=[[i] for i in part], collate_fn=_whole_batch)
