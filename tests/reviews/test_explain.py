"""A tiny hierarchical run end to end: fit, explain (HTML shows exactly the input's words, PNG), bench."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from seqkit.cli import main
from seqkit.inference import load, render_html
from tests.helpers import REPO

TINY = str(REPO / "recipes" / "reviews" / "tiny.yaml")
REVIEWS = [
    "The food was great. The staff was rude & slow!",
    "I loved it<br /><br />Would come back... Definitely <b>not</b> a <script>-free zone.",
    "Mr. Smith paid $3.50 for a 'large' coffee?! Never again.",
]


class _VisibleText(HTMLParser):
    """Text a browser shows in the body (not in tags' attributes, style or script)."""

    def __init__(self) -> None:
        super().__init__()
        self.words: list[str] = []
        self.in_body = False
        self.hidden = 0

    def handle_starttag(self, tag, attrs) -> None:
        self.in_body |= tag == "body"
        self.hidden += tag in ("style", "script", "title")

    def handle_endtag(self, tag) -> None:
        self.hidden -= tag in ("style", "script", "title")

    def handle_data(self, data) -> None:
        if self.in_body and not self.hidden:
            self.words.extend(data.split())


def input_words(text: str) -> list[str]:
    return text.replace("<br /><br />", " ").split()


@pytest.fixture(scope="module")
def run_dir(data_root, tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("han") / "run"
    code = main(["fit", "--config", TINY, "--run_dir", str(run), "--trainer.max_epochs", "1",
                 "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
                 "--test_after_fit", "true"])
    assert code == 0
    return run


def test_tiny_recipe_fits_and_tests(run_dir):
    assert (run_dir / "checkpoints" / "best.ckpt").is_file() and (run_dir / "tokenizer").is_dir()
    assert (run_dir / "confusion_matrix.csv").is_file()


def test_explanations_align_with_the_input_words(run_dir):
    explanations = load(run_dir).explain(REVIEWS)
    for text, item in zip(REVIEWS, explanations, strict=True):
        assert [w for sentence in item.sentences for w in sentence] == input_words(text)
        assert sum(item.sentence_weights) == pytest.approx(1.0, abs=1e-5)
        for weights in item.word_weights:
            assert sum(weights) == pytest.approx(1.0, abs=1e-5)
        assert sum(item.probabilities) == pytest.approx(1.0, abs=1e-5)


def test_html_shows_the_input_words_and_nothing_else(run_dir):
    page = render_html(load(run_dir).explain(REVIEWS))
    parser = _VisibleText()
    parser.feed(page)
    assert parser.words == [w for text in REVIEWS for w in input_words(text)]
    assert "<script>-free" not in page and "&lt;script&gt;-free" in page  # escaped, never markup


def test_explain_command_writes_html_and_png(run_dir, tmp_path, capsys):
    reviews = tmp_path / "reviews.txt"
    reviews.write_text("\n".join(REVIEWS) + "\n")
    html, png = tmp_path / "out.html", tmp_path / "out.png"
    code = main(["explain", "--checkpoint", str(run_dir), "--input", str(reviews), "--html", str(html),
                 "--png", str(png), "--doc_index", "1"])
    assert code == 0
    assert html.read_text().count('class="doc"') == 3
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "3 documents" in capsys.readouterr().out


def test_explain_command_refuses_a_bad_document_index(run_dir, tmp_path, capsys):
    reviews = tmp_path / "reviews.txt"
    reviews.write_text("Good.\n")
    code = main(["explain", "--checkpoint", str(run_dir), "--input", str(reviews), "--html",
                 str(tmp_path / "x.html"), "--png", str(tmp_path / "x.png"), "--doc_index", "4"])
    assert code == 2 and "--doc_index 4" in capsys.readouterr().err


def test_bench_reviews_prints_both_rates_and_the_speed_up(data_root, capsys):
    code = main(["bench", "reviews", "--recipe", TINY, "--documents", "24", "--rounds", "1",
                 "--batch_size", "8"])
    assert code == 0
    out = capsys.readouterr().out
    assert "batched" in out and "loop" in out
    assert [line.split()[0] for line in out.splitlines() if "median" in line] == ["inference", "train"]
