"""``seqkit explain``: highlight the sentences and words a hierarchical classifier attends to, or show the sentiment
a tree classifier gives every phrase of a sentence.

Writes a self-contained HTML file with every document of the input (``.txt``: one document per line; ``.jsonl``:
the ``--text_field`` of each line), sentences and words shaded by their attention weights, and optionally a PNG of
one document. For a tree classifier each line is a PTB bracketing or a plain sentence, and the HTML and PNG draw its
tree with every node coloured by the predicted sentiment.
"""

from __future__ import annotations

import sys
from pathlib import Path

from jsonargparse.typing import NonNegativeInt, PositiveInt

from seqkit.commands.classify import read_texts
from seqkit.commands.files import atomic_output, check_input, check_output, is_stdio
from seqkit.errors import DataError


def explain(*, checkpoint: str, input: Path, html: Path, text_field: str = "text", png: Path | None = None,
            doc_index: NonNegativeInt = 0, batch_size: PositiveInt = 32) -> int:
    """Render a hierarchical classifier's sentence and word attention over documents, or a tree classifier's
    sentiment of every phrase, as HTML (and PNG).

    Args:
        checkpoint: run directory (uses checkpoints/best.ckpt), .ckpt file, published model folder or Hub id
        input: .txt (one document per line) or .jsonl file; - reads documents from standard input
        html: HTML file to write (- for standard output)
        text_field: field of each .jsonl object holding the text
        png: also draw one document to this PNG file (needs matplotlib)
        doc_index: which document (0-based) the PNG shows
        batch_size: documents per batch
    """

    source = check_input(input)
    if is_stdio(html) and is_stdio(png):
        raise DataError("--html and --png cannot both be standard output (-); give one of them a file name.")
    to_stdout = is_stdio(html) or is_stdio(png)
    html = check_output(html, [source], "--html")
    draw = png is not None
    png = check_output(png, [source, html], "--png") if png else None
    report = sys.stderr if to_stdout else sys.stdout  # standard output carries the page or the picture
    texts = [text for text in read_texts(source, text_field) if text.strip()]
    if not texts:
        raise DataError(f"Input file {input} holds no documents.")
    if draw and doc_index >= len(texts):
        raise DataError(f"--doc_index {doc_index} is outside 0..{len(texts) - 1} ({len(texts)} documents).")
    from seqkit.inference import render_html, render_png, render_tree_html, render_tree_png
    from seqkit.inference.loading import load
    from seqkit.tasks import HierarchicalClassifier, TreeClassifier

    predictor = load(checkpoint, task=(HierarchicalClassifier, TreeClassifier))
    if isinstance(predictor.module, TreeClassifier):
        render_html, render_png = render_tree_html, render_tree_png
    explanations = predictor.explain(texts, batch_size)
    name = "standard input" if is_stdio(source) else source.name
    page = render_html(explanations, title=f"seqkit explain: {name}")
    with atomic_output(html) as out:
        out.write(page)
    print(f"HTML: {html or 'standard output'} ({len(explanations)} documents)", file=report)
    if draw:
        try:
            import matplotlib  # noqa: F401
        except ImportError as error:
            raise DataError("--png needs matplotlib: pip install 'seqkit[plot]'") from error
        with atomic_output(png, binary=True) as out:
            render_png(explanations[doc_index], out)
        print(f"PNG: {png or 'standard output'} (document {doc_index})", file=report)
    return 0
