"""``seqkit explain``: highlight the sentences and words a hierarchical classifier attends to, or show the sentiment
a tree classifier gives every phrase of a sentence.

Writes a self-contained HTML file with every document of the input (``.txt``: one document per line; ``.jsonl``:
the ``--text-field`` of each line), sentences and words shaded by their attention weights, and optionally a PNG of
one document. For a tree classifier each line is a PTB bracketing or a plain sentence, and the HTML and PNG draw its
tree with every node coloured by the predicted sentiment.
"""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = ("Render a hierarchical classifier's sentence and word attention over documents, or a tree classifier's "
        "sentiment of every phrase, as HTML (and PNG).")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="seqkit explain", description=HELP)
    p.add_argument("--checkpoint", required=True,
                   help="run directory (uses checkpoints/best.ckpt), .ckpt file, published model folder or Hub id")
    p.add_argument("--input", required=True, help=".txt (one document per line) or .jsonl file")
    p.add_argument("--text-field", default="text", help="field of each .jsonl object holding the text")
    p.add_argument("--html", required=True, help="HTML file to write")
    p.add_argument("--png", default=None, help="also draw one document to this PNG file (needs matplotlib)")
    p.add_argument("--doc-index", type=int, default=0, help="which document (0-based) the PNG shows")
    p.add_argument("--batch-size", type=int, default=32)
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    from seqkit.commands.classify import read_texts
    from seqkit.commands.files import atomic_output, check_output
    from seqkit.errors import DataError

    if args.batch_size < 1:
        parser().error("--batch-size must be at least 1")
    source = Path(args.input).expanduser()
    html = check_output(args.html, [source], "--html")
    png = check_output(args.png, [source, html], "--png") if args.png else None
    texts = [text for text in read_texts(source, args.text_field) if text.strip()]
    if not texts:
        raise DataError(f"Input file {args.input} holds no documents.")
    if args.png and not 0 <= args.doc_index < len(texts):
        raise DataError(f"--doc-index {args.doc_index} is outside 0..{len(texts) - 1} ({len(texts)} documents).")
    from seqkit.inference import render_html, render_png, render_tree_html, render_tree_png
    from seqkit.inference.loading import load
    from seqkit.tasks import HierarchicalClassifier, TreeClassifier

    predictor = load(args.checkpoint, task=(HierarchicalClassifier, TreeClassifier))
    if isinstance(predictor.module, TreeClassifier):
        render_html, render_png = render_tree_html, render_tree_png
    explanations = predictor.explain(texts, args.batch_size)
    page = render_html(explanations, title=f"seqkit explain: {source.name}")
    with atomic_output(html) as out:
        out.write(page)
    print(f"HTML: {html} ({len(explanations)} documents)")
    if png is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError as error:
            raise DataError("--png needs matplotlib: pip install 'seqkit[plot]'") from error
        with atomic_output(png, binary=True) as out:
            render_png(explanations[args.doc_index], out)
        print(f"PNG: {png} (document {args.doc_index})")
    return 0
