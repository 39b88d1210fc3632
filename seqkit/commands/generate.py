"""``seqkit generate``: continue a prompt with a trained language model, printing tokens as they come."""

from __future__ import annotations

import sys

from jsonargparse.typing import NonNegativeFloat, NonNegativeInt, PositiveInt

from seqkit.errors import DataError


def generate(*, checkpoint: str, prompt: str = "", max_new_tokens: NonNegativeInt = 50,
             temperature: NonNegativeFloat = 1.0, top_k: PositiveInt | None = None, top_p: float | None = None,
             seed: int | None = None) -> int:
    """Generate text from a trained language model, printing tokens as they come.

    Args:
        checkpoint: run directory (uses checkpoints/best.ckpt), .ckpt file, published model folder or Hub id
        prompt: text to continue (default: start a new line)
        max_new_tokens: tokens to generate (at most 100,000)
        temperature: 0 for greedy decoding
        top_k: sample from the k most likely tokens only
        top_p: sample from the smallest set of tokens whose probability reaches p, in (0, 1]
        seed: makes the sampling reproducible
    """
    from seqkit.search import check_sampling

    try:
        prompt.encode("utf-8")
    except UnicodeEncodeError:
        raise DataError("--prompt is not UTF-8 text.") from None
    try:  # before the model is loaded: what the types leave open (top_p in (0, 1], a finite temperature)
        check_sampling(max_new_tokens, temperature, top_k, top_p)
    except DataError as error:
        raise DataError(f"--{error}") from None
    from seqkit.inference.loading import load
    from seqkit.tasks import CharCNNLanguageModel, LanguageModel

    predictor = load(checkpoint, task=(LanguageModel, CharCNNLanguageModel))
    sys.stdout.write(prompt)
    for text in predictor.stream(prompt, max_new_tokens, temperature, top_k, top_p, seed=seed):
        sys.stdout.write(text)
        sys.stdout.flush()
    sys.stdout.write("\n")
    return 0
