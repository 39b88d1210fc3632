"""Checks on sampling settings, importable without torch so that ``seqkit generate`` answers a bad option at once."""

from __future__ import annotations

import math


def check_sampling(max_new_tokens: int, temperature: float, top_k: int | None, top_p: float | None) -> None:
    """Raise :class:`~seqkit.errors.DataError` for sampling settings that would silently misbehave (a negative
    temperature samples from the inverted distribution)."""
    from seqkit.errors import DataError

    if max_new_tokens < 0:
        raise DataError(f"max_new_tokens must be 0 or more, got {max_new_tokens}.")
    if not math.isfinite(temperature) or temperature < 0:
        raise DataError(f"temperature must be 0 (greedy) or more, got {temperature}.")
    if top_k is not None and top_k < 1:
        raise DataError(f"top_k must be at least 1, got {top_k}.")
    if top_p is not None and not 0 < top_p <= 1:
        raise DataError(f"top_p must be in (0, 1], got {top_p}.")
