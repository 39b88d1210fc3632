"""A fast, configurable sentence splitter for reviews, vectorised over a whole batch of documents.

Every step is one Arrow compute call (RE2 regular expressions) over all texts of a batch, with no Python loop over
documents or sentences:

1. ``<br />`` markup becomes a line break.
2. Periods that do not end a sentence are masked: known abbreviations (``Mr.``, ``Dr.``, ``etc.``...), letter
   acronyms (``U.S.``, ``e.g.``, ``i.e.``) and initials before a capitalised name (``J. Smith``).
3. Boundaries: terminal punctuation (``.``, ``!``, ``?``, ellipses), with any closing quotes or brackets, followed
   by whitespace; an ellipsis, ``!`` or ``?`` glued to a capitalised word (``$3...Great``); line breaks.
   A period between digits (``3.5``) has no whitespace after it and never splits.
4. Limits: a sentence longer than ``max_words`` words is cut into pieces of ``max_words`` words (nothing is
   lost); a document keeps at most ``max_sentences`` sentences (its first, last, or first and last ones).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seqkit.data.encoding import Truncation

#: Abbreviations whose period does not end a sentence (matched case-insensitively, as whole words).
DEFAULT_ABBREVIATIONS = (
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "vs", "etc", "approx", "dept", "inc", "ltd", "co",
    "corp", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "ave", "blvd",
    "hr", "hrs", "min", "mins", "sec", "oz", "lb", "lbs", "pt", "ft", "appt", "govt",
)

# Private-use control characters: a masked period, and a sentence boundary. Neither occurs in real text.
_MASK, _BOUNDARY = "\x1f", "\x1e"
_CLOSERS = "\"'\u201d\u2019)\\]"


@dataclass
class SentenceSplitter:
    """Splits documents into sentences.

    Args:
        max_sentences: Keep at most this many sentences per document (``None``: all).
        max_words: Cut sentences longer than this many whitespace-separated words into pieces (``None``: never).
        truncation: Which sentences a long document keeps: ``head`` (first), ``tail`` (last) or ``head+tail``
            (first quarter and last three quarters, where reviews put their verdict).
        split_on_newlines: Treat every line break (and ``<br />``) as a sentence boundary.
        abbreviations: Words whose trailing period never ends a sentence.
    """

    max_sentences: int | None = None
    max_words: int | None = None
    truncation: Truncation = "head"
    split_on_newlines: bool = True
    abbreviations: Sequence[str] = field(default_factory=lambda: list(DEFAULT_ABBREVIATIONS))

    def __post_init__(self) -> None:
        if self.max_sentences is not None and self.max_sentences < 1:
            raise ValueError(f"max_sentences must be at least 1, got {self.max_sentences}")
        if self.max_words is not None and self.max_words < 1:
            raise ValueError(f"max_words must be at least 1, got {self.max_words}")
        if self.truncation not in ("head", "tail", "head+tail"):
            raise ValueError(f"truncation must be 'head', 'tail' or 'head+tail', got {self.truncation!r}")

    # ------------------------------------------------------------------ public API
    def split(self, text: str) -> list[str]:
        """The sentences of one document."""
        return self.split_batch([text])[0]

    def split_batch(self, texts: Sequence[str]) -> list[list[str]]:
        """The sentences of each document, as Python lists."""
        return self.split_arrow(texts).to_pylist()

    def split_arrow(self, texts: Sequence[str] | pa.Array | pa.ChunkedArray) -> pa.ListArray:
        """The sentences of each document as an Arrow ``list<string>`` array (one row per document)."""
        if isinstance(texts, pa.ChunkedArray):
            texts = texts.combine_chunks()
        arr = texts if isinstance(texts, pa.Array) else pa.array(list(texts), pa.large_string())
        arr = pc.fill_null(arr.cast(pa.large_string()), "")
        arr = self._mark_boundaries(arr)
        sentences = pc.split_pattern(arr, _BOUNDARY)
        sentences = _drop_empty(sentences)
        if self.max_words is not None:
            sentences = _cut_long(sentences, self.max_words)
        if self.max_sentences is not None:
            sentences = _keep_sentences(sentences, self.max_sentences, self.truncation)
        return sentences

    # ------------------------------------------------------------------ the regular expressions
    def rules(self) -> list[tuple[str, str]]:
        """The ``(RE2 pattern, replacement)`` pairs applied in order; a boundary becomes ``\\x1e``."""
        rules = [(r"(?i)<br\s*/?>", "\n")]
        if self.abbreviations:
            words = "|".join(sorted({_re2_escape(a.lower().rstrip(".")) for a in self.abbreviations}))
            rules.append((rf"(?i)\b({words})\.", rf"\1{_MASK}"))
        # Acronyms: each pass masks pairs of letter-periods ("U.S." -> "U?S?"); two passes reach "U.S.A.".
        rules += [(r"\b([A-Za-z])\.([A-Za-z])\.", rf"\1{_MASK}\2{_MASK}")] * 2
        # Initials before a capitalised word ("J. Smith"), in two passes as matches cannot overlap ("J. K. Rowling");
        # "I." is left alone, it usually ends a sentence.
        rules += [(r"\b([A-HJ-Z])\.(\s+[A-Z])", rf"\1{_MASK}\2")] * 2
        if self.split_on_newlines:
            rules.append((r"\s*\n\s*", _BOUNDARY))
        rules.append((r"([.!?\x{2026}]+[" + _CLOSERS + r"]*)\s+", rf"\1{_BOUNDARY}"))
        rules.append((r"(\.\.+|\x{2026}|[!?]+)([\"'\x{201c}]?[A-Z])", rf"\1{_BOUNDARY}\2"))
        return rules

    @property
    def fingerprint(self) -> str:
        """Changes whenever the settings or the rules do (a cache key for split documents)."""
        from hashlib import sha256

        return sha256(repr((self.max_sentences, self.max_words, self.truncation, self.rules())).encode()).hexdigest()

    def _mark_boundaries(self, arr: pa.Array) -> pa.Array:
        for pattern, replacement in self.rules():
            arr = pc.replace_substring_regex(arr, pattern, replacement)
        return pc.replace_substring(arr, _MASK, ".")


def _re2_escape(word: str) -> str:
    return "".join(c if c.isalnum() else "\\" + c for c in word)


def _offsets(lists: pa.ListArray) -> np.ndarray:
    """Offsets of a list array relative to its own values, shape ``(N + 1,)``."""
    offsets = lists.offsets.to_numpy(zero_copy_only=False).astype(np.int64)
    return offsets - offsets[0]


def _rebuild(offsets: np.ndarray, values: pa.Array) -> pa.ListArray:
    return pa.LargeListArray.from_arrays(pa.array(offsets, pa.int64()), values)


def _drop_empty(sentences: pa.ListArray) -> pa.ListArray:
    """Trim every sentence and drop those with no visible text."""
    offsets = _offsets(sentences)
    flat = pc.utf8_trim_whitespace(sentences.flatten())
    keep = pc.greater(pc.utf8_length(flat), 0).to_numpy(zero_copy_only=False)
    kept_before = np.concatenate([[0], np.cumsum(keep)])
    return _rebuild(kept_before[offsets], flat.filter(pa.array(keep)))


def _cut_long(sentences: pa.ListArray, max_words: int) -> pa.ListArray:
    """Cut sentences of more than ``max_words`` words into consecutive pieces of at most ``max_words`` words."""
    doc_offsets = _offsets(sentences)
    words = pc.utf8_split_whitespace(sentences.flatten())
    word_offsets = _offsets(words)
    counts = np.diff(word_offsets)
    if counts.size == 0 or counts.max() <= max_words:
        return sentences
    pieces = np.maximum(1, -(-counts // max_words))  # every sentence has >= 1 word after _drop_empty
    owner = np.repeat(np.arange(len(counts)), pieces)  # sentence of each piece
    first_piece = np.cumsum(pieces) - pieces
    rank = np.arange(int(pieces.sum())) - first_piece[owner]  # piece number within its sentence
    starts = word_offsets[owner] + rank * max_words
    piece_offsets = np.concatenate([starts, [word_offsets[-1]]])
    text = pc.binary_join(_rebuild(piece_offsets, words.flatten()), pa.scalar(" ", pa.large_string()))
    piece_doc_offsets = np.concatenate([[0], np.cumsum(pieces)])[doc_offsets]
    return _rebuild(piece_doc_offsets, text)


def keep_mask(counts: np.ndarray, limit: int | None, truncation: Truncation = "head") -> np.ndarray:
    """Which sentences documents with ``counts`` ``(B,)`` sentences keep under a limit of ``limit`` per document.

    Returns a boolean mask over all sentences, documents one after the other, shape ``(sum(counts),)``.
    """
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    if limit is None or total == 0:
        return np.ones(total, dtype=bool)
    doc = np.repeat(np.arange(len(counts)), counts)
    position = np.arange(total) - (np.cumsum(counts) - counts)[doc]
    count = counts[doc]
    if truncation == "head":
        return position < limit
    if truncation == "tail":
        return position >= count - limit
    head = limit // 4  # as seqkit.data.truncate: first quarter and last three quarters
    return (count <= limit) | (position < head) | (position >= count - (limit - head))


def _keep_sentences(sentences: pa.ListArray, limit: int, truncation: Truncation) -> pa.ListArray:
    """At most ``limit`` sentences per document, chosen by ``truncation`` (see :func:`keep_mask`)."""
    offsets = _offsets(sentences)
    counts = np.diff(offsets)
    if counts.size == 0 or counts.max() <= limit:
        return sentences
    keep = keep_mask(counts, limit, truncation)
    kept_before = np.concatenate([[0], np.cumsum(keep)])
    return _rebuild(kept_before[offsets], sentences.flatten().filter(pa.array(keep)))
