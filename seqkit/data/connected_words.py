"""Connected words composed on the fly: utterances of ``min_words..max_words`` recordings of one speaker joined
with seeded random pauses (and optional noise), labelled with the sequence of their words, for CTC.

A :class:`Plan` is one seeded draw of utterances (:func:`draw_plan`); :class:`ConnectedBatches` composes their
waveforms and features, redrawing every training epoch; :class:`EpochBucketSampler` buckets them by the epoch's
lengths. :class:`~seqkit.data.speech.ConnectedWordsDataModule` puts them together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from seqkit.data.options import TEST, VALIDATION
from seqkit.data.recordings import FeatureBatches, Recordings
from seqkit.data.sampler import BucketBatchSampler
from seqkit.errors import ConfigError


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
EVAL_SEEDS = {VALIDATION: 1_000_003, TEST: 2_000_003}


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
