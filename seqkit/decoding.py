"""Decoding outside the models: sampling and batched generation for language models."""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterator, Sequence

import torch
from torch import Tensor

from seqkit.models.rnn_lm import RNNLanguageModel, State
from seqkit.sampling import check_sampling


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


def _stack_states(states: list[State]) -> State:
    layers = []
    for per_layer in zip(*states, strict=True):
        if isinstance(per_layer[0], tuple):
            layers.append(tuple(torch.cat(parts, dim=1) for parts in zip(*per_layer, strict=True)))
        else:
            layers.append(torch.cat(per_layer, dim=1))
    return layers


def _take(state: State, index: Tensor) -> State:
    return [tuple(t[:, index] for t in s) if isinstance(s, tuple) else s[:, index] for s in state]


@torch.no_grad()
def prime(model: RNNLanguageModel, prompts: Sequence[Sequence[int]]) -> tuple[State, Tensor]:
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


def prompt_ids(tokenizer, text: str) -> list[int]:
    """Token ids of a prompt; an empty prompt starts a new line (``<eos>``, as in LM training streams)."""
    ids = tokenizer.encode(text) if text.strip() else []
    return ids or [tokenizer.eos_id if tokenizer.eos_id is not None else tokenizer.pad_id]


class StreamingDetokenizer:
    """Turns generated ids into text one token at a time.

    Each call returns only the new characters: the current line is decoded again and compared with what was
    already printed, so subword pieces join correctly; ``<eos>`` prints a line break. Output is held back while
    the decoded text ends in an incomplete character (byte-level BPE). With ``leading_space`` the first text is
    separated from the prompt by a space.
    """

    def __init__(self, tokenizer, leading_space: bool = True) -> None:
        self.tokenizer = tokenizer
        self.line: list[int] = []
        self.printed = ""
        self.pending_space = leading_space

    def push(self, token: int) -> str:
        if token == self.tokenizer.eos_id:
            self.line, self.printed, self.pending_space = [], "", False
            return "\n"
        self.line.append(token)
        text = self.tokenizer.decode(self.line)
        if text.endswith("\ufffd"):  # half of a multi-byte character: wait for the rest
            return ""
        new = text[len(os.path.commonprefix([text, self.printed])):]
        self.printed = text
        if new and self.pending_space:
            new = new if new.startswith(" ") else " " + new
            self.pending_space = False
        return new


def generate_text(model: RNNLanguageModel, tokenizer, prompts: Sequence[str], max_new_tokens: int,
                  temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
                  seed: int | None = None) -> list[str]:
    """Continue several prompts at once; returns each continuation as text (``<eos>`` as a newline)."""
    ids = [prompt_ids(tokenizer, p) for p in prompts]
    steps = list(generate(model, ids, max_new_tokens, temperature, top_k, top_p, seed=seed))
    texts = []
    for row in torch.stack(steps, 1).tolist() if steps else [[] for _ in prompts]:
        out = StreamingDetokenizer(tokenizer, leading_space=False)
        texts.append("".join(out.push(t) for t in row))
    return texts
