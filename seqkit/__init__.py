"""seqkit: recurrent sequence models for NLP on PyTorch Lightning.

The public names below are imported on first use, so ``import seqkit`` (and ``seqkit --help``) stays cheap::

    import seqkit

    predictor = seqkit.load("runs/sentiment/sst2/20250101-120000")   # or a published folder or a Hub id
    predictor.classify(["a gorgeous, witty film"])

Packages: ``seqkit.nn`` (plain ``nn.Module`` building blocks), ``seqkit.data`` (sources, tokenizers, DataModules),
``seqkit.models`` (networks), ``seqkit.tasks`` (LightningModules), ``seqkit.inference`` (using trained models),
``seqkit.pretrained`` (published folders). See docs/architecture.md.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_PUBLIC = {
    "seqkit.inference": ["load"],
    "seqkit.data": [
        "DataSource", "TokenizerConfig", "TextClassificationDataModule", "LanguageModelingDataModule",
        "TranslationDataModule", "HierarchicalDataModule", "TreeDataModule", "ForecastingDataModule",
    ],
    "seqkit.nn": [
        "RecurrentEncoder", "MinGRU", "MinLSTM", "ElmanCell", "LSTMCell", "GRUCell", "CellRNN", "AttentionPooling",
        "LockedDropout", "WeightDropout", "TiedOutput",
    ],
}
_WHERE = {name: module for module, names in _PUBLIC.items() for name in names}
#: Every task of ``seqkit.tasks.__all__`` is public too; that list is read when a task name is first asked for.
_TASKS = "seqkit.tasks"


def _task_names() -> list[str]:
    return list(importlib.import_module(_TASKS).__all__)


def __getattr__(name: str) -> Any:
    if name == "__all__":  # `from seqkit import *` and API listings: the tasks are known once seqkit.tasks is read
        value: Any = ["__version__", *_WHERE, *_task_names()]
    elif name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name]), name)
    elif name[:1].isupper() and name in _task_names():  # a class name: other misses stay cheap
        value = getattr(importlib.import_module(_TASKS), name)
    else:
        raise AttributeError(f"module 'seqkit' has no attribute {name!r}")
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE, *_task_names()})
