"""A tiny Tree-LSTM run end to end: fit, seqkit classify, seqkit explain (HTML and PNG), seqkit.load, bench."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from seqkit.cli import main
from seqkit.data.trees import FINE_NAMES
from tests.helpers import REPO

SENTENCES = ["(3 (2 (2 The) (2 film)) (3 (2 is) (3 (3 (2 not) (1 bad)) (2 .))))", "a gorgeous , witty film"]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run_dir(data_root, tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("trees") / "run"
    code = main(["fit", "--config", str(REPO / "recipes" / "trees" / "sst5.yaml"), "--run_dir", str(run),
                 "--data.init_args.splits.max_rows", "100", "--model.init_args.network.embedding_dim", "16",
                 "--model.init_args.network.hidden_size", "16", "--trainer.max_epochs", "1",
                 "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
                 "--test_after_fit", "true"])
    assert code == 0
    return run


def test_fit_writes_a_tested_run(run_dir):
    assert (run_dir / "checkpoints" / "best.ckpt").is_file() and (run_dir / "confusion_matrix.csv").is_file()
    header = (run_dir / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"val_acc", "val_node_acc", "test_acc"} <= set(header)


def test_classify_trees_and_plain_text(run_dir, tmp_path, capsys):
    assert main(["classify", "--checkpoint", str(run_dir), *SENTENCES]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["text"] for r in records] == SENTENCES
    for record in records:
        assert record["label_name"] == FINE_NAMES[record["label"]]
        assert len(record["probabilities"]) == 5 and abs(sum(record["probabilities"]) - 1) < 1e-4
    source = tmp_path / "in.txt"
    source.write_text("\n".join(SENTENCES) + "\n")
    out = tmp_path / "out.jsonl"
    assert main(["classify", "--checkpoint", str(run_dir), "--input", str(source), "--output", str(out)]) == 0
    assert [json.loads(line)["label"] for line in out.read_text().splitlines()] == [r["label"] for r in records]


def test_blank_texts_and_trees_without_words_get_no_label(run_dir, capsys):
    import seqkit

    blanks = ["", "   ", "(2 )", "(3 (2 ) (1 ))"]
    assert main(["classify", "--checkpoint", str(run_dir), blanks[2], SENTENCES[1], blanks[0]]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["label"] for r in records][::2] == [None, None] and records[1]["label"] is not None
    assert records[0] == {"text": "(2 )", "label": None, "probabilities": None, "blank": True, "label_name": None}
    predictor = seqkit.load(run_dir)
    assert [r["label"] for r in predictor.classify(blanks)] == [None] * 4
    with pytest.raises(ValueError, match="has no words"):
        predictor.explain("(2 )")


def test_explain_draws_every_phrase(run_dir, tmp_path):
    source = tmp_path / "in.txt"
    source.write_text("\n".join(SENTENCES) + "\n")
    page, png = tmp_path / "trees.html", tmp_path / "tree.png"
    code = main(["explain", "--checkpoint", str(run_dir), "--input", str(source), "--html", str(page),
                 "--png", str(png)])
    assert code == 0
    html = page.read_text()
    assert html.count("<svg") == 2
    assert len(re.findall("<circle", html)) == (2 * 6 - 1) + (2 * 5 - 1)  # one coloured node per phrase
    assert ">not</text>" in html and ">witty</text>" in html
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_load_gives_a_tree_predictor(run_dir):
    import seqkit

    predictor = seqkit.load(run_dir)
    explanation = predictor.explain(SENTENCES[0])
    assert explanation.phrases()[-1] == "The film is not bad ." and len(explanation.probabilities) == 11
    assert predictor.classify(SENTENCES[0]) == explanation.root


def test_bench_checks_equality_and_times_both(data_root, capsys):
    code = main(["bench", "trees", "--trees", "30", "--rounds", "1", "--embedding_dim", "16", "--hidden_size", "16",
                 "--cells", "constituency", "--modes", "inference"])
    assert code == 0
    out = capsys.readouterr().out
    difference = float(re.search(r"per-node\| over \d+ trees = (\S+)", out).group(1))
    assert difference < 1e-5
    assert re.search(r"constituency\s+inference\s+median\s+[\d.]+\s+[\d.]+\s+[\d.]+x", out)


def test_published_folder_predicts_like_the_run(run_dir, tmp_path):
    import seqkit

    folder = tmp_path / "published"
    assert main(["publish", str(run_dir), "--repo_id", "someone/tree-lstm", "--dry_run", "--out", str(folder)]) == 0
    assert seqkit.load(folder).classify(SENTENCES) == seqkit.load(run_dir).classify(SENTENCES)
