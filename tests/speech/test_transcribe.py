"""The speech recipes trained a few steps on the shipped FSDD rows; ``seqkit transcribe`` and
``seqkit.load(RUN).transcribe`` on files, lists, standard input and arrays; plots; publish and ONNX round trips."""

from __future__ import annotations

import io
import json
import sys

import numpy as np
import pytest

import seqkit
from seqkit.cli import main
from tests.helpers import REPO
from tests.speech.conftest import FSDD_FIXTURE, concatenate, fixture_rows

pytestmark = pytest.mark.slow

TINY = ["--data.init_args.source.name", str(FSDD_FIXTURE), "--model.init_args.network.hidden_size", "16",
        "--trainer.max_steps", "3", "--trainer.max_epochs", "1", "--trainer.limit_val_batches", "1",
        "--trainer.num_sanity_val_steps", "0", "--trainer.enable_progress_bar", "false",
        "--trainer.enable_model_summary", "false", "--trainer.accelerator", "cpu", "--trainer.devices", "1"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """``{"digits": run folder, "connected": run folder}``: each speech recipe trained three steps."""
    root = tmp_path_factory.mktemp("speech-runs")
    extra = {"connected": ["--data.init_args.composition.train_utterances", "24",
                           "--data.init_args.composition.eval_utterances", "8"], "digits": []}
    for name in ("digits", "connected"):
        assert main(["fit", "--config", str(REPO / "recipes" / "speech" / f"fsdd_{name}.yaml"),
                     "--run_dir", str(root / name), *TINY, *extra[name]]) == 0
    return {name: root / name for name in ("digits", "connected")}


def _lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_transcribe_files_lists_and_stdin_in_order(runs, wav_files, tmp_path, capsys, monkeypatch):
    names = ["0_george_0.wav", "16k.wav", "stereo.wav"]
    paths = [str(wav_files[n]) for n in names]
    assert main(["transcribe", "--checkpoint", str(runs["connected"]), *paths]) == 0
    direct = _lines(capsys.readouterr().out)
    assert [r["file"] for r in direct] == paths
    for record in direct:
        assert set(record) == {"file", "text", "labels", "confidence", "times"} and 0 <= record["confidence"] <= 1
        assert record["text"] == "".join(map(str, record["labels"])) and len(record["times"]) == len(record["labels"])

    listing = wav_files[names[0]].parent / "list.txt"  # bare names: relative to the list's folder
    listing.write_text("\n".join(names) + "\n\n")
    manifest = tmp_path / "list.jsonl"
    manifest.write_text("".join(json.dumps({"path": p}) + "\n" for p in paths))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO("\n".join(paths).encode())))
    out = tmp_path / "out.jsonl"
    assert main(["transcribe", "--checkpoint", str(runs["connected"]), str(listing), str(manifest), "-",
                 "--output", str(out), "--beam_size", "4"]) == 0
    records = _lines(out.read_text())
    assert [r["file"] for r in records] == paths * 3


def test_plots_show_features_posteriors_and_text(runs, wav_files, tmp_path, capsys):
    plots = tmp_path / "plots"
    for name in ("connected", "digits"):
        assert main(["transcribe", "--checkpoint", str(runs[name]), str(wav_files["0_george_0.wav"]),
                     str(wav_files["16k.wav"]), "--plot", str(plots / name)]) == 0
        pngs = sorted(p.name for p in (plots / name).iterdir())
        assert pngs == ["0_george_0.png", "16k.png"]
        assert all((plots / name / p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    digits = _lines(capsys.readouterr().out)[-1]
    assert set(digits) == {"file", "text", "label", "confidence", "probabilities"}
    assert len(digits["probabilities"]) == 10


@pytest.mark.parametrize("content, problem", [
    (b"", "is empty (0 bytes)"),
    (b"just text in a .wav file\n", "is not audio that libsndfile can read"),
    (None, "holds no audio (0 samples)"),
])
def test_bad_audio_stops_before_the_model_is_loaded(tmp_path, wav_files, capsys, content, problem):
    import soundfile

    bad = tmp_path / "bad.wav"
    if content is None:
        soundfile.write(bad, np.zeros(0, dtype=np.float32), 8000)
    else:
        bad.write_bytes(content)
    out = tmp_path / "out.jsonl"
    out.write_text("kept\n")
    # the checkpoint does not exist: the audio is checked first, so the error is about the audio
    code = main(["transcribe", "--checkpoint", str(tmp_path / "no-run"), str(wav_files["16k.wav"]), str(bad),
                 "--output", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and problem in err[0] and str(bad) in err[0]
    assert out.read_text() == "kept\n"  # an existing output is left as it was


def test_python_api_transcribes_paths_bytes_and_arrays_at_any_rate(runs, wav_files):
    import soxr

    predictor = seqkit.load(runs["connected"])
    rows = fixture_rows("test")[:3]
    signal = concatenate(rows)
    records = predictor.transcribe([str(wav_files["16k.wav"]), rows[0]["audio"], (signal, 8000),
                                    (soxr.resample(signal, 8000, 16000), 16000), {"bytes": rows[1]["audio"]}])
    assert len(records) == 5 and all("text" in r for r in records)
    single = predictor.transcribe(signal)
    assert single == records[2]
    words = seqkit.load(runs["digits"]).transcribe([str(wav_files["stereo.wav"])])
    assert words[0]["label"] in range(10) and words[0]["text"] == str(words[0]["label"])


def test_published_folder_and_onnx_reproduce_the_run(runs, wav_files, tmp_path, capsys):
    for name in ("digits", "connected"):
        folder = tmp_path / name
        assert main(["publish", str(runs[name]), "--repo_id", "someone/fsdd", "--dry_run", "--out", str(folder)]) == 0
        config = json.loads((folder / "config.json").read_text())
        assert config["tokenizers"] == {} and config["hparams"]["audio_features"]["sample_rate"] == 8000
        path = str(wav_files["3_george_0.wav"])
        assert seqkit.load(folder).transcribe(path) == seqkit.load(runs[name]).transcribe(path)
        assert main(["export", "onnx", str(tmp_path / f"{name}.onnx"), "--checkpoint", str(folder)]) == 0
        report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert report["inputs"] == ["features", "feature_lengths"] and report["max_abs_diff"] < 1e-4


def test_transcribe_reads_a_model_from_the_hub_at_a_revision(runs, wav_files, tmp_path):
    """A published recogniser served by the local Hub stand-in: ``transcribe --checkpoint owner/name@sha`` prints
    what the run itself prints, and downloads the weights through the Hub API."""
    import subprocess

    from tests.fake_hub import FakeHub
    from tests.helpers import seqkit_command, subprocess_env

    folder = tmp_path / "published"
    assert main(["publish", str(runs["connected"]), "--repo_id", "someone/fsdd", "--dry_run", "--out",
                 str(folder)]) == 0
    files = {path.name: path.read_bytes() for path in folder.iterdir() if path.is_file()}
    wav = str(wav_files["16k.wav"])
    with FakeHub() as hub:
        revision = hub.add_repo("model", "someone/fsdd", files, sha="a1" * 20)
        env = subprocess_env(HF_ENDPOINT=hub.url, HF_HOME=str(tmp_path / "hf"), HF_HUB_OFFLINE="0",
                             OMP_NUM_THREADS="1")
        remote = subprocess.run([*seqkit_command(), "transcribe", "--checkpoint", f"someone/fsdd@{revision.sha}",
                                 wav], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
        requests = list(hub.requests)
    local = subprocess.run([*seqkit_command(), "transcribe", "--checkpoint", str(runs["connected"]), wav],
                           capture_output=True, text=True, env=subprocess_env(OMP_NUM_THREADS="1"), cwd=tmp_path,
                           timeout=300)
    assert remote.returncode == 0 and local.returncode == 0, remote.stderr[-2000:] + local.stderr[-2000:]
    assert _lines(remote.stdout) == _lines(local.stdout)
    assert any(f"/someone/fsdd/resolve/{revision.sha}/model.safetensors" in line for line in requests), requests
