"""seqkit: recurrent sequence models for NLP on PyTorch Lightning.

Submodules: ``seqkit.nn`` (plain ``nn.Module`` building blocks), ``seqkit.data`` (sources, tokenizers,
DataModules), ``seqkit.tasks`` (LightningModules). They are imported on first use, so ``import seqkit`` is cheap.
``seqkit.load(path_or_hub_id)`` returns a trained model ready to ``classify``, ``generate``, ``translate``...
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "DataSource": "seqkit.data",
    "TokenizerConfig": "seqkit.data",
    "TextClassificationDataModule": "seqkit.data",
    "SequenceClassifier": "seqkit.tasks",
    "RecurrentEncoder": "seqkit.nn",
    "load": "seqkit.pretrained",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'seqkit' has no attribute {name!r}")
