"""Range checks for network configs, called from each config's ``__post_init__``.

A config dataclass checks its own fields by what they mean (a count, a rate), so a setting is refused when the
config is built, whatever the field is called, and before any data is loaded::

    def __post_init__(self) -> None:
        at_least(self, "hidden_size", "num_layers")
        rate(self, "dropout", "dropout_input")
        one_of(self, "cell", ("lstm", "gru"))
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from seqkit.errors import ConfigError


def _number(config: Any, name: str) -> float | None:
    value = getattr(config, name)
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value):
        raise ConfigError(f"{type(config).__name__}.{name}={value}: must be a finite number.")
    return value


def at_least(config: Any, *names: str, minimum: float = 1) -> None:
    """Refuse any of ``config``'s fields ``names`` below ``minimum`` (counts and sizes: at least 1)."""
    for name in names:
        value = _number(config, name)
        if value is not None and value < minimum:
            raise ConfigError(f"{type(config).__name__}.{name}={value}: must be at least {minimum}.")


def rate(config: Any, *names: str) -> None:
    """Refuse any of ``config``'s fields ``names`` outside ``[0, 1)`` (probabilities of dropping something)."""
    for name in names:
        value = _number(config, name)
        if value is not None and not 0 <= value < 1:
            raise ConfigError(f"{type(config).__name__}.{name}={value}: must be in [0, 1).")


def positive(config: Any, *names: str) -> None:
    """Refuse any of ``config``'s fields ``names`` that is not greater than 0 (scales, radii, rates of change)."""
    for name in names:
        value = _number(config, name)
        if value is not None and value <= 0:
            raise ConfigError(f"{type(config).__name__}.{name}={value}: must be greater than 0.")


def one_of(config: Any, name: str, choices: Iterable[str]) -> None:
    """Refuse ``config``'s field ``name`` unless it is one of ``choices`` (a cell type, a pooling)."""
    value, allowed = getattr(config, name), list(choices)
    if value not in allowed:
        raise ConfigError(f"{type(config).__name__}.{name}={value!r}: must be one of {', '.join(allowed)}.")
