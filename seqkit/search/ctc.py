"""Decoding CTC outputs (speech): best-path :func:`ctc_greedy_decode` and :func:`ctc_prefix_beam_search`, which
sums every alignment of a labelling."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from seqkit.errors import DataError


@dataclass
class CTCHypothesis:
    """A labelling decoded from CTC outputs.

    Attributes:
        tokens: Label ids (the blank removed, repeats collapsed).
        log_prob: Its log-probability: the best path's (greedy), or the sum over every alignment that collapses to
            it (prefix beam search); ``exp(log_prob)`` is the confidence seqkit reports.
        frames: The step at which each token was emitted (its first frame), for plots.
    """

    tokens: list[int]
    log_prob: float
    frames: list[int]


def ctc_greedy_decode(log_probs: Tensor, lengths: Tensor | None = None, blank: int = 0) -> list[CTCHypothesis]:
    """Best-path decoding: the most likely label of every step, repeats collapsed, then blanks removed.

    Args:
        log_probs: Per-step log-probabilities ``(B, T, V)``.
        lengths: Real steps of each row ``(B,)``; ``None``: all ``T``.
        blank: The blank's id.

    Returns:
        One :class:`CTCHypothesis` per row; ``log_prob`` is the best path's.
    """
    batch, steps, _ = log_probs.shape
    lengths = torch.full((batch,), steps) if lengths is None else lengths.cpu()
    scores, best = log_probs.detach().float().cpu().max(-1)  # (B, T)
    mask = torch.arange(steps)[None, :] < lengths[:, None]
    previous = F.pad(best, (1, 0), value=blank)[:, :-1]
    emit = (best != blank) & (best != previous) & mask  # a new label starts here
    totals = (scores * mask).sum(1).tolist()
    results = []
    for row in range(batch):
        where = emit[row].nonzero().flatten()
        results.append(CTCHypothesis(best[row, where].tolist(), totals[row], where.tolist()))
    return results


def _logaddexp(a: float, b: float) -> float:
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    return max(a, b) + math.log1p(math.exp(-abs(a - b)))


def _slots(grown: dict[tuple[int, ...], list]):
    """``entry(prefix, frames)``: the ``[log P blank-ending, log P label-ending, frames]`` of ``prefix`` in
    ``grown``, created empty on first use."""

    def entry(prefix: tuple[int, ...], frames: list[int]) -> list:
        return grown.setdefault(prefix, [-math.inf, -math.inf, frames])

    return entry


def ctc_prefix_beam_search(log_probs: Tensor, lengths: Tensor | None = None, beam_size: int = 8, blank: int = 0,
                           prune: float = 12.0) -> list[CTCHypothesis]:
    """Prefix beam search over CTC outputs (Hannun et al. 2014, without a language model).

    Every prefix keeps two log-probabilities, of the alignments ending in a blank and of those ending in its last
    label, so that all alignments collapsing to one labelling are summed. A label equal to the prefix's last one
    extends it only after a blank; otherwise it merges into that last label. The ``beam_size`` most probable
    prefixes survive each step.

    With ``beam_size=1`` the result equals greedy decoding whenever one path dominates each step's merge (peaked
    outputs, as trained CTC models give); where several alignments of a shorter labelling together outweigh the best
    path, prefix search returns that labelling, which is the more probable one (see tests/search).

    Args:
        log_probs: Per-step log-probabilities ``(B, T, V)``.
        lengths: Real steps of each row ``(B,)``; ``None``: all ``T``.
        beam_size: Prefixes kept per step.
        blank: The blank's id.
        prune: Labels more than this many nats below a step's best are not tried at that step.

    Returns:
        The best :class:`CTCHypothesis` of each row; ``log_prob`` sums over its alignments.
    """
    if beam_size < 1:
        raise DataError(f"beam_size must be at least 1, got {beam_size}.")
    batch, steps, _ = log_probs.shape
    lengths = torch.full((batch,), steps) if lengths is None else lengths.cpu()
    values = log_probs.detach().double().cpu()
    results = []
    for row in range(batch):
        # prefix -> [log P(ending in blank), log P(ending in its last label), step of each label]
        beams: dict[tuple[int, ...], list] = {(): [0.0, -math.inf, []]}
        for t in range(int(lengths[row])):
            frame = values[row, t]
            top = float(frame.max())
            candidates = [(c, float(frame[c])) for c in (frame >= top - prune).nonzero().flatten().tolist()]
            grown: dict[tuple[int, ...], list] = {}
            entry = _slots(grown)

            for prefix, (p_blank, p_label, frames) in beams.items():
                total = _logaddexp(p_blank, p_label)
                for label, score in candidates:
                    if label == blank:
                        slot = entry(prefix, frames)
                        slot[0] = _logaddexp(slot[0], total + score)
                    elif prefix and label == prefix[-1]:
                        slot = entry(prefix, frames)  # the same label again, no blank between: merged
                        slot[1] = _logaddexp(slot[1], p_label + score)
                        longer = entry((*prefix, label), [*frames, t])  # after a blank: a new label
                        longer[1] = _logaddexp(longer[1], p_blank + score)
                    else:
                        longer = entry((*prefix, label), [*frames, t])
                        longer[1] = _logaddexp(longer[1], total + score)
            ranked = sorted(grown.items(), key=lambda item: _logaddexp(item[1][0], item[1][1]), reverse=True)
            beams = dict(ranked[:beam_size])
        prefix, (p_blank, p_label, frames) = max(beams.items(), key=lambda item: _logaddexp(item[1][0], item[1][1]))
        results.append(CTCHypothesis(list(prefix), _logaddexp(p_blank, p_label), list(frames)))
    return results
