"""Reading audio: WAV bytes and files, the datasets Audio struct, resampling, stereo, bad files, long files."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import torch

from seqkit.data.audio import audio_column_items, check_audio, decode_audio, stream_audio
from seqkit.data.features import AudioFeatures, LogMelFrontend, SpecAugment, normalize_utterances
from seqkit.errors import ConfigError, DataError
from tests.speech.conftest import fixture_rows, read_wav

FEATURES = AudioFeatures(sample_rate=8000)


def test_bytes_file_and_datasets_struct_decode_to_the_same_samples(wav_files):
    row = fixture_rows("test")[0]
    expected, rate = read_wav(row["audio"])
    assert rate == 8000 and row["num_frames"] == len(expected)
    from_bytes = decode_audio(row["audio"], 8000)
    from_file = decode_audio(wav_files[row["file"]], 8000)
    from_struct = decode_audio({"bytes": None, "path": str(wav_files[row["file"]])}, 8000)
    from_array = decode_audio({"array": expected, "sampling_rate": 8000}, 8000)
    for samples in (from_bytes, from_file, from_struct, from_array):
        assert samples.dtype == np.float32
        np.testing.assert_array_equal(samples, expected)


def test_a_16k_file_is_resampled_and_a_stereo_file_mixed_to_mono(wav_files):
    original = decode_audio(fixture_rows("test")[0]["audio"], 8000)
    resampled = decode_audio(wav_files["16k.wav"], 8000)
    assert abs(len(resampled) - len(original)) <= 2
    n = min(len(original), len(resampled))
    # soxr's round trip 8k -> 16k -> 8k keeps the speech band: the signals correlate almost perfectly
    assert np.corrcoef(original[:n], resampled[:n])[0, 1] > 0.99
    stereo = decode_audio(wav_files["stereo.wav"], 8000)
    np.testing.assert_allclose(stereo, original * 0.75, atol=1e-4)  # mean of the two channels


def test_audio_columns_are_read_as_bytes_structs_or_paths():
    import pyarrow as pa

    assert audio_column_items(pa.array([b"RIFF"], pa.binary())) == [b"RIFF"]
    struct = pa.array([{"bytes": b"RIFF", "path": "a.wav"}])
    assert audio_column_items(struct) == [{"bytes": b"RIFF", "path": "a.wav"}]
    with pytest.raises(DataError, match="must hold file bytes"):
        audio_column_items(pa.array([1.5]))


@pytest.mark.parametrize("content, problem", [
    (b"", "is empty \\(0 bytes\\)"),
    (b"hello, this is text in a file named .wav\n", "is not audio that libsndfile can read"),
])
def test_bad_files_are_one_line_errors_naming_the_file(tmp_path, content, problem):
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    for read in (lambda: decode_audio(path, 8000), lambda: check_audio(path), lambda: list(stream_audio(path, 8000))):
        with pytest.raises(DataError, match=problem) as caught:
            read()
        message = str(caught.value)
        assert str(path) in message and "\n" not in message


def test_zero_samples_nan_and_too_long_are_refused(tmp_path):
    import soundfile

    empty = tmp_path / "zero.wav"
    soundfile.write(empty, np.zeros(0, dtype=np.float32), 8000)
    readers = (lambda: decode_audio(empty, 8000), lambda: check_audio(empty), lambda: list(stream_audio(empty, 8000)))
    for read in readers:
        with pytest.raises(DataError, match="holds no audio \\(0 samples\\)"):
            read()
    with pytest.raises(DataError, match="NaN or infinite"):
        decode_audio(np.array([0.1, np.nan], dtype=np.float32), 8000, "clip")
    longer = tmp_path / "long.wav"
    soundfile.write(longer, np.zeros(8000 * 3, dtype=np.float32), 8000)
    with pytest.raises(DataError, match="is 3.0 s long; at most 2 s"):
        check_audio(longer, max_seconds=2)
    with pytest.raises(DataError, match="does not exist"):
        decode_audio(tmp_path / "missing.wav", 8000)


def test_features_are_the_same_alone_padded_and_in_blocks():
    frontend = LogMelFrontend(FEATURES)
    waves = [decode_audio(row["audio"], 8000) for row in fixture_rows("test")[:3]]
    lengths = torch.tensor([len(w) for w in waves])
    padded = torch.zeros(3, int(lengths.max()))
    for row, wave in enumerate(waves):
        padded[row, : len(wave)] = torch.from_numpy(wave)
    batch, frames = frontend(padded, lengths)
    assert batch.shape == (3, int(lengths.max()) // 80 + 1, 40)
    assert frames.tolist() == [int(n) // 80 + 1 for n in lengths]
    for row, wave in enumerate(waves):
        alone, _ = frontend(torch.from_numpy(wave)[None], torch.tensor([len(wave)]))
        torch.testing.assert_close(batch[row, : frames[row]], alone[0], atol=1e-4, rtol=1e-4)
        assert batch[row, frames[row]:].abs().sum() == 0
        # in uneven chunks and small blocks: the same frames
        chunks = [wave[:333], wave[333:1000], wave[1000:]]
        blocks = torch.cat(list(frontend.blocks(chunks, frames_per_block=7)))
        torch.testing.assert_close(blocks, alone[0], atol=1e-4, rtol=1e-4)


def test_mfcc_normalisation_and_spec_augment():
    wave = torch.from_numpy(decode_audio(fixture_rows("test")[0]["audio"], 8000))[None]
    frontend = LogMelFrontend(AudioFeatures(sample_rate=8000, kind="mfcc", num_mfcc=13))
    mfcc, frames = frontend(wave, torch.tensor([wave.shape[1]]))
    assert mfcc.shape[-1] == 13
    normal = normalize_utterances(mfcc, frames)
    torch.testing.assert_close(normal[0].mean(0), torch.zeros(13), atol=1e-4, rtol=0)
    torch.testing.assert_close(normal[0].std(0, unbiased=False), torch.ones(13), atol=1e-3, rtol=0)
    masked = SpecAugment(freq_masks=2, freq_width=5, time_masks=2, time_width=5)(
        torch.ones(4, 50, 13), torch.tensor([50, 40, 30, 20]), torch.Generator().manual_seed(0))
    zeros = (masked == 0)
    assert zeros.any() and not zeros.all()
    assert (masked[3, :, :] == 0).all(1).sum() <= 2 * 4  # spans of at most 20% of 20 frames
    with pytest.raises(ConfigError, match="num_mfcc"):
        AudioFeatures(kind="mfcc", num_mfcc=50, num_mels=40)


def test_a_ten_minute_file_streams_in_bounded_memory(tmp_path):
    """A 10-minute 16 kHz file (19 MB as int16, 38 MB as float32 samples) becomes features while Python-side
    allocations (numpy's, traced by tracemalloc) stay a fraction of the whole signal."""
    import soundfile

    path = tmp_path / "ten-minutes.wav"
    rate, seconds = 16000, 600
    rng = np.random.default_rng(0)
    with soundfile.SoundFile(path, "w", rate, 1, "PCM_16") as out:
        for _ in range(seconds // 60):
            out.write((rng.standard_normal(rate * 60) * 0.1).astype(np.float32))
    frontend = LogMelFrontend(FEATURES)
    tracemalloc.start()
    try:
        frames = sum(len(block) for block in frontend.blocks(stream_audio(path, 8000)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert frames == FEATURES.num_frames(seconds * 8000)
    whole = seconds * rate * 4  # the float32 signal at its own rate
    assert peak < whole / 4, f"peak {peak / 1e6:.1f} MB for a {whole / 1e6:.0f} MB signal"
