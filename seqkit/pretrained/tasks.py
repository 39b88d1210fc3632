"""The tasks a published folder or run may name, with their Hub metadata.

A published folder is rebuilt from the task's class path, its ``save_hyperparameters`` values and its weights.
Only tasks listed here may be named by a loaded file (an allow-list checked before anything is imported); an entry
also gives the Hub metadata of the model card (pipeline tag, task type of the results). A new task plugs in with one
:func:`register_task` call, like the entries at the end of this module (and, for ``seqkit.load`` to return a
predictor with its own methods, :func:`seqkit.inference.register_predictor`)::

    register_task(TaskSupport("mypackage.tagging.SequenceTagger", pipeline_tag="token-classification",
                              task_type="token-classification"))

Entries are looked up along the class's MRO, so a subclass of a listed task gets its parent's support.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TaskSupport:
    """Publishing and loading support for one task class.

    Args:
        class_path: The task's import path, e.g. ``seqkit.tasks.SequenceClassifier`` (as in recipes).
        pipeline_tag: The Hub's pipeline tag for the model card (``text-classification``...).
        task_type: The ``model-index`` task type of the results (usually the pipeline tag).
        tags: Extra model-card tags.
        tokenizer: Whether the task reads text through a tokenizer (saved and loaded with the model); numeric
            tasks such as forecasting have none.
    """

    class_path: str
    pipeline_tag: str | None = None
    task_type: str | None = None
    tags: tuple[str, ...] = ()
    tokenizer: bool = True


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
    """Import ``module:attr`` or ``module.attr`` (trusted specs only: seqkit's own tables, never a loaded file)."""
    module, _, attr = spec.partition(":") if ":" in spec else spec.rpartition(".")
    return getattr(importlib.import_module(module), attr)


def registered_class_path(name: str) -> str | None:
    """The registered class path that ``name`` (as written in a config file) stands for, or ``None``.

    A name matches a registered entry's path or its package alias (``seqkit.tasks.SequenceClassifier`` for
    ``seqkit.tasks.classification.SequenceClassifier``). Nothing is imported: this is the allow-list that keeps a
    downloaded ``config.json`` or ``config.yaml`` from importing arbitrary modules.
    """
    for path in _TASKS:
        module, _, attr = path.rpartition(".")
        package = module.rsplit(".", 1)[0]
        if name in (path, f"{package}.{attr}"):
            return path
    return None


def allowed_task_names() -> list[str]:
    """The class paths a config file may name as its task (registered tasks, with their package aliases)."""
    return sorted(_TASKS)


# Class path below seqkit.tasks, Hub pipeline tag (also the task type of the results), extra model-card tags.
_SEQKIT_TASKS = (
    ("language_modeling.LanguageModel", "text-generation", ("language-model",)),
    ("classification.SequenceClassifier", "text-classification", ("text-classification",)),
    ("translation.Seq2SeqTranslator", "translation", ("translation", "seq2seq")),
    ("hierarchical.HierarchicalClassifier", "text-classification", ("text-classification", "hierarchical-attention")),
    ("forecasting.Forecaster", "time-series-forecasting", ("time-series", "forecasting")),
    ("tree.TreeClassifier", "text-classification", ("text-classification", "tree-lstm")),
    ("cnn_rnn.CharCNNLanguageModel", "text-generation", ("language-model", "char-cnn")),
    ("cnn_rnn.CNNRNNClassifier", "text-classification", ("text-classification", "cnn-rnn")),
    ("echo_state.EchoStateClassifier", "text-classification", ("text-classification", "echo-state-network")),
    ("echo_state.EchoStateLM", "text-generation", ("language-model", "echo-state-network")),
    ("history_compressor.HistoryCompressorLM", "text-generation", ("language-model", "history-compressor")),
    ("speech.SpeechClassifier", "audio-classification", ("audio-classification", "speech", "keyword-spotting")),
    ("speech.CTCSpeechRecognizer", "automatic-speech-recognition", ("automatic-speech-recognition", "speech", "ctc")),
)
#: Tasks whose input is not text: no tokenizer is saved or loaded with them.
_NO_TOKENIZER = ("forecasting.Forecaster", "speech.SpeechClassifier", "speech.CTCSpeechRecognizer")
for _path, _tag, _tags in _SEQKIT_TASKS:
    register_task(TaskSupport(f"seqkit.tasks.{_path}", pipeline_tag=_tag, task_type=_tag, tags=_tags,
                              tokenizer=_path not in _NO_TOKENIZER))
