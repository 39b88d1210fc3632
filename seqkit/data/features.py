"""Acoustic features of whole batches: log-mel filterbanks or MFCCs, normalisation, SpecAugment masking.

:class:`LogMelFrontend` turns a padded batch of waveforms ``(B, S)`` into features ``(B, T, F)`` with one
``torch.stft`` call and two matrix products: the mel filterbank is kaldi-native-fbank's (Kaldi's triangular filters
on the mel scale, ``MelBanks.get_matrix``), the MFCC's DCT-II the orthonormal one. There is no per-frame or
per-example Python: a batch costs the same few kernel calls whatever its size. Frames are centred (frame ``t``
covers samples ``t*hop - n_fft/2 .. t*hop + n_fft/2``, zeros beyond the signal), so an utterance gets the same
frames alone or padded in a batch, and a long file computed in blocks (:meth:`LogMelFrontend.blocks`) gets the
same frames as computed whole.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqkit.errors import ConfigError, DataError

FeatureKind = Literal["logmel", "mfcc"]
Normalization = Literal["utterance", "global", "none"]
#: Added to mel energies before the log, so silence (all zeros) stays finite.
LOG_FLOOR = 1e-6


@dataclass(frozen=True)
class AudioFeatures:
    """How audio becomes features (``data.init_args.features`` in a recipe); saved with every trained model."""

    sample_rate: int = 16000
    """Rate (Hz) every input is resampled to first (FSDD is 8,000 Hz)."""
    kind: FeatureKind = "logmel"
    """``logmel``: log mel-filterbank energies; ``mfcc``: their DCT-II, the first ``num_mfcc`` coefficients."""
    num_mels: int = 40
    """Mel filters."""
    num_mfcc: int = 13
    """Cepstral coefficients kept (``kind: mfcc``)."""
    window_ms: float = 25.0
    """Analysis window (Hann), in milliseconds; the FFT size is the next power of two."""
    hop_ms: float = 10.0
    """Step between frames, in milliseconds (10 ms: 100 frames a second)."""
    low_hz: float = 20.0
    """Lowest filter edge (Hz)."""
    high_hz: float | None = None
    """Highest filter edge (Hz); ``None``: half the sample rate."""
    normalization: Normalization = "utterance"
    """``utterance``: each feature to zero mean and unit variance over each utterance's frames (no statistics to
    keep); ``global``: with the training set's mean and standard deviation, kept with the model; ``none``."""

    def __post_init__(self) -> None:
        if self.sample_rate < 1000:
            raise ConfigError(f"features.sample_rate must be at least 1000 Hz, got {self.sample_rate}.")
        if self.num_mels < 1 or self.num_mfcc < 1:
            raise ConfigError("features.num_mels and features.num_mfcc must be at least 1.")
        if self.kind == "mfcc" and self.num_mfcc > self.num_mels:
            raise ConfigError(f"features.num_mfcc ({self.num_mfcc}) cannot exceed num_mels ({self.num_mels}).")
        if not 0 < self.hop_ms <= self.window_ms:
            raise ConfigError(f"features.hop_ms must be in (0, window_ms={self.window_ms}], got {self.hop_ms}.")
        nyquist = self.sample_rate / 2
        if not 0 <= self.low_hz < (self.high_hz or nyquist) <= nyquist:
            raise ConfigError(f"features need 0 <= low_hz < high_hz <= {nyquist:g} (half the sample rate); got "
                              f"low_hz={self.low_hz}, high_hz={self.high_hz}.")

    @property
    def num_features(self) -> int:
        """Width ``F`` of each feature vector."""
        return self.num_mfcc if self.kind == "mfcc" else self.num_mels

    @property
    def win_length(self) -> int:
        return round(self.window_ms * self.sample_rate / 1000)

    @property
    def hop_length(self) -> int:
        return round(self.hop_ms * self.sample_rate / 1000)

    @property
    def n_fft(self) -> int:
        return 1 << (self.win_length - 1).bit_length()

    def num_frames(self, samples: Tensor | int) -> Tensor | int:
        """Frames of ``samples`` samples: ``1 + samples // hop`` (0 for no samples)."""
        if isinstance(samples, Tensor):
            return torch.where(samples > 0, samples // self.hop_length + 1, 0)
        return samples // self.hop_length + 1 if samples > 0 else 0


def mel_matrix(features: AudioFeatures) -> Tensor:
    """``(num_mels, n_fft // 2 + 1)`` triangular mel filters, from kaldi-native-fbank's ``MelBanks``."""
    try:
        import kaldi_native_fbank as knf
    except ImportError:
        raise DataError("Audio features need the speech extra (kaldi-native-fbank is missing): "
                        "pip install 'seqkit[speech]'.") from None
    options = knf.MelBanksOptions()
    options.num_bins = features.num_mels
    options.low_freq = features.low_hz
    options.high_freq = features.high_hz or 0.0  # Kaldi: 0 means the Nyquist frequency
    frames = knf.FrameExtractionOptions()
    frames.samp_freq = features.sample_rate
    frames.frame_length_ms = features.win_length * 1000 / features.sample_rate
    frames.frame_shift_ms = features.hop_ms
    frames.round_to_power_of_two = True
    matrix = torch.tensor(np.asarray(knf.MelBanks(options, frames).get_matrix()), dtype=torch.float32)
    if matrix.shape != (features.num_mels, features.n_fft // 2 + 1):  # a library change must not go unnoticed
        raise DataError(f"kaldi-native-fbank returned a {tuple(matrix.shape)} mel matrix; expected "
                        f"{(features.num_mels, features.n_fft // 2 + 1)}.")
    return matrix


def dct_matrix(num_mels: int, num_mfcc: int) -> Tensor:
    """Orthonormal DCT-II ``(num_mfcc, num_mels)``: MFCCs are ``log_mel @ dct.T``."""
    n = torch.arange(num_mels, dtype=torch.float64)
    k = torch.arange(num_mfcc, dtype=torch.float64)[:, None]
    basis = torch.cos(math.pi / num_mels * (n + 0.5) * k) * math.sqrt(2.0 / num_mels)
    basis[0] /= math.sqrt(2.0)
    return basis.float()


class LogMelFrontend(nn.Module):
    """Waveforms ``(B, S)`` with lengths ``(B,)`` -> features ``(B, T, F)`` (zero past each length) and frame
    counts ``(B,)``, by :class:`AudioFeatures` (without normalisation: see :func:`normalize_utterances`)."""

    def __init__(self, features: AudioFeatures) -> None:
        super().__init__()
        self.features = features
        self.register_buffer("window", torch.hann_window(features.win_length, periodic=True), persistent=False)
        self.register_buffer("mel", mel_matrix(features), persistent=False)
        dct = dct_matrix(features.num_mels, features.num_mfcc) if features.kind == "mfcc" else torch.empty(0)
        self.register_buffer("dct", dct, persistent=False)

    def _frames(self, padded: Tensor) -> Tensor:
        """Features of every full ``n_fft`` window of ``padded`` ``(B, S')`` at the hop: ``(B, T, F)``."""
        f = self.features
        spectrum = torch.stft(padded, f.n_fft, f.hop_length, f.win_length, self.window, center=False,
                              return_complex=True)  # (B, n_fft/2 + 1, T)
        power = spectrum.real.square() + spectrum.imag.square()
        logmel = torch.log(torch.matmul(power.transpose(1, 2), self.mel.T) + LOG_FLOOR)  # (B, T, num_mels)
        return logmel @ self.dct.T if f.kind == "mfcc" else logmel

    @torch.no_grad()
    def forward(self, waves: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        half = self.features.n_fft // 2
        waves = waves.to(self.window.dtype)
        feats = self._frames(F.pad(waves, (half, half)))  # centred frames: 1 + S // hop of them
        frames = self.features.num_frames(lengths.to(feats.device))
        mask = torch.arange(feats.shape[1], device=feats.device) < frames[:, None]
        return feats * mask[..., None], frames

    @torch.no_grad()
    def blocks(self, chunks: Iterable[np.ndarray], frames_per_block: int = 2000) -> Iterator[Tensor]:
        """Features ``(T_i, F)`` of one long signal given as consecutive sample chunks, ``frames_per_block`` frames
        at a time: the same frames as :meth:`forward` on the whole signal, holding only about one block of
        samples at once."""
        f = self.features
        half, hop = f.n_fft // 2, f.hop_length
        buffer = np.zeros(half, dtype=np.float32)  # the centring zeros before the first sample
        first = 0  # index of the next frame to compute; the buffer starts at sample first*hop - half
        total = 0
        for chunk in chunks:
            buffer = np.concatenate([buffer, np.asarray(chunk, dtype=np.float32)])
            total += len(chunk)
            ready = (len(buffer) - f.n_fft) // hop + 1  # frames whose windows lie wholly in the buffer
            while ready >= frames_per_block:
                take = frames_per_block
                yield self._frames(torch.from_numpy(buffer[: (take - 1) * hop + f.n_fft])[None].to(self.mel))[0]
                buffer = buffer[take * hop :]
                first += take
                ready -= take
        if total == 0:
            return
        remaining = f.num_frames(total) - first
        if remaining > 0:
            need = (remaining - 1) * hop + f.n_fft
            buffer = np.concatenate([buffer, np.zeros(max(0, need - len(buffer)), dtype=np.float32)])
            yield self._frames(torch.from_numpy(buffer[:need])[None].to(self.mel))[0]


def normalize_utterances(feats: Tensor, frames: Tensor) -> Tensor:
    """Each utterance's features to zero mean and unit variance over its own frames: ``(B, T, F)``, padding zero."""
    mask = (torch.arange(feats.shape[1], device=feats.device) < frames[:, None])[..., None]  # (B, T, 1)
    count = frames.clamp(min=1).to(feats)[:, None, None]
    mean = (feats * mask).sum(1, keepdim=True) / count
    var = ((feats - mean).square() * mask).sum(1, keepdim=True) / count
    return (feats - mean) / (var + 1e-5).sqrt() * mask


@dataclass(frozen=True)
class SpecAugment:
    """SpecAugment-style masking of training features (Park et al. 2019, without time warping): bands of mel
    channels and spans of frames set to zero (the mean, after normalisation). ``data.init_args.spec_augment``."""

    freq_masks: int = 2
    """Frequency bands masked per utterance."""
    freq_width: int = 8
    """Widest band, in feature channels (each band is 0..freq_width wide, drawn per utterance)."""
    time_masks: int = 2
    """Spans of frames masked per utterance."""
    time_width: int = 10
    """Longest span, in frames."""
    max_time_fraction: float = 0.2
    """No span is longer than this share of its utterance."""

    def __post_init__(self) -> None:
        if min(self.freq_masks, self.freq_width, self.time_masks, self.time_width) < 0:
            raise ConfigError("spec_augment counts and widths must be 0 or more.")
        if not 0 <= self.max_time_fraction <= 1:
            raise ConfigError(f"spec_augment.max_time_fraction must be in [0, 1], got {self.max_time_fraction}.")

    def __call__(self, feats: Tensor, frames: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """``feats`` ``(B, T, F)`` with the masks applied (a new tensor); ``frames`` ``(B,)`` real lengths."""
        batch, steps, width = feats.shape
        keep = torch.ones(batch, steps, width, dtype=torch.bool, device=feats.device)
        channels = torch.arange(width, device=feats.device)[None, :]
        for _ in range(self.freq_masks):
            size = (torch.rand(batch, 1, generator=generator) * (min(self.freq_width, width) + 1)).long()
            start = (torch.rand(batch, 1, generator=generator) * (width - size + 1)).long()
            keep &= ~((channels >= start) & (channels < start + size))[:, None, :]
        times = torch.arange(steps, device=feats.device)[None, :]
        longest = torch.minimum(torch.full_like(frames, self.time_width),
                                (frames.float() * self.max_time_fraction).long())[:, None]
        for _ in range(self.time_masks):
            size = (torch.rand(batch, 1, generator=generator) * (longest + 1)).long()
            start = (torch.rand(batch, 1, generator=generator) * (frames[:, None] - size + 1).clamp(min=1)).long()
            keep &= ~((times >= start) & (times < start + size))[:, :, None]
        return feats * keep
