"""Sampling from a language model: :func:`generate` continues a batch of prompts, drawing each token with
:func:`sample_next` (temperature, top-k, top-p); :func:`check_sampling` refuses settings that would misbehave."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator, Sequence

import torch
from torch import Tensor

from seqkit.errors import DataError
from seqkit.models.rnn_lm import LMState, RNNLanguageModel

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
