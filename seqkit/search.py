"""Search with trained networks, on tensors only: sampling from a language model, greedy and batched beam search
for translation models, greedy and prefix beam decoding of CTC outputs (speech). Nothing here reads text;
:mod:`seqkit.inference` turns texts into ids and back.

Language models: :func:`generate` continues a batch of prompts, drawing each token with :func:`sample_next`
(temperature, top-k, top-p). Translation: the search functions take any model with the two tensor-only methods of
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

import math
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from seqkit.errors import DataError
from seqkit.models.rnn_lm import LMState, RNNLanguageModel

# ------------------------------------------------------------------------------------------------ language models
#: The most tokens one generation call draws (``seqkit generate`` and the Python API alike): a batch keeps every
#: drawn token, so an unbounded request would run for days and fill memory.
MAX_NEW_TOKENS = 100_000


def check_sampling(max_new_tokens: int, temperature: float, top_k: int | None, top_p: float | None) -> None:
    """Raise :class:`~seqkit.errors.DataError` (a ``ValueError``) for sampling settings that would silently misbehave
    (a negative temperature samples from the inverted distribution) or never end (over :data:`MAX_NEW_TOKENS`)."""
    if not 0 <= max_new_tokens <= MAX_NEW_TOKENS:
        raise DataError(f"max_new_tokens must be in 0..{MAX_NEW_TOKENS:,}, got {max_new_tokens:,}; continue a long "
                        "text in several calls.")
    if not math.isfinite(temperature):
        raise DataError(f"temperature must be a finite number (0 for greedy, 1 to sample as trained), "
                        f"got {temperature}.")
    if temperature < 0:
        raise DataError(f"temperature must be 0 (greedy) or more, got {temperature}.")
    if top_k is not None and top_k < 1:
        raise DataError(f"top_k must be at least 1, got {top_k}.")
    if top_p is not None and not 0 < top_p <= 1:
        raise DataError(f"top_p must be in (0, 1], got {top_p}.")


def sample_next(
    logits: Tensor, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Draw one token per row from ``logits`` ``(B, V)``: ``(B,)``.

    ``temperature`` 0 is greedy (argmax). ``top_k`` keeps the k most likely tokens; ``top_p`` keeps the smallest set
    whose probability reaches p (nucleus sampling, Holtzman et al. 2020). Both filters may be combined.
    """
    if temperature == 0:
        return logits.argmax(-1)
    logits = logits.float() / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = logits.topk(top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and top_p < 1.0:
        sorted_logits, order = logits.sort(dim=-1, descending=True)
        cumulative = sorted_logits.softmax(-1).cumsum(-1)
        drop_sorted = cumulative - sorted_logits.softmax(-1) >= top_p  # keep the token that crosses p
        drop = drop_sorted.scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    probabilities = logits.softmax(-1)
    return torch.multinomial(probabilities, 1, generator=generator).squeeze(-1)


def _stack_states(states: list[LMState]) -> LMState:
    layers = []
    for per_layer in zip(*states, strict=True):
        if isinstance(per_layer[0], tuple):
            layers.append(tuple(torch.cat(parts, dim=1) for parts in zip(*per_layer, strict=True)))
        else:
            layers.append(torch.cat(per_layer, dim=1))
    return layers


def _take(state: LMState, index: Tensor) -> LMState:
    return [tuple(t[:, index] for t in s) if isinstance(s, tuple) else s[:, index] for s in state]


@torch.no_grad()
def prime(model: RNNLanguageModel, prompts: Sequence[Sequence[int]]) -> tuple[LMState, Tensor]:
    """Run the prompts through the model, batching prompts of equal length together.

    Returns:
        The state after each prompt (batch order as given) and the logits of the token after each prompt
        ``(B, V)``.
    """
    by_length: dict[int, list[int]] = defaultdict(list)
    for index, prompt in enumerate(prompts):
        if not prompt:
            raise ValueError("every prompt needs at least one token (e.g. the <eos> id to start a new line)")
        by_length[len(prompt)].append(index)
    device = next(model.parameters()).device
    states, logits, order = [], [], []
    for indices in by_length.values():
        ids = torch.tensor([list(prompts[i]) for i in indices], device=device)
        output, state, _ = model(ids)
        states.append(state)
        logits.append(model.logits(output[:, -1]))
        order.extend(indices)
    inverse = torch.empty(len(order), dtype=torch.long, device=device)
    inverse[torch.tensor(order, device=device)] = torch.arange(len(order), device=device)
    return _take(_stack_states(states), inverse), torch.cat(logits)[inverse]


@torch.no_grad()
def generate(
    model: RNNLanguageModel,
    prompts: Sequence[Sequence[int]],
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
) -> Iterator[Tensor]:
    """Continue every prompt at once, yielding the ``(B,)`` new tokens of each step as they are drawn.

    The model is put in eval mode. With a ``seed`` the draws are reproducible (a private generator).
    """
    check_sampling(max_new_tokens, temperature, top_k, top_p)
    model.eval()
    generator = None
    if seed is not None:
        generator = torch.Generator(device=next(model.parameters()).device).manual_seed(seed)
    state, logits = prime(model, prompts)
    for _ in range(max_new_tokens):
        tokens = sample_next(logits, temperature, top_k, top_p, generator)
        yield tokens
        output, state, _ = model(tokens[:, None], state)
        logits = model.logits(output[:, -1])



# ------------------------------------------------------------------------------------------- translation models
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




# ------------------------------------------------------------------------------------------------ CTC
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
