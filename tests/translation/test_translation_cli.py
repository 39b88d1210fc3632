"""End to end on the tiny recipe: BLEU logging, test outputs, the translate command, attention plots, the API."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from seqkit.cli import main
from tests.helpers import REPO, subprocess_env

TINY = REPO / "recipes" / "translation" / "tiny.yaml"
SENTENCES = ["Ein Mann fährt Fahrrad.", "Zwei Hunde spielen im Schnee.", "", "Eine Frau mit einem roten Hut."]


@pytest.fixture(scope="module")
def run(data_root, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("translation") / "run"
    code = main([
        "fit", "--config", str(TINY), "--run_dir", str(folder), "--test_after_fit", "true",
        "--data.init_args.splits.max_rows", '{"train": 400, "validation": 40, "test": 30}',
        "--trainer.max_steps", "15", "--trainer.enable_progress_bar", "false",
        "--trainer.enable_model_summary", "false", "--trainer.accelerator", "cpu", "--trainer.devices", "1",
    ])
    assert code == 0
    return folder


def test_validation_bleu_is_logged_and_test_writes_signatures(run):
    with (run / "metrics.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    bleu = [float(r["val_bleu"]) for r in rows if r.get("val_bleu")]
    assert bleu and all(0.0 <= b <= 100.0 for b in bleu)
    scores = json.loads((run / "test_scores.json").read_text())
    assert scores["bleu_signature"].startswith("nrefs:1|case:mixed|eff:no|tok:13a")
    assert "chrf_signature" in scores and scores["beam_size"] == 3 and scores["sentences"] == 30
    assert len((run / "test_hypotheses.txt").read_text(encoding="utf-8").splitlines()) == 30
    assert (run / "checkpoints" / "best.ckpt").is_file() and (run / "tokenizer").is_dir()


def test_translate_command_one_line_per_input(run, tmp_path, capsys):
    source = tmp_path / "source.de"
    source.write_text("\n".join(SENTENCES) + "\n", encoding="utf-8")
    output = tmp_path / "hyp.en"
    assert main(["translate", "--checkpoint", str(run), "--input", str(source), "--output", str(output),
                 "--batch_size", "2", "--quiet"]) == 0
    assert len(output.read_text(encoding="utf-8").splitlines()) == len(SENTENCES)
    assert main(["translate", "--checkpoint", str(run), "--input", str(source), "--beam", "3", "--nbest", "2",
                 "--quiet"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [int(line.split(" ||| ")[0]) for line in lines] == [0, 0, 1, 1, 2, 3, 3]  # one marker for the blank
    assert lines[4] == "2 |||  ||| nan"


def test_translate_command_plots_attention(run, tmp_path, monkeypatch, capsys):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("Ein Hund läuft.\nEin Kind spielt.\n"))
    plots = tmp_path / "plots"
    assert main(["translate", "--checkpoint", str(run), "--plot_attention", str(plots), "--beam", "2",
                 "--quiet"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2
    written = sorted(p.name for p in plots.glob("*.png"))
    assert written == ["000001.png", "000002.png"]
    assert (plots / "000001.png").read_bytes()[:4] == b"\x89PNG"


def test_translate_texts_restores_order_and_returns_attention(run):
    from seqkit.inference import load

    predictor = load(run)
    texts = [*SENTENCES, "Ein Mann."]
    results = predictor.translate(texts, beam=2, batch_size=2, details=True, return_attention=True)
    one_by_one = [predictor.translate(t, beam=2) for t in texts]
    assert [r.source for r in results] == texts
    assert [r.text for r in results] == one_by_one
    for r in results:
        if r.source:
            assert r.attention.shape == (len(r.target_pieces), len(r.source_pieces))


def test_blank_lines_and_texts_get_empty_translations(run, tmp_path):
    import math

    from seqkit.inference import load

    source = tmp_path / "source.de"
    source.write_text("Ein Hund läuft.\n\n   \nEin Kind spielt.\n", encoding="utf-8")
    output = tmp_path / "hyp.en"
    assert main(["translate", "--checkpoint", str(run), "--input", str(source), "--output", str(output),
                 "--beam", "2", "--quiet"]) == 0
    lines = output.read_text(encoding="utf-8").split("\n")
    assert len(lines) == 5 and lines[1] == lines[2] == lines[4] == "" and lines[0] and lines[3]
    predictor = load(run)
    assert predictor.translate([""], beam=2) == [""] and predictor.translate(" \t", beam=2) == ""
    blank = predictor.translate(["", "Ein Hund läuft."], beam=2, details=True)[0]
    assert blank.nbest == [] and math.isnan(blank.score)


def test_a_long_source_is_cut_to_the_models_max_length_with_a_warning(run, monkeypatch, caplog):
    import logging

    from seqkit.inference import load

    monkeypatch.setattr(logging.getLogger("seqkit"), "propagate", True)  # the CLI may have made it print alone
    predictor = load(run)
    assert predictor.max_source_length == 40  # the tiny recipe's max_length
    long = " ".join(["Ein Hund läuft."] * 60)
    with caplog.at_level(logging.WARNING):
        cut = predictor.translate(["Ein Mann.", long, long], beam=2, details=True)
    # distinct messages: pytest's capture may see a record twice; the command's test counts lines exactly
    warnings = list(dict.fromkeys(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING))
    assert len(warnings) == 2 and warnings[0].startswith("Text 2 has ") and "translating its first 40" in warnings[0]
    assert warnings[1].startswith("Text 3 has ")
    assert len(predictor.translate(long, beam=2, details=True, return_attention=True).source_pieces) == 40
    assert cut[1].text == predictor.translate(long, beam=2, max_length=40)
    assert cut[1].text != predictor.translate(long, beam=2, max_length=4)


def test_the_command_warns_once_per_cut_line(run, tmp_path):
    source = tmp_path / "long.de"
    source.write_text("Ein Hund.\n" + " ".join(["Ein Hund läuft."] * 60) + "\nEin Kind.\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "seqkit", "translate", "--checkpoint", str(run), "--input",
                           str(source), "--beam", "2", "--quiet"], capture_output=True, text=True,
                          env=subprocess_env(OMP_NUM_THREADS="1"), timeout=120)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 3
    assert [line for line in done.stderr.splitlines() if line.strip()] == [
        f"seqkit: Text 2 has {done.stderr.split(' has ')[1].split()[0]} tokens: translating its first 40, the "
        "model's max_length (set max_length to change it)."]
    done = subprocess.run([sys.executable, "-m", "seqkit", "translate", "--checkpoint", str(run), "--input",
                           str(source), "--beam", "2", "--quiet", "--max_length", "1000"], capture_output=True,
                          text=True, env=subprocess_env(OMP_NUM_THREADS="1"), timeout=120)
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr


def test_bad_arguments_fail_clearly(run, tmp_path, capsys):
    assert main(["translate", "--checkpoint", str(tmp_path / "nowhere")]) == 2
    assert "is neither a run directory" in capsys.readouterr().err
    assert main(["translate", "--checkpoint", str(run), "--beam", "2", "--nbest", "3"]) == 2
    assert "--nbest 3 is more than --beam 2" in capsys.readouterr().err


def test_seqkit_test_from_a_checkpoint(run, tmp_path):
    # LightningCLI re-reads the model's settings from the checkpoint, the linked vocab_size included.
    out = tmp_path / "test-run"
    assert main(["test", "--config", str(run / "config.yaml"), "--ckpt_path", str(run / "checkpoints" / "best.ckpt"),
                 "--data.init_args.tokenizer.path", str(run / "tokenizer"), "--run_dir", str(out),
                 "--trainer.enable_progress_bar", "false"]) == 0
    assert (out / "test_hypotheses.txt").read_text() == (run / "test_hypotheses.txt").read_text()
