"""What seqkit knows about each task for publishing, loading and exporting.

A published folder is rebuilt from the task's class path, its ``save_hyperparameters`` values and its weights,
so any LightningModule that calls ``save_hyperparameters()`` round-trips without being listed here. An entry adds
the Hub metadata (pipeline tag, task type of the results) and the ready-to-use predictor that ``seqkit.load``
returns. A new task plugs in with one :func:`register_task` call, like the entries at the end of this module::

    register_task(TaskSupport(
        "seqkit.tasks.tagging.SequenceTagger", pipeline_tag="token-classification",
        task_type="token-classification", predictor="mypackage.predictors:TaggerPredictor",
    ))

Entries are looked up along the class's MRO, so a subclass of a listed task gets its parent's support.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TaskSupport:
    """Publishing and loading support for one task class.

    Args:
        class_path: The task's import path, e.g. ``seqkit.tasks.SequenceClassifier`` (as in recipes).
        pipeline_tag: The Hub's pipeline tag for the model card (``text-classification``...).
        task_type: The ``model-index`` task type of the results (usually the pipeline tag).
        tags: Extra model-card tags.
        predictor: ``module:Class`` of the object ``seqkit.load`` returns (built from the loaded model).
        onnx_exporter: ``module:function`` exporting the task to ONNX, or ``None`` when not supported.
    """

    class_path: str
    pipeline_tag: str | None = None
    task_type: str | None = None
    tags: tuple[str, ...] = ()
    predictor: str = "seqkit.pretrained.predictors:Predictor"
    onnx_exporter: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


_TASKS: dict[str, TaskSupport] = {}


def register_task(support: TaskSupport) -> None:
    """Add or replace the support entry of one task class."""
    _TASKS[support.class_path] = support


def class_path_of(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _aliases(cls: type) -> list[str]:
    # seqkit.tasks re-exports its classes: the recipe path (seqkit.tasks.X) and the defining module both count.
    names = [class_path_of(cls)]
    package = cls.__module__.rsplit(".", 1)[0]
    if package != cls.__module__:
        names.append(f"{package}.{cls.__qualname__}")
    return names


def support_for(cls: type) -> TaskSupport:
    """The support entry of ``cls`` or its nearest listed parent; a bare entry for unknown tasks."""
    for klass in cls.__mro__:
        for name in _aliases(klass):
            if name in _TASKS:
                return _TASKS[name]
    return TaskSupport(class_path_of(cls))


def import_object(spec: str) -> Any:
    """Import ``module:attr`` or ``module.attr``."""
    module, _, attr = spec.partition(":") if ":" in spec else spec.rpartition(".")
    return getattr(importlib.import_module(module), attr)


register_task(TaskSupport(
    "seqkit.tasks.language_modeling.LanguageModel", pipeline_tag="text-generation", task_type="text-generation",
    tags=("language-model",), predictor="seqkit.pretrained.predictors:LanguageModelPredictor",
    onnx_exporter="seqkit.export:export_language_model",
))
register_task(TaskSupport(
    "seqkit.tasks.classification.SequenceClassifier", pipeline_tag="text-classification",
    task_type="text-classification", tags=("text-classification",),
    predictor="seqkit.pretrained.predictors:ClassifierPredictor", onnx_exporter="seqkit.export:export_classifier",
))
register_task(TaskSupport(
    "seqkit.tasks.translation.Seq2SeqTranslator", pipeline_tag="translation", task_type="translation",
    tags=("translation", "seq2seq"), predictor="seqkit.pretrained.predictors:TranslatorPredictor",
    onnx_exporter="seqkit.export:export_translator",
))
register_task(TaskSupport(
    "seqkit.tasks.hierarchical.HierarchicalClassifier", pipeline_tag="text-classification",
    task_type="text-classification", tags=("text-classification", "hierarchical-attention"),
    predictor="seqkit.pretrained.predictors:HierarchicalPredictor",
))
register_task(TaskSupport(
    "seqkit.tasks.tree.TreeClassifier", pipeline_tag="text-classification", task_type="text-classification",
    tags=("text-classification", "tree-lstm"), predictor="seqkit.pretrained.predictors:TreePredictor",
))
