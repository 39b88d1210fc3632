"""Fixed inputs and the outputs they give on the published folders in ``tests/fixtures/published_v1``.

``python -m tests.golden.cases record`` wrote ``expected.json`` with the seqkit of that folder's ``config.json``;
``tests/golden/test_golden_outputs.py`` checks that today's seqkit gives the same outputs, through the Python API and
the commands.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "published_v1"
EXPECTED = Path(__file__).with_name("expected.json")

REVIEWS = [
    "a gorgeous , witty , seductive movie .",
    "the plot is a tedious mess and the acting is worse .",
    "not bad at all",
    "",
    "an unusual film : slow , strange and , in the end , moving .",
]
TREES = ["(3 (2 not) (3 (3 very) (2 good)))", "a gorgeous , witty film", "the plot is a mess ."]
SOURCES = ["Ein Hund läuft im Park.", "Zwei Männer spielen Fußball auf einer Wiese.", "Eine Frau liest."]
PROMPTS = ["the company said", ""]
DOCUMENTS = [
    "Great food and friendly staff. The wait was long though. We will come back!",
    "Terrible service. Cold pizza, rude waiter and a dirty table. Never again.",
]


def _round(value):
    """Floats to 6 significant digits: what a user reads; the search and sampling decisions are compared exactly."""
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if isinstance(value, list | tuple):
        return [_round(v) for v in value]
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    return value


def _command(argv: list[str]) -> str:
    from seqkit.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(argv) == 0
    return out.getvalue()


def api_outputs() -> dict:
    """Outputs of ``seqkit.load(folder)`` predictors on the fixed inputs."""
    import seqkit

    cls = seqkit.load(FIXTURES / "cls")
    tree = seqkit.load(FIXTURES / "tree")
    mt = seqkit.load(FIXTURES / "mt")
    lm = seqkit.load(FIXTURES / "lm")
    han = seqkit.load(FIXTURES / "han")
    translations = mt.translate(SOURCES, beam=3, details=True, nbest=2)
    explained = han.explain(DOCUMENTS)
    tree_explained = tree.explain(TREES)
    return _round({
        "classify": cls.classify(REVIEWS),
        "tree_classify": tree.classify(TREES),
        "tree_explain": [{"leaves": e.leaves, "children": [list(c) for c in e.children],
                          "probabilities": e.probabilities} for e in tree_explained],
        "translate_greedy": mt.translate(SOURCES, beam=1),
        "translate_beam": [{"text": t.text, "score": t.score, "nbest": [list(n) for n in t.nbest]}
                           for t in translations],
        "generate_greedy": lm.generate(PROMPTS, max_new_tokens=12, temperature=0),
        "generate_sampled": lm.generate(PROMPTS, max_new_tokens=12, temperature=0.8, top_k=20, top_p=0.9, seed=7),
        "explain": [{"sentences": e.sentences, "sentence_weights": e.sentence_weights,
                     "word_weights": e.word_weights, "label": e.label, "probabilities": e.probabilities}
                    for e in explained],
    })


def command_outputs(tmp: Path) -> dict:
    """Standard output (and written files) of the commands on the fixed inputs."""
    texts = tmp / "docs.txt"
    texts.write_text("\n".join(DOCUMENTS) + "\n")
    sources = tmp / "sources.txt"
    sources.write_text("\n".join(SOURCES) + "\n")
    _command(["explain", "--checkpoint", str(FIXTURES / "han"), "--input", str(texts), "--html", str(tmp / "h.html")])
    _command(["explain", "--checkpoint", str(FIXTURES / "tree"), "--input", str(texts),
              "--html", str(tmp / "t.html")])
    return {
        "classify": _command(["classify", "--checkpoint", str(FIXTURES / "cls"), *REVIEWS[:3]]),
        "tree_classify": _command(["classify", "--checkpoint", str(FIXTURES / "tree"), *TREES]),
        "translate": _command(["translate", "--checkpoint", str(FIXTURES / "mt"), "--input", str(sources)]),
        "generate": _command(["generate", "--checkpoint", str(FIXTURES / "lm"), "--prompt", "the company said",
                              "--max_new_tokens", "12", "--temperature", "0.8", "--seed", "7"]),
        "explain_html": (tmp / "h.html").read_text(),
        "tree_explain_html": (tmp / "t.html").read_text(),
    }


def main() -> None:  # pragma: no cover - run by hand to record
    import tempfile

    if sys.argv[1:] != ["record"]:
        raise SystemExit("usage: python -m tests.golden.cases record")
    with tempfile.TemporaryDirectory() as tmp:
        outputs = {"api": api_outputs(), "commands": command_outputs(Path(tmp))}
    EXPECTED.write_text(json.dumps(outputs, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {EXPECTED}")


if __name__ == "__main__":
    main()
