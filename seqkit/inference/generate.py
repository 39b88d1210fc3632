"""Generating text with a trained language model: prompts to ids, ids streamed back as text::

    predictor = seqkit.load("runs/lm/wikitext2/20250101-120000")
    predictor.generate("the film", max_new_tokens=30, temperature=0.8, top_p=0.9, seed=0)
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

import torch

from seqkit.inference.predictor import Predictor
from seqkit.models.rnn_lm import RNNLanguageModel
from seqkit.search import check_sampling, generate


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
    check_sampling(max_new_tokens, temperature, top_k, top_p)
    if not prompts:  # no prompts, no continuations (an empty batch has no rows to run)
        return []
    ids = [prompt_ids(tokenizer, p) for p in prompts]
    steps = list(generate(model, ids, max_new_tokens, temperature, top_k, top_p, seed=seed))
    texts = []
    for row in torch.stack(steps, 1).tolist() if steps else [[] for _ in prompts]:
        out = StreamingDetokenizer(tokenizer, leading_space=False)
        texts.append("".join(out.push(t) for t in row))
    return texts


class LanguageModelPredictor(Predictor):
    """A :class:`~seqkit.tasks.LanguageModel` (or character-CNN language model) with its tokenizer: ``generate``."""

    def generate(self, prompts: str | Sequence[str] = "", max_new_tokens: int = 50, temperature: float = 1.0,
                 top_k: int | None = None, top_p: float | None = None, seed: int | None = None) -> str | list[str]:
        """Continue one prompt (returns a string) or several (a list); ``temperature=0`` is greedy.

        See :func:`seqkit.search.sample_next` for ``top_k`` and ``top_p``.
        """
        single = isinstance(prompts, str)
        texts = generate_text(self.module.network, self.tokenizer, [prompts] if single else list(prompts),
                              max_new_tokens, temperature, top_k, top_p, seed=seed)
        return texts[0] if single else texts

    def stream(self, prompt: str = "", max_new_tokens: int = 50, temperature: float = 1.0, top_k: int | None = None,
               top_p: float | None = None, seed: int | None = None) -> Iterator[str]:
        """Continue ``prompt``, yielding the new text of each token as it is drawn (for printing as it comes)."""
        check_sampling(max_new_tokens, temperature, top_k, top_p)
        out = StreamingDetokenizer(self.tokenizer)
        for step in generate(self.module.network, [prompt_ids(self.tokenizer, prompt)], max_new_tokens, temperature,
                             top_k, top_p, seed=seed):
            yield out.push(int(step[0]))
