"""Explaining a hierarchical classifier's predictions with its attention weights.

For each document: the predicted class, every sentence's weight and every word's weight, aligned with the words of
the input (whitespace-separated, markup such as ``<br />`` removed). A word's weight is the sum of its tokens'
weights; sentences the model did not read (past ``max_sentences``) and tokens past ``max_words`` get weight 0.

::

    predictor = seqkit.load("runs/reviews/yelp/20250101-120000")
    explanations = predictor.explain(["Great food. Rude staff.", ...])
    Path("out.html").write_text(render_html(explanations))
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa

from seqkit.data.hierarchical import HierarchicalCollator, HierarchicalDataModule
from seqkit.data.sentences import SentenceSplitter, keep_mask
from seqkit.data.tokenizers import Tokenizer
from seqkit.inference.predictor import Predictor
from seqkit.tasks.classifier_steps import prediction_record
from seqkit.tasks.hierarchical import HierarchicalClassifier


@dataclass
class Explanation:
    """One document's prediction and attention weights.

    Attributes:
        sentences: The words of each sentence, as in the input.
        sentence_weights: Sentence attention weight per sentence (0 for sentences the model did not read).
        word_weights: Word attention weight per word, within its sentence.
        label: Predicted class id; ``label_name`` its name when the run has names.
        probabilities: Class probabilities.
    """

    sentences: list[list[str]]
    sentence_weights: list[float]
    word_weights: list[list[float]]
    label: int
    probabilities: list[float]
    label_name: str | None = None


def explain_texts(
    module: HierarchicalClassifier,
    tokenizer: Tokenizer,
    texts: Sequence[str],
    splitter: SentenceSplitter,
    max_words: int,
    batch_size: int = 32,
) -> list[Explanation]:
    """Predictions and attention weights of ``texts``, split and truncated as in training."""
    module.eval()
    results: list[Explanation] = []
    for start in range(0, len(texts), batch_size):
        results.extend(_explain_batch(module, tokenizer, list(texts[start : start + batch_size]), splitter, max_words))
    return results


def _explain_batch(
    module: HierarchicalClassifier, tokenizer: Tokenizer, texts: list[str], splitter: SentenceSplitter,
    max_words: int,
) -> list[Explanation]:
    # Every sentence is shown; the model reads those the training limit keeps.
    everything = replace(splitter, max_sentences=None).split_batch(texts)
    counts = np.array([len(doc) for doc in everything], dtype=np.int64)
    read = keep_mask(counts, splitter.max_sentences, splitter.truncation)
    words = [sentence.split() for doc in everything for sentence in doc]
    # Tokenising word by word aligns tokens with words (a word-level tokenizer gives the same ids as in training).
    word_ids = tokenizer.encode_batch([w for sentence in words for w in sentence])
    per_sentence_ids: list[list[int]] = []
    owners: list[list[int]] = []  # word index (within the sentence) of each kept token
    cursor = 0
    for sentence in words:
        ids, owner = [], []
        for position in range(len(sentence)):
            token_ids = word_ids[cursor + position]
            ids.extend(token_ids)
            owner.extend([position] * len(token_ids))
        cursor += len(sentence)
        per_sentence_ids.append(ids[:max_words])
        owners.append(owner[:max_words])
    # Sentences the model reads, as HierarchicalDataModule stores them: read and with at least one token.
    used = read & np.array([len(ids) > 0 for ids in per_sentence_ids], dtype=bool)
    doc_of = np.repeat(np.arange(len(texts)), counts)
    used_counts = np.bincount(doc_of[used], minlength=len(texts))
    used_ids = [ids for ids, keep in zip(per_sentence_ids, used) if keep]
    lengths = np.array([len(ids) for ids in used_ids], dtype=np.int64)
    token_offsets = np.concatenate([[0], np.cumsum(np.bincount(doc_of[used], weights=lengths,
                                                               minlength=len(texts)))]).astype(np.int64)
    sentence_offsets = np.concatenate([[0], np.cumsum(used_counts)]).astype(np.int64)
    flat = np.array([i for ids in used_ids for i in ids], dtype=np.int64)
    table = pa.table({
        "input_ids": pa.LargeListArray.from_arrays(pa.array(token_offsets), pa.array(flat, pa.int64())),
        "sentence_lengths": pa.LargeListArray.from_arrays(pa.array(sentence_offsets), pa.array(lengths, pa.int64())),
    })
    batch = HierarchicalCollator(tokenizer.pad_id, label_column=None)(table)
    device = next(module.parameters()).device
    out = module.attention_weights({k: v.to(device) for k, v in batch.items()})
    sentence_w = out["sentence_weights"].cpu().numpy()
    word_w = out["word_weights"].cpu().numpy()
    probabilities = out["probabilities"].cpu().tolist()

    names = module.hparams.get("label_names")
    results, flat_index = [], 0
    for doc in range(len(texts)):
        doc_words, doc_sentence_w, doc_word_w = [], [], []
        slot = 0  # position of the next used sentence among this document's model inputs
        for _ in range(counts[doc]):
            sentence_words = words[flat_index]
            weights = np.zeros(len(sentence_words))
            weight = 0.0
            if used[flat_index]:
                weight = float(sentence_w[doc, slot])
                np.add.at(weights, owners[flat_index], word_w[doc, slot, : len(owners[flat_index])])
                slot += 1
            doc_words.append(sentence_words)
            doc_sentence_w.append(weight)
            doc_word_w.append(weights.tolist())
            flat_index += 1
        record = prediction_record(probabilities[doc], names)
        results.append(Explanation(doc_words, doc_sentence_w, doc_word_w, record["label"],
                                   record["probabilities"], record.get("label_name")))  # rounded like classify
    return results


class HierarchicalPredictor(Predictor):
    """A :class:`~seqkit.tasks.hierarchical.HierarchicalClassifier`: ``classify`` and ``explain`` documents, split
    into sentences and words as in training."""

    def splitter(self) -> tuple[SentenceSplitter, int]:
        """The sentence splitter and ``max_words`` the model was trained with."""
        max_words = int(self.data_setting("max_words", HierarchicalDataModule))
        settings = self.data_setting("splitter", HierarchicalDataModule)
        return (SentenceSplitter(**settings) if settings else HierarchicalDataModule.default_splitter(max_words),
                max_words)

    def explain(self, texts: str | Sequence[str], batch_size: int = 32) -> Explanation | list[Explanation]:
        """Prediction and sentence/word attention weights (:class:`Explanation`) per document."""
        single = isinstance(texts, str)
        splitter, max_words = self.splitter()
        records = explain_texts(self.module, self.tokenizer, [texts] if single else list(texts), splitter,
                                max_words, batch_size)
        return records[0] if single else records

    def classify(self, texts: str | Sequence[str], batch_size: int = 32) -> dict | list[dict]:
        """``{"label", "label_name"?, "probabilities"}`` per document."""
        explanations = self.explain([texts] if isinstance(texts, str) else texts, batch_size)
        records = [{"label": e.label, "probabilities": e.probabilities,
                    **({"label_name": e.label_name} if e.label_name is not None else {})} for e in explanations]
        return records[0] if isinstance(texts, str) else records


# ---------------------------------------------------------------------- rendering
_STYLE = """
body { font-family: Georgia, serif; max-width: 52em; margin: 2em auto; line-height: 1.9; color: #222; }
.doc { border-top: 1px solid #ccc; padding: 0.6em 0 1em; }
.doc::before { content: attr(data-caption); display: block; font: bold 0.85em sans-serif; color: #555; }
.s { display: block; border-left: 0.5em solid rgba(33, 102, 172, var(--s)); padding-left: 0.5em; margin: 0.15em 0; }
.s.unread { color: #999; border-left-color: #eee; }
.w { background: rgba(230, 85, 13, var(--w)); border-radius: 0.2em; }
"""


def render_html(explanations: Sequence[Explanation], title: str = "seqkit attention") -> str:
    """A self-contained HTML page: one block per document, each sentence's bar shaded by its weight and each word
    highlighted by ``sqrt(sentence weight) * word weight`` (Yang et al. 2016), scaled to the document's largest.

    The visible text is exactly the input's words (escaped); predictions and weights are in attributes (shown as
    captions and tooltips).
    """
    blocks = []
    for number, item in enumerate(explanations, start=1):
        name = item.label_name if item.label_name is not None else str(item.label)
        caption = f"Document {number}: {name} ({max(item.probabilities):.2f})"
        s_max = max(item.sentence_weights, default=0.0) or 1.0
        w_scores = [[np.sqrt(s) * w for w in ws] for s, ws in zip(item.sentence_weights, item.word_weights)]
        w_max = max((w for ws in w_scores for w in ws), default=0.0) or 1.0
        lines = []
        for words, s_weight, weights, scores in zip(item.sentences, item.sentence_weights, item.word_weights,
                                                    w_scores):
            spans = " ".join(
                f'<span class="w" style="--w:{score / w_max:.3f}" title="{weight:.3f}">{html.escape(word)}</span>'
                for word, weight, score in zip(words, weights, scores)
            )
            unread = "" if s_weight > 0 else " unread"
            lines.append(f'<span class="s{unread}" style="--s:{s_weight / s_max:.3f}" '
                         f'title="sentence weight {s_weight:.3f}">{spans}</span>')
        blocks.append(f'<div class="doc" data-caption="{html.escape(caption)}">\n' + "\n".join(lines) + "\n</div>")
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{html.escape(title)}</title>\n'
            f"<style>{_STYLE}</style>\n</head>\n<body>\n" + "\n".join(blocks) + "\n</body>\n</html>\n")


def render_png(explanation: Explanation, path: str | Path | BinaryIO, width: int = 90) -> Path | BinaryIO:
    """Draw one document as a PNG: a bar of each sentence's weight and its words highlighted by weight."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    w_scores = [[np.sqrt(s) * w for w in ws] for s, ws in zip(explanation.sentence_weights, explanation.word_weights)]
    w_max = max((w for ws in w_scores for w in ws), default=0.0) or 1.0
    s_max = max(explanation.sentence_weights, default=0.0) or 1.0
    rows: list[tuple[int, list[tuple[str, float]]]] = []  # (sentence, [(word, score)]) per wrapped line
    for index, (words, scores) in enumerate(zip(explanation.sentences, w_scores)):
        line, used = [], 0
        for word, score in zip(words, scores):
            if line and used + len(word) > width:
                rows.append((index, line))
                line, used = [], 0
            line.append((word, score / w_max))
            used += len(word) + 1
        rows.append((index, line))
    char = 0.078  # inches per character of the monospace font below (9 pt)
    fig = plt.figure(figsize=(1.2 + char * width, 0.6 + 0.28 * max(len(rows), 1)))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 1.2 + char * width)
    ax.set_ylim(len(rows) + 1.5, 0)
    ax.axis("off")
    name = explanation.label_name if explanation.label_name is not None else str(explanation.label)
    ax.text(0.1, 0.6, f"predicted: {name} ({max(explanation.probabilities):.2f})", fontsize=10, weight="bold")
    previous = -1
    for row, (sentence, line) in enumerate(rows, start=1):
        y = row + 0.5
        if sentence != previous:
            weight = explanation.sentence_weights[sentence]
            ax.barh(y, 0.9 * weight / s_max, height=0.8, left=0.1, color=(0.13, 0.4, 0.67))
            previous = sentence
        x = 1.1
        for word, score in line:
            ax.text(x, y, word, family="monospace", fontsize=9, va="center",
                    bbox={"facecolor": (0.9, 0.33, 0.05, score), "edgecolor": "none", "pad": 1.0})
            x += char * (len(word) + 1)
    target = Path(path) if isinstance(path, str | Path) else path  # a path or an open binary file
    fig.savefig(target, dpi=120, format="png")
    plt.close(fig)
    return target
