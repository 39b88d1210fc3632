"""Reading audio: decoding, mixing to mono, resampling, and long files block by block.

Decoding is libsndfile's, through ``soundfile`` (the library ships inside its wheel: WAV, FLAC, OGG/Vorbis, Opus and
MP3 read without ffmpeg); resampling is libsoxr's, through ``soxr`` (its "HQ" quality, as librosa uses by default).
Both come with the ``speech`` extra (``pip install 'seqkit[speech]'``) and are imported only here.

An input is a file path, the bytes of a file, a dict as the HuggingFace ``datasets`` ``Audio`` feature stores it
(``{"bytes": ..., "path": ...}``, or decoded ``{"array": ..., "sampling_rate": ...}``), or an array of samples
(``(S,)`` or ``(S, C)``) at a known rate. Every problem with an input is one :class:`~seqkit.errors.DataError` line
that names it: an empty file, a file that is not audio, audio with no samples, samples that are not finite, or a
file longer than a given limit (read from the header, before anything is decoded).
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from seqkit.errors import DataError

#: Seconds of audio decoded, resampled and turned into features at a time by :func:`stream_audio`.
BLOCK_SECONDS = 20.0
#: What soxr calls its quality settings; "HQ" is librosa's default.
RESAMPLE_QUALITY = "HQ"


def _libraries() -> tuple[Any, Any]:
    try:
        import soundfile
        import soxr
    except ImportError as error:
        raise DataError(f"Reading audio needs the speech extra ({error.name} is missing): "
                        "pip install 'seqkit[speech]'.") from None
    return soundfile, soxr


def describe(item: Any, fallback: str = "audio") -> str:
    """A short name for an input in messages: its path, a dict's ``path``, or ``fallback``."""
    if isinstance(item, str | Path):
        return str(item)
    if isinstance(item, Mapping) and item.get("path"):
        return str(item["path"])
    return fallback


def _open_source(item: Any, name: str) -> Any:
    """What ``soundfile`` opens for ``item``: a path or a bytes buffer (arrays are handled by the caller)."""
    if isinstance(item, Mapping):
        if item.get("bytes") is not None:
            item = item["bytes"]
        elif item.get("path"):
            item = item["path"]
        else:
            raise DataError(f"{name}: an audio record needs 'bytes' or 'path' (or 'array' and 'sampling_rate').")
    if isinstance(item, bytes | bytearray | memoryview):
        if len(item) == 0:
            raise DataError(f"{name} is empty (0 bytes): not an audio file.")
        return io.BytesIO(bytes(item))
    path = Path(item).expanduser()
    if not path.is_file():
        raise DataError(f"Audio file {path} does not exist.")
    if path.stat().st_size == 0:
        raise DataError(f"{path} is empty (0 bytes): not an audio file.")
    return str(path)


def _open(soundfile: Any, source: Any, name: str) -> Any:
    try:
        return soundfile.SoundFile(source)
    except Exception as error:  # soundfile.LibsndfileError and friends: not audio it can read
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        reason = reason.replace(f"Error opening {source!r}: ", "").rstrip(".")
        raise DataError(f"{name} is not audio that libsndfile can read ({reason}); give a WAV, FLAC, OGG or MP3 "
                        "file.") from None


def _mono(samples: np.ndarray) -> np.ndarray:
    """``(S, C)`` or ``(S,)`` -> ``(S,)`` float32, channels averaged."""
    samples = np.asarray(samples, dtype=np.float32)
    return samples.mean(axis=1, dtype=np.float32) if samples.ndim == 2 else samples


def _check_samples(samples: np.ndarray, name: str) -> np.ndarray:
    if samples.size == 0:
        raise DataError(f"{name} holds no audio (0 samples).")
    if not np.isfinite(samples).all():
        raise DataError(f"{name} holds NaN or infinite samples; re-export it as plain PCM audio.")
    return samples


def resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Mono ``(S,)`` float32 samples from ``rate`` to ``target`` Hz (libsoxr); unchanged when the rates agree."""
    if rate == target:
        return samples
    _, soxr = _libraries()
    return soxr.resample(samples, rate, target, quality=RESAMPLE_QUALITY).astype(np.float32, copy=False)


def _check_length(frames: int, rate: int, name: str, max_seconds: float | None) -> None:
    if max_seconds is not None and frames > max_seconds * rate:
        raise DataError(f"{name} is {frames / rate:.1f} s long; at most {max_seconds:g} s are read "
                        "(raise max_seconds, or cut the file).")


def check_audio(item: Any, name: str | None = None, max_seconds: float | None = None) -> tuple[int, int, int]:
    """``(sample rate, channels, frames)`` from the header of a file (path or bytes), after refusing an empty file,
    one that is not audio, one with no samples or one longer than ``max_seconds``; nothing is decoded."""
    name = name or describe(item)
    soundfile, _ = _libraries()
    with _open(soundfile, _open_source(item, name), name) as handle:
        if handle.frames == 0:
            raise DataError(f"{name} holds no audio (0 samples).")
        _check_length(handle.frames, handle.samplerate, name, max_seconds)
        return handle.samplerate, handle.channels, handle.frames


def decode_audio(item: Any, sample_rate: int, name: str | None = None, max_seconds: float | None = None) -> np.ndarray:
    """The whole of one input as mono float32 samples ``(S,)`` at ``sample_rate`` (see the module docstring).

    Arrays (``np.ndarray``, or a ``{"array", "sampling_rate"}`` dict) are taken to be at ``sample_rate`` unless
    the dict says otherwise.
    """
    name = name or describe(item)
    if isinstance(item, Mapping) and item.get("array") is not None:
        samples = _check_samples(_mono(item["array"]), name)
        rate = int(item.get("sampling_rate") or sample_rate)
        _check_length(len(samples), rate, name, max_seconds)
        return resample(samples, rate, sample_rate)
    if isinstance(item, np.ndarray) or hasattr(item, "numpy"):
        samples = _check_samples(_mono(item.numpy() if hasattr(item, "numpy") else item), name)
        _check_length(len(samples), sample_rate, name, max_seconds)
        return samples
    soundfile, _ = _libraries()
    with _open(soundfile, _open_source(item, name), name) as handle:
        _check_length(handle.frames, handle.samplerate, name, max_seconds)
        rate = handle.samplerate
        samples = _check_samples(_mono(handle.read(dtype="float32", always_2d=True)), name)
    return resample(samples, rate, sample_rate)


def stream_audio(item: Any, sample_rate: int, name: str | None = None, max_seconds: float | None = None,
                 block_seconds: float = BLOCK_SECONDS) -> Iterator[np.ndarray]:
    """One input as consecutive mono float32 blocks at ``sample_rate``, about ``block_seconds`` each: a long file is
    never held whole (a 10-minute 44.1 kHz stereo file is read ~20 s at a time). Arrays come as one block."""
    name = name or describe(item)
    if isinstance(item, np.ndarray) or hasattr(item, "numpy") or (
            isinstance(item, Mapping) and item.get("array") is not None):
        yield decode_audio(item, sample_rate, name, max_seconds)
        return
    soundfile, soxr = _libraries()
    with _open(soundfile, _open_source(item, name), name) as handle:
        _check_length(handle.frames, handle.samplerate, name, max_seconds)
        rate = handle.samplerate
        stream = None if rate == sample_rate else soxr.ResampleStream(rate, sample_rate, 1, dtype="float32",
                                                                      quality=RESAMPLE_QUALITY)
        block = max(1, math.ceil(block_seconds * rate))
        total = 0
        for raw in handle.blocks(blocksize=block, dtype="float32", always_2d=True):
            samples = _mono(raw)
            if not np.isfinite(samples).all():
                raise DataError(f"{name} holds NaN or infinite samples; re-export it as plain PCM audio.")
            total += len(samples)
            out = samples if stream is None else stream.resample_chunk(samples, last=False)
            if len(out):
                yield out
        if total == 0:
            raise DataError(f"{name} holds no audio (0 samples).")
        if stream is not None:
            tail = stream.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
            if len(tail):
                yield tail


def audio_column_items(column: Any) -> list[Any]:
    """The items of an Arrow audio column as :func:`decode_audio` takes them: ``bytes`` for a binary column (plain
    WAV bytes), ``{"bytes", "path"}`` dicts for the ``datasets`` ``Audio`` struct, paths for a string column."""
    import pyarrow as pa

    kind = column.type
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return column.to_pylist()
    if pa.types.is_struct(kind) and {"bytes", "path"} & {field.name for field in kind}:
        return column.to_pylist()
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return column.to_pylist()
    raise DataError(f"An audio column must hold file bytes, {{bytes, path}} records (the datasets Audio feature) or "
                    f"file paths; this one holds {kind}.")
