"""Greedy and batched beam search for translation models, on tensors only.

The search functions take any model with the two tensor-only methods of
:class:`~seqkit.models.seq2seq.AttentionalSeq2Seq` (``encode`` and ``decode_step``; a task module holding one as
``.network`` works too).

Beam search keeps all beams of all sentences in one batch of ``B * K`` rows. Each step it takes the ``2K`` best
extensions of every sentence: ``<eos>`` among the first ``K`` closes a hypothesis (scored with the GNMT length
penalty), the ``K`` best others stay alive. A sentence is done once it holds ``K`` finished hypotheses or reaches
its maximum length ``ratio * source length + offset`` (its live beams are then closed as they are); done
sentences leave the batch. Every choice depends on one sentence's own numbers only, so a batch returns the same
hypotheses as one sentence at a time (tested).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass
class Hypothesis:
    """One search result for one sentence.

    Attributes:
        tokens: Target ids, without ``<bos>`` and ``<eos>``.
        log_prob: Sum of the token log-probabilities (``<eos>`` included when it was produced).
        score: ``log_prob`` divided by the length penalty; hypotheses are ranked by it.
        attention: ``(steps, S)`` attention weights per target step (``<eos>``'s step included) over the real
            source tokens, when requested.
    """

    tokens: list[int]
    log_prob: float
    score: float
    attention: Tensor | None = None


def length_penalty(length: int | Tensor, alpha: float) -> float | Tensor:
    """GNMT length penalty ``((5 + length) / 6) ** alpha`` (Wu et al. 2016); ``alpha = 0`` is no penalty."""
    return ((5 + length) / 6) ** alpha


def max_lengths(src_lengths: Tensor, ratio: float, offset: int) -> Tensor:
    """Longest output per sentence, ``(B,)``: ``ratio * source length + offset`` steps, at least 1."""
    return (src_lengths.float() * ratio + offset).long().clamp(min=1)


def _model(module):
    """The network whose ``encode``/``decode_step`` run the search (a task module holds it as ``.network``)."""
    return getattr(module, "network", module)


@torch.no_grad()
def greedy_search(
    module, src_ids: Tensor, src_lengths: Tensor, bos_id: int, eos_id: int, *, max_length_ratio: float = 1.5,
    max_length_offset: int = 10, alpha: float = 0.0, return_attention: bool = False,
) -> list[Hypothesis]:
    """The most likely next token at every step, for a batch ``src_ids`` ``(B, S)`` with ``src_lengths`` ``(B,)``.

    Returns one :class:`Hypothesis` per sentence, in batch order.
    """
    model = _model(module)
    memory, keys, mask, hidden, feed = model.encode(src_ids, src_lengths)
    batch = src_ids.shape[0]
    limits = max_lengths(src_lengths, max_length_ratio, max_length_offset).to(src_ids.device)
    prev = torch.full((batch,), bos_id, dtype=torch.long, device=src_ids.device)
    log_probs = memory.new_zeros(batch)
    ends = torch.zeros(batch, dtype=torch.long, device=src_ids.device)  # steps taken when finished, 0 = running
    steps, weights = [], []
    for t in range(int(limits.max())):
        step_lp, hidden, feed, step_w = model.decode_step(prev, hidden, feed, memory, keys, mask)
        best_lp, best = step_lp.max(-1)
        running = ends == 0
        log_probs = log_probs.to(best_lp.dtype)  # sums in the log-probabilities' dtype, as beam search
        log_probs = torch.where(running, log_probs + best_lp, log_probs)
        steps.append(best)
        if return_attention:
            weights.append(step_w)
        finished = running & ((best == eos_id) | (t + 1 >= limits))
        ends = torch.where(finished, torch.full_like(ends, t + 1), ends)
        if bool((ends > 0).all()):
            break
        prev = best
    tokens = torch.stack(steps, 1).tolist()
    results = []
    for b in range(batch):
        end = int(ends[b])
        row = tokens[b][:end]
        produced_eos = row[-1] == eos_id
        attention = None
        if return_attention:
            attention = torch.stack([w[b] for w in weights[:end]])[:, : int(src_lengths[b])].float().cpu()
        lp = float(log_probs[b])
        results.append(Hypothesis(row[:-1] if produced_eos else row, lp, lp / length_penalty(end, alpha), attention))
    return results


@torch.no_grad()
def beam_search(
    module, src_ids: Tensor, src_lengths: Tensor, bos_id: int, eos_id: int, *, beam_size: int = 5, nbest: int = 1,
    alpha: float = 1.0, max_length_ratio: float = 1.5, max_length_offset: int = 10, return_attention: bool = False,
) -> list[list[Hypothesis]]:
    """Batched beam search over ``src_ids`` ``(B, S)`` with ``src_lengths`` ``(B,)``.

    Args:
        module: Model (or task module) with ``encode`` and ``decode_step``.
        bos_id, eos_id: Target start and end ids.
        beam_size: Beams per sentence ``K``.
        nbest: Hypotheses returned per sentence (fewer when fewer were closed).
        alpha: Length penalty exponent (0: rank by summed log-probability, which favours short outputs).
        max_length_ratio, max_length_offset: Longest output ``ratio * source length + offset``.
        return_attention: Keep each hypothesis' attention weights.

    Returns:
        For each sentence, in batch order, its ``nbest`` best hypotheses, best first.
    """
    if beam_size < 1 or nbest < 1:
        raise ValueError(f"beam_size and nbest must be at least 1, got {beam_size} and {nbest}")
    model = _model(module)
    device = src_ids.device
    batch, k = src_ids.shape[0], beam_size
    memory, keys, mask, hidden, feed = model.encode(src_ids, src_lengths)
    # Every sentence's state copied to its K beams: row i * K + j is beam j of sentence i.
    memory, keys, mask, feed = (x.repeat_interleave(k, 0) for x in (memory, keys, mask, feed))
    hidden = hidden.repeat_interleave(k, 1)
    limits = max_lengths(src_lengths, max_length_ratio, max_length_offset).tolist()
    scores = memory.new_full((batch, k), float("-inf"))
    scores[:, 0] = 0.0  # one live beam at the start, so the first step does not pick the same token K times
    tokens = torch.zeros(batch * k, 0, dtype=torch.long, device=device)
    history = memory.new_zeros(batch * k, 0, memory.shape[1]) if return_attention else None
    prev = torch.full((batch * k,), bos_id, dtype=torch.long, device=device)
    alive = list(range(batch))  # the original index of each sentence still in the batch
    finished: list[list[Hypothesis]] = [[] for _ in range(batch)]

    def close(sentence: int, row: int, log_prob: float, steps: int, last_weights: Tensor | None) -> None:
        attention = None
        if history is not None:
            rows = history[row] if last_weights is None else torch.cat([history[row], last_weights[None]])
            attention = rows[:, : int(src_lengths[sentence])].float().cpu()
        finished[sentence].append(Hypothesis(tokens[row].tolist(), log_prob,
                                             log_prob / length_penalty(steps, alpha), attention))

    for t in range(max(limits)):
        step_lp, hidden, feed, step_w = model.decode_step(prev, hidden, feed, memory, keys, mask)  # (n*K, V)
        n, vocab = len(alive), step_lp.shape[-1]
        if vocab < 2 * k:
            raise ValueError(f"beam search needs a vocabulary of at least 2 * beam_size ids, got {vocab}")
        # In the log-probabilities' own dtype: float32 sums keep float32 top-k (double would cost ~30% more).
        scores = scores.to(step_lp.dtype)
        candidates = (scores.view(n * k, 1) + step_lp).view(n, k * vocab)
        top_scores, top_index = candidates.topk(2 * k, dim=1)  # (n, 2K), best first
        origin, token = top_index // vocab, top_index % vocab
        is_eos = token == eos_id
        # <eos> among the K best closes a hypothesis (its weights row is this step's).
        for i, j in (is_eos[:, :k] & torch.isfinite(top_scores[:, :k])).nonzero().tolist():
            row = i * k + int(origin[i, j])
            close(alive[i], row, float(top_scores[i, j]), t + 1, step_w[row] if history is not None else None)
        # The K best extensions that are not <eos> live on (there are always K: at most one <eos> per beam).
        order = (is_eos.long() * (2 * k) + torch.arange(2 * k, device=device)).argsort(dim=1)[:, :k]
        scores = top_scores.gather(1, order)
        rows = (torch.arange(n, device=device)[:, None] * k + origin.gather(1, order)).view(-1)
        prev = token.gather(1, order).view(-1)
        tokens = torch.cat([tokens[rows], prev[:, None]], 1)
        hidden, feed = hidden[:, rows], feed[rows]
        if history is not None:
            history = torch.cat([history[rows], step_w[rows][:, None]], 1)
        keep = []
        for i, sentence in enumerate(alive):
            if t + 1 >= limits[sentence]:  # out of steps: the live beams close as they are
                for j in range(k):
                    if torch.isfinite(scores[i, j]):
                        close(sentence, i * k + j, float(scores[i, j]), t + 1, None)
            elif len(finished[sentence]) < k:
                keep.append(i)
        if not keep:
            break
        if len(keep) < n:  # done sentences leave the batch
            kept = torch.tensor(keep, device=device)
            rows = (kept[:, None] * k + torch.arange(k, device=device)).view(-1)
            alive = [alive[i] for i in keep]
            scores = scores[kept]
            tokens, prev, feed, memory, keys, mask = (x[rows] for x in (tokens, prev, feed, memory, keys, mask))
            hidden = hidden[:, rows]
            if history is not None:
                history = history[rows]
    return [sorted(found, key=lambda h: -h.score)[:nbest] for found in finished]


def search_batch(
    module, src_ids: Tensor, src_lengths: Tensor, bos_id: int, eos_id: int, *, beam: int, nbest: int = 1,
    alpha: float = 1.0, max_length_ratio: float = 1.5, max_length_offset: int = 10, return_attention: bool = False,
) -> list[list[Hypothesis]]:
    """Greedy search for ``beam == 1`` (the same result, less work), else beam search; ``nbest`` per sentence."""
    options = {"max_length_ratio": max_length_ratio, "max_length_offset": max_length_offset,
               "return_attention": return_attention}
    if beam == 1:
        return [[h] for h in greedy_search(module, src_ids, src_lengths, bos_id, eos_id, alpha=alpha, **options)]
    return beam_search(module, src_ids, src_lengths, bos_id, eos_id, beam_size=beam, nbest=nbest, alpha=alpha,
                       **options)
