"""Translating texts with a trained translation model: tokenise, sort by length, search in batches
(:mod:`seqkit.search`), detokenise::

    predictor = seqkit.load("runs/translation/multi30k_de_en/20250101-120000")
    predictor.translate(["Ein Hund läuft."], beam=5)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import torch
from torch import Tensor

from seqkit.data.translation import TARGET_TOKENIZER_DIR, TranslationDataModule
from seqkit.inference.blank import is_blank
from seqkit.inference.predictor import Predictor
from seqkit.search import Hypothesis, search_batch

log = logging.getLogger(__name__)

#: Texts tokenised and sorted by length together by :func:`iter_translate` (in batches).
CHUNK_BATCHES = 16


@dataclass
class Translation:
    """The translation of one text.

    Attributes:
        source: The input text.
        text: The best hypothesis, detokenised.
        score: Its length-penalised log-probability (NaN for a blank text, which is not translated).
        nbest: ``(text, score)`` of the ``nbest`` best hypotheses, best first.
        source_pieces: The source tokens (for plots).
        target_pieces: The best hypothesis' tokens, then ``<eos>`` when it produced one.
        attention: ``(len(target_pieces), len(source_pieces))`` weights when requested.
    """

    source: str
    text: str
    score: float
    nbest: list[tuple[str, float]] = field(default_factory=list)
    source_pieces: list[str] = field(default_factory=list)
    target_pieces: list[str] = field(default_factory=list)
    attention: Tensor | None = None



def cut_source(ids: list[int], limit: int, number: int) -> list[int]:
    """The first ``limit`` ids of text ``number`` (from 1), with one warning line when that cuts it: search time
    and memory grow with the source, and the model never saw longer ones."""
    if len(ids) <= limit:
        return ids
    log.warning("Text %d has %d tokens: translating its first %d, the model's max_length (set max_length to "
                "change it).", number, len(ids), limit)
    return ids[:limit]


def pad_sources(rows: list[list[int]], pad_id: int, device) -> tuple[Tensor, Tensor]:
    """Token id rows as a padded ``(B, S)`` batch and their lengths ``(B,)`` on ``device``."""
    lengths = torch.tensor([len(r) for r in rows], dtype=torch.long)
    ids = torch.full((len(rows), max(1, int(lengths.max()))), pad_id, dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
    return ids.to(device), lengths.to(device)


@torch.inference_mode()
def iter_translate(
    module, src_tokenizer, tgt_tokenizer, texts: Iterable[str], *, beam: int | None = None, nbest: int = 1,
    batch_size: int = 32, alpha: float | None = None, max_length_ratio: float | None = None,
    max_length_offset: int | None = None, max_source_length: int | None = None, return_attention: bool = False,
    progress: Callable[[int], object] | None = None,
) -> Iterator[Translation]:
    """Yield one :class:`Translation` per text, in input order, reading ``texts`` lazily chunk by chunk.

    Texts of a chunk (``batch_size * 16``) are sorted by length before batching (less padding, and short
    sentences finish together); unset search settings come from the module's hyperparameters. A blank text gets an
    empty translation with score NaN and no n-best list (:mod:`seqkit.inference.blank`). A text longer than
    ``max_source_length`` tokens (``None``: no limit) is cut to its first ones, as in training, with one warning
    line naming it (counted from 1: its line number in a file).
    """
    hparams = module.hparams
    beam = beam or hparams["beam_size"]
    alpha = hparams["length_penalty"] if alpha is None else alpha
    ratio = hparams["max_length_ratio"] if max_length_ratio is None else max_length_ratio
    offset = hparams["max_length_offset"] if max_length_offset is None else max_length_offset
    module.eval()
    device = next(module.parameters()).device
    iterator, done = iter(texts), 0
    while chunk := list(islice(iterator, batch_size * CHUNK_BATCHES)):
        ids = src_tokenizer.encode_batch(chunk)
        if max_source_length is not None:
            ids = [cut_source(row, max_source_length, done + i + 1) for i, row in enumerate(ids)]
        done += len(chunk)
        # A blank text is not searched: it keeps its place with an empty translation (seqkit.inference.blank).
        order = sorted((i for i, text in enumerate(chunk) if not is_blank(text)), key=lambda i: len(ids[i]))
        if progress is not None and len(order) < len(chunk):
            progress(len(chunk) - len(order))
        results: list[list[Hypothesis]] = [[] for _ in chunk]
        for start in range(0, len(order), batch_size):
            indices = order[start : start + batch_size]
            src, lengths = pad_sources([ids[i] for i in indices], src_tokenizer.pad_id, device)
            found = search_batch(module, src, lengths, tgt_tokenizer.bos_id, tgt_tokenizer.eos_id, beam=beam,
                                 nbest=nbest, alpha=alpha, max_length_ratio=ratio, max_length_offset=offset,
                                 return_attention=return_attention)
            for i, hypotheses in zip(indices, found, strict=True):
                results[i] = hypotheses
            if progress is not None:
                progress(len(indices))
        for text, src_row, hypotheses in zip(chunk, ids, results, strict=True):
            if not hypotheses:
                yield Translation(text, "", float("nan"))
                continue
            decoded = tgt_tokenizer.decode_batch([h.tokens for h in hypotheses])
            best = hypotheses[0]
            translation = Translation(text, decoded[0], best.score, list(zip(decoded, [h.score for h in hypotheses])))
            if return_attention:
                translation.source_pieces = [src_tokenizer.id_to_token(i) for i in src_row]
                eos = ["<eos>"] if best.attention is not None and best.attention.shape[0] > len(best.tokens) else []
                translation.target_pieces = [tgt_tokenizer.id_to_token(i) for i in best.tokens] + eos
                translation.attention = best.attention
            yield translation


class TranslatorPredictor(Predictor):
    """A :class:`~seqkit.tasks.Seq2SeqTranslator` with its source and target tokenizers: ``translate``."""

    @property
    def target_tokenizer(self) -> Any:
        return self.tokenizers.get(TARGET_TOKENIZER_DIR, self.tokenizer)

    @property
    def max_source_length(self) -> int:
        """The longest source the model was trained on, in tokens (the run's ``max_length``)."""
        return self.data_setting("max_length", TranslationDataModule)

    def iter_translate(self, texts: Iterable[str], max_length: int | None = None,
                       **options: Any) -> Iterator[Translation]:
        """:func:`iter_translate` with this model's tokenizers, sources cut to ``max_length`` tokens (default: the
        model's, :attr:`max_source_length`); ``options``: its other keyword arguments."""
        limit = self.max_source_length if max_length is None else max_length
        return iter_translate(self.module, self.tokenizer, self.target_tokenizer, texts, max_source_length=limit,
                              **options)

    def translate(self, texts: str | Iterable[str], beam: int | None = None, batch_size: int = 32,
                  details: bool = False, **options: Any) -> Any:
        """Translate one text (returns a string) or several (a list), with the model's beam settings unless given.

        ``details=True`` returns :class:`Translation` records (scores, n-best, attention). ``options`` go to
        :func:`iter_translate` (``nbest``, ``alpha``, ``return_attention``...).
        """
        single = isinstance(texts, str)
        records = list(self.iter_translate([texts] if single else texts, beam=beam, batch_size=batch_size,
                                           **options))
        out = records if details else [record.text for record in records]
        return out[0] if single else out
