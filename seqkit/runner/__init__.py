"""``seqkit fit|validate|test|predict``: seqkit's LightningCLI, in modules by concern.

- :mod:`~seqkit.runner.lightning_cli`: the LightningCLI subclass and :func:`run_lightning_cli`;
- :mod:`~seqkit.runner.run_folder`: the run folder's lifecycle (checks, creation, lock, removal on early failure);
- :mod:`~seqkit.runner.trainer_setup`: the default loggers, checkpoints and guards of the Trainer;
- :mod:`~seqkit.runner.declared`: what the task declarations give the command line (data links, recipe checks);
- :mod:`~seqkit.runner.messages`: one line for a configuration error, with hints for settings that moved.

The names below are imported on first use: the typed commands read :func:`first_problem` without Lightning.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

# Lightning calls jsonargparse APIs that jsonargparse deprecates; the warnings are about Lightning, not the recipe.
os.environ.setdefault("JSONARGPARSE_DEPRECATION_WARNINGS", "off")

_WHERE = {
    "SeqkitCLI": "seqkit.runner.lightning_cli",
    "run_lightning_cli": "seqkit.runner.lightning_cli",
    "RunFolder": "seqkit.runner.run_folder",
    "continue_csv_log": "seqkit.runner.run_folder",
    "first_problem": "seqkit.runner.messages",
    "seqkit_cause": "seqkit.runner.messages",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'seqkit.runner' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})
