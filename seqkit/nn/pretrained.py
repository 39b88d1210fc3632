"""Pretrained word vectors (GloVe, word2vec, fastText text format) copied into an embedding table.

Lives in ``seqkit.nn`` because it initialises a module's weights: it needs only a tokenizer's ``vocab_size``,
``id_to_token`` and ``special_ids`` (any :class:`seqkit.data.Tokenizer`) and an ``nn.Embedding``.
"""

from __future__ import annotations

import gzip
import io
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import torch
from torch import Tensor, nn

from seqkit.errors import DataError

log = logging.getLogger(__name__)

# Word-start markers of subword vocabularies (sentencepiece, byte-level BPE): "▁movie" is the word "movie".
_WORD_START = ("\u2581", "\u0120")


class VocabularyLike(Protocol):
    """What :func:`load_word_vectors` needs from a tokenizer."""

    @property
    def vocab_size(self) -> int: ...

    @property
    def special_ids(self) -> set[int]: ...

    def id_to_token(self, index: int) -> str: ...


def _forms(token: str) -> list[str]:
    """Spellings to look up for one token, best first: exact, then lowercase (each also without a word marker)."""
    forms = [token, token.lower()]
    if token.startswith(_WORD_START) and len(token) > 1:
        forms += [token[1:], token[1:].lower()]
    return list(dict.fromkeys(forms))


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="replace")
    return path.open(encoding="utf-8", errors="replace")


def read_vectors(path: str | Path, wanted: set[str] | None = None) -> Iterator[tuple[str, Tensor]]:
    """Yield ``(word, vector (D,))`` from a GloVe (``word v1 ... vD``) or word2vec text file (first line
    ``count D``), optionally only for the words in ``wanted``. ``.gz`` files are read as they are."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"Word vector file {path} does not exist.")
    dim: int | None = None
    with _open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            parts = line.rstrip("\n\r ").split(" ")
            if number == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
                dim = int(parts[1])  # word2vec header: "count dim"
                continue
            if len(parts) < 2:
                continue  # blank line
            if dim is None:
                dim = len(parts) - 1
            if len(parts) <= dim:
                raise DataError(f"Line {number} of {path} has {len(parts) - 1} values, expected {dim} "
                                "(a binary word2vec file? Convert it to text format).")
            # Some GloVe files hold words with spaces: the last `dim` fields are the vector, the rest the word.
            word = " ".join(parts[:-dim])
            if wanted is not None and word not in wanted:
                continue
            try:
                values = [float(v) for v in parts[-dim:]]
            except ValueError as error:
                raise DataError(f"Line {number} of {path} is not 'word v1 ... v{dim}': {error}") from error
            yield word, torch.tensor(values)


@torch.no_grad()
def load_word_vectors(path: str | Path, tokenizer: VocabularyLike, embedding: nn.Embedding) -> float:
    """Copy the vectors of the tokenizer's tokens from a text-format vector file into ``embedding``.

    Each token is looked up as written, then lowercased (subword tokens also without their ``▁``/``Ġ`` word
    marker); the first spelling found wins. Special tokens (padding, ``<unk>``...) and tokens without a vector
    keep their current rows, so the padding row stays zero.

    Args:
        path: GloVe or word2vec text file (``.gz`` allowed).
        tokenizer: The tokenizer whose ids index ``embedding``.
        embedding: Table ``(V, D)``; ``D`` must equal the file's vector size.

    Returns:
        Coverage: the share of the vocabulary, special tokens excluded, that got a vector (0 to 1).
    """
    specials = tokenizer.special_ids
    ids = [i for i in range(tokenizer.vocab_size) if i not in specials]
    forms = {i: _forms(tokenizer.id_to_token(i)) for i in ids}
    wanted = {form for spellings in forms.values() for form in spellings}
    found: dict[str, Tensor] = {}
    for word, vector in read_vectors(path, wanted):
        if vector.numel() != embedding.embedding_dim:
            raise DataError(f"Word vectors in {path} have {vector.numel()} dimensions but the embedding has "
                            f"{embedding.embedding_dim}; set the model's embedding_dim to {vector.numel()}.")
        found.setdefault(word, vector)  # a repeated word keeps its first (usually most frequent) vector
    rows, vectors = [], []
    for i in ids:
        spelling = next((form for form in forms[i] if form in found), None)
        if spelling is not None:
            rows.append(i)
            vectors.append(found[spelling])
    if rows:
        weight = embedding.weight
        weight[torch.tensor(rows, device=weight.device)] = torch.stack(vectors).to(weight)
    coverage = len(rows) / len(ids) if ids else 0.0
    log.info("Word vectors from %s: %d of %d tokens (%.1f%%)", path, len(rows), len(ids), 100 * coverage)
    return coverage
