"""Decoded recordings and their batches: every recording of a split decoded once into one flat array
(:class:`Recordings`), and the padded waveforms of a batch turned into features (:class:`FeatureBatches`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import torch
from torch import Tensor
from torch.utils.data import Dataset

from seqkit.data.audio import audio_column_items, decode_audio
from seqkit.data.features import AudioFeatures, LogMelFrontend, SpecAugment, normalize_utterances
from seqkit.errors import DataError


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
