"""Speech test fixtures: the shipped FSDD rows (tests/fixtures/data/fsdd) as WAV files, a 16 kHz and a stereo copy."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from tests.helpers import REPO

FSDD_FIXTURE = REPO / "tests" / "fixtures" / "data" / "fsdd"


def fixture_rows(split: str = "test") -> list[dict]:
    """The shipped rows of one split (``audio`` holds each WAV file's bytes)."""
    return pq.read_table(FSDD_FIXTURE / f"{split}.parquet").to_pylist()


def read_wav(data: bytes) -> tuple[np.ndarray, int]:
    import soundfile

    samples, rate = soundfile.read(io.BytesIO(data), dtype="float32")
    return samples, rate


@pytest.fixture(scope="session")
def wav_files(tmp_path_factory) -> dict[str, Path]:
    """``{file name: path}``: the shipped test rows written out as WAV files, plus ``16k.wav`` (the first, resampled
    to 16 kHz) and ``stereo.wav`` (the first on the left channel, half as loud on the right)."""
    import soundfile
    import soxr

    folder = tmp_path_factory.mktemp("wavs")
    files = {}
    for row in fixture_rows("test"):
        path = folder / row["file"]
        path.write_bytes(row["audio"])
        files[row["file"]] = path
    first, rate = read_wav(fixture_rows("test")[0]["audio"])
    soundfile.write(folder / "16k.wav", soxr.resample(first, rate, 16000), 16000)
    soundfile.write(folder / "stereo.wav", np.stack([first, first * 0.5], axis=1), rate)
    files["16k.wav"], files["stereo.wav"] = folder / "16k.wav", folder / "stereo.wav"
    return files


def concatenate(rows: list[dict], pause: float = 0.25, rate: int = 8000) -> np.ndarray:
    """The recordings of ``rows`` one after another with ``pause`` seconds of silence around each."""
    gap = np.zeros(int(pause * rate), dtype=np.float32)
    parts = [gap]
    for row in rows:
        parts += [read_wav(row["audio"])[0], gap]
    return np.concatenate(parts)
