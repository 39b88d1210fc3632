"""Range checks on a parsed configuration, run before any data is loaded or any folder is written.

jsonargparse checks types (``hidden_size: abc`` is refused at once) but not ranges: ``lr: -0.01`` or
``batch_size: 0`` would otherwise be found only after the data is loaded and the tokenizer trained, as a traceback
from deep inside PyTorch. The rules go by option name, so they cover every model, data module and optimizer.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from seqkit.errors import ConfigError

#: Options that count things: at least 1.
_COUNTS = ("batch_size", "num_layers", "embedding_dim", "vocab_size", "max_length", "num_classes", "beam_size",
           "bptt", "max_tokens")
#: Options that are probabilities of dropping something: in [0, 1).
_RATES = ("dropout", "weight_drop", "embedding_dropout", "label_smoothing")


def _walk(value: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, value


def range_problem(name: str, value: Any) -> str | None:
    """Why ``value`` is out of range for an option called ``name`` (e.g. ``must be at least 1``), or ``None``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return "must be a finite number"
    if name in ("lr", "learning_rate"):
        return None if value > 0 else "must be greater than 0"
    if name == "weight_decay" or name == "momentum":
        return None if value >= 0 else "must be 0 or more"
    if name in _COUNTS or name.endswith(("_size", "_dim")) and not name.startswith(("min_", "pool_")):
        return None if value >= 1 else "must be at least 1"
    if name in _RATES or name.endswith("_dropout"):
        return None if 0 <= value < 1 else "must be in [0, 1)"
    return None


def check_ranges(config: dict[str, Any]) -> None:
    """Raise :class:`ConfigError` for the first option of ``config`` (a dumped LightningCLI configuration) whose
    value is out of range, e.g. ``model.init_args.network.dropout=1.5 must be in [0, 1)``."""
    for section in ("model", "data"):
        for key, value in _walk(config.get(section) or {}, section):
            if ".class_path" in key or key.endswith("class_path"):
                continue
            problem = range_problem(key.rsplit(".", 1)[-1], value)
            if problem:
                raise ConfigError(f"--{key} {value}: {problem}.")
