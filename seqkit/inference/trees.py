"""Classifying and explaining sentences with a trained :class:`~seqkit.tasks.tree.TreeClassifier`, outside Lightning.

A Tree-LSTM predicts a class for every node of a sentence's tree, so an explanation is the sentiment of each phrase.
Input is a PTB bracketing (``(3 (2 The) (4 (3 good) (2 film)))``, labels optional) or plain text; plain text has
no parser here, so its words are put in a right-branching binary tree (``(The (good film))``), which is only an
approximation of the parse trees the model was trained on::

    from seqkit.inference.trees import render_tree_png
    predictor = seqkit.load("runs/sst5/20250101-120000")
    explanations = predictor.explain(["(2 (2 not) (3 good))", "a gorgeous , witty film"])
    render_tree_png(explanations[0], "tree.png")
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch

from seqkit.data.trees import ParsedTree, TreeCollator, parse_tree, tree_table
from seqkit.errors import DataError
from seqkit.inference.blank import blank_record, is_blank_tree
from seqkit.inference.classify import check_texts
from seqkit.inference.predictor import Predictor
from seqkit.tasks.classifier_steps import prediction_record

_ESCAPE = {"(": "-LRB-", ")": "-RRB-"}


@dataclass
class TreeExplanation:
    """One sentence's tree with the model's prediction at every node.

    Attributes:
        leaves: The words.
        children: ``(left, right)`` of each internal node; nodes are the leaves, then the internal nodes in
            post-order (the root is last).
        probabilities: Class probabilities of every node, ``N`` lists of ``C`` floats.
        label_names: Class names in id order (``None`` when the run has none).
        gold: Labels given in the input bracketing, per node (``None`` where none).
    """

    leaves: list[str]
    children: list[tuple[int, int]]
    probabilities: list[list[float]]
    label_names: list[str] | None = None
    gold: list[int | None] | None = None

    @property
    def root(self) -> dict:
        """The sentence's prediction record ``{"label", "label_name"?, "probabilities"}``."""
        return prediction_record(self.probabilities[-1], self.label_names)

    def labels(self) -> list[int]:
        """Predicted class of every node."""
        return [int(np.argmax(p)) for p in self.probabilities]

    def spans(self) -> list[tuple[int, int]]:
        """``(first, last + 1)`` leaf range of every node."""
        spans = [(i, i + 1) for i in range(len(self.leaves))]
        for left, right in self.children:
            spans.append((spans[left][0], spans[right][1]))
        return spans

    def phrases(self) -> list[str]:
        """The words under every node."""
        return [" ".join(self.leaves[a:b]) for a, b in self.spans()]


def text_to_tree(text: str) -> ParsedTree:
    """A labelled or unlabelled PTB bracketing (text in brackets), or plain text as a right-branching tree over its
    words (brackets inside plain text are read as words)."""
    text = text.strip()
    if is_blank_tree(text):
        raise DataError(f"{text!r} has no words, so no tree." if text else "An empty text has no tree.")
    if text.startswith("(") and text.endswith(")"):
        try:
            return parse_tree(text, labelled=True)
        except ValueError:
            try:
                return parse_tree(text, labelled=False)
            except ValueError as error:
                raise DataError(f"Cannot parse the tree {text[:60]!r}: {error}.") from None
    words = [_ESCAPE.get(word, word) for word in text.replace("(", " ( ").replace(")", " ) ").split()]
    bracketing = f"({words[-1]})"
    for word in reversed(words[:-1]):
        bracketing = f"({word} {bracketing})"
    return parse_tree(bracketing, labelled=False)


@torch.inference_mode()
def explain_trees(module, tokenizer, texts: Sequence[str], batch_size: int = 64) -> list[TreeExplanation]:
    """Node-level predictions for ``texts`` (trees or plain sentences, see :func:`text_to_tree`), in input order."""
    module.eval()
    device = next(module.parameters()).device
    names = module.hparams.get("label_names")
    collate = TreeCollator()
    results: list[TreeExplanation] = []
    for start in range(0, len(texts), batch_size):
        trees = [text_to_tree(text) for text in texts[start : start + batch_size]]
        ids = tokenizer.encode_batch([" ".join(tree.leaves) for tree in trees])
        for tree, row in zip(trees, ids, strict=True):
            if len(row) != len(tree.leaves):
                raise DataError(f"The tokenizer split {' '.join(tree.leaves)!r} into {len(row)} tokens for "
                                f"{len(tree.leaves)} words; a tree model needs one token per word.")
        batch = collate(tree_table(trees, ids))
        nodes = module.node_logits({k: v.to(device) for k, v in batch.items()})
        probabilities = nodes[batch["node_positions"].to(device)].float().softmax(-1).cpu().tolist()
        offset = 0
        for tree in trees:
            count = tree.num_nodes
            gold = [label if label >= 0 else None for label in tree.labels]
            results.append(TreeExplanation(tree.leaves, tree.children, probabilities[offset : offset + count],
                                           names, gold if any(g is not None for g in gold) else None))
            offset += count
    return results


def iter_classify_trees(module, tokenizer, texts: Iterable[str], batch_size: int = 64,
                        progress: Callable[[int], object] | None = None) -> Iterator[dict]:
    """Yield the root's ``{"label", "label_name"?, "probabilities"}`` record for every text, in input order,
    reading ``texts`` lazily one batch at a time; ``progress`` is called with each batch's size. A blank text or a
    bracketing with no words (``(2 )``) gets :func:`~seqkit.inference.blank.blank_record`."""
    names = module.hparams.get("label_names")
    iterator, done = iter(texts), 0
    while chunk := list(islice(iterator, batch_size)):
        check_texts(chunk, done)
        done += len(chunk)
        # Blank texts and trees with no words keep their place with a blank record (seqkit.inference.blank).
        explained = iter(explain_trees(module, tokenizer, [t for t in chunk if not is_blank_tree(t)], batch_size))
        for text in chunk:
            yield blank_record(names) if is_blank_tree(text) else next(explained).root
        if progress is not None:
            progress(len(chunk))


class TreePredictor(Predictor):
    """A :class:`~seqkit.tasks.tree.TreeClassifier`: ``classify`` sentences and ``explain`` them phrase by phrase.

    Inputs are PTB bracketings or plain text (a right-branching tree; see :func:`text_to_tree`).
    """

    def explain(self, texts: str | Sequence[str], batch_size: int = 64) -> TreeExplanation | list[TreeExplanation]:
        """Every node's class probabilities (:class:`TreeExplanation`) per sentence."""
        single = isinstance(texts, str)
        records = explain_trees(self.module, self.tokenizer, [texts] if single else list(texts), batch_size)
        return records[0] if single else records

    def iter_classify(self, texts: Iterable[str], batch_size: int = 64,
                      progress: Callable[[int], object] | None = None) -> Iterator[dict]:
        """:func:`iter_classify_trees` with this model."""
        return iter_classify_trees(self.module, self.tokenizer, texts, batch_size, progress)

    def classify(self, texts: str | Iterable[str], batch_size: int = 64) -> dict | list[dict]:
        """``{"label", "label_name"?, "probabilities"}`` of the root, for one sentence or a list of them."""
        single = isinstance(texts, str)
        records = list(self.iter_classify([texts] if single else texts, batch_size))
        return records[0] if single else records


# ---------------------------------------------------------------------- rendering
def layout(item: TreeExplanation) -> tuple[np.ndarray, np.ndarray]:
    """``x`` (leaves at 0, 1, 2...; a parent midway between its children) and ``y`` (height) of every node."""
    count = len(item.leaves)
    x = np.zeros(count + len(item.children))
    y = np.zeros_like(x)
    x[:count] = np.arange(count)
    for index, (left, right) in enumerate(item.children, start=count):
        x[index] = (x[left] + x[right]) / 2
        y[index] = max(y[left], y[right]) + 1
    return x, y


def sentiment_scores(item: TreeExplanation) -> np.ndarray:
    """Expected class of every node scaled to 0..1 (0: the first class, e.g. very negative; 1: the last)."""
    probabilities = np.asarray(item.probabilities)
    classes = probabilities.shape[1]
    return probabilities @ np.arange(classes) / max(classes - 1, 1)


def _colour(score: float) -> tuple[float, float, float]:
    """Red (negative) -> light grey (neutral) -> blue (positive)."""
    red, grey, blue = np.array([0.84, 0.19, 0.15]), np.array([0.88, 0.88, 0.88]), np.array([0.13, 0.40, 0.67])
    mix = red + (grey - red) * score * 2 if score < 0.5 else grey + (blue - grey) * (score - 0.5) * 2
    return tuple(float(v) for v in mix)


def _svg(item: TreeExplanation, step: float = 46.0, level: float = 26.0) -> str:
    x, y = layout(item)
    scores, names, labels = sentiment_scores(item), item.label_names, item.labels()
    top = float(y.max()) if len(y) else 0.0
    px = 20 + x * step
    py = 20 + (top - y) * level
    width, height = 40 + step * max(len(item.leaves) - 1, 0), 60 + top * level
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}">']
    for index, (left, right) in enumerate(item.children, start=len(item.leaves)):
        for child in (left, right):
            parts.append(f'<line x1="{px[index]:.1f}" y1="{py[index]:.1f}" x2="{px[child]:.1f}" '
                         f'y2="{py[child]:.1f}" stroke="#999"/>')
    phrases = item.phrases()
    for index in range(len(x)):
        r, g, b = (int(255 * v) for v in _colour(scores[index]))
        name = names[labels[index]] if names else str(labels[index])
        tip = html.escape(f"{name} ({max(item.probabilities[index]):.2f}): {phrases[index]}")
        parts.append(f'<circle cx="{px[index]:.1f}" cy="{py[index]:.1f}" r="7" fill="rgb({r},{g},{b})" '
                     f'stroke="#444"><title>{tip}</title></circle>')
    for index, word in enumerate(item.leaves):
        parts.append(f'<text x="{px[index]:.1f}" y="{py[index] + 22:.1f}" font-size="11" text-anchor="end" '
                     f'transform="rotate(-35 {px[index]:.1f} {py[index] + 22:.1f})">{html.escape(word)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_tree_html(explanations: Sequence[TreeExplanation], title: str = "seqkit tree sentiment") -> str:
    """A self-contained HTML page: each sentence's tree as an SVG, every node coloured by its predicted sentiment
    (red negative, grey neutral, blue positive; the tooltip gives the class, probability and phrase)."""
    blocks = []
    for number, item in enumerate(explanations, start=1):
        root = item.root
        name = root.get("label_name", str(root["label"]))
        caption = f"Sentence {number}: {name} ({max(root['probabilities']):.2f})"
        blocks.append(f'<div class="tree"><p>{html.escape(caption)}</p>\n{_svg(item)}\n'
                      f'<p class="text">{html.escape(" ".join(item.leaves))}</p></div>')
    style = ("body{font-family:sans-serif;margin:2em;color:#222}.tree{border-top:1px solid #ccc;padding:.5em 0;"
             "overflow-x:auto}.text{font-family:Georgia,serif;color:#555}")
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{html.escape(title)}</title>\n'
            f"<style>{style}</style>\n</head>\n<body>\n" + "\n".join(blocks) + "\n</body>\n</html>\n")


def render_tree_png(item: TreeExplanation, path: str | Path | BinaryIO, title: str | None = None) -> Path | BinaryIO:
    """Draw one sentence's tree as a PNG, every node coloured by its predicted sentiment (needs matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    x, y = layout(item)
    scores = sentiment_scores(item)
    top = float(y.max()) if len(y) else 0.0
    fig, ax = plt.subplots(figsize=(max(4.0, 0.55 * len(item.leaves) + 1.5), 1.6 + 0.32 * top))
    for index, (left, right) in enumerate(item.children, start=len(item.leaves)):
        for child in (left, right):
            ax.plot([x[index], x[child]], [y[index], y[child]], color="#9a9a9a", lw=1, zorder=1)
    ax.scatter(x, y, s=110, c=[_colour(s) for s in scores], edgecolors="#333", linewidths=0.7, zorder=2)
    for index, word in enumerate(item.leaves):
        ax.text(x[index], -0.6, word, rotation=40, ha="right", va="top", fontsize=9)
    names = item.label_names or [str(i) for i in range(len(item.probabilities[0]))]
    root = item.root
    heading = title or f"predicted: {names[root['label']]} ({max(root['probabilities']):.2f})"
    ax.set_title(heading, fontsize=10, loc="left")
    steps = np.linspace(0, 1, len(names))
    ax.legend(handles=[Patch(facecolor=_colour(s), edgecolor="#333", label=n) for s, n in zip(steps, names)],
              loc="upper right", fontsize=8, frameon=False, ncol=1)
    ax.set_xlim(-1, max(len(item.leaves), 2))
    ax.set_ylim(-0.9 - 0.12 * max(len(w) for w in item.leaves), top + 0.8)
    ax.axis("off")
    fig.tight_layout()
    path = Path(path) if isinstance(path, str | Path) else path
    fig.savefig(path, dpi=130, format="png")
    plt.close(fig)
    return path
