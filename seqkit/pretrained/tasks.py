"""The tasks a published folder or run may name, read from their declarations (:mod:`seqkit.registry`).

A published folder is rebuilt from the task's class path, its ``save_hyperparameters`` values and its weights.
Only declared tasks may be named by a loaded file: an allow-list of class paths, checked before anything named in
the file is imported. seqkit's own tasks are declared when this module imports :mod:`seqkit.tasks` (trusted code);
a task of your own is declared by its module, with one :func:`register_task` call (see :mod:`seqkit.registry`)::

    register_task(TaskSupport("mypackage.tagging.SequenceTagger", pipeline_tag="token-classification",
                              predictor="mypackage.tagging:TaggerPredictor"))
"""

from __future__ import annotations

import importlib
from typing import Any

import seqkit.tasks  # noqa: F401 - declares seqkit's own tasks
from seqkit.registry import (
    TaskDeclaration,
    class_path_of,
    declaration_for,
    declarations,
    register_task,
    registered_class_path,
)

TaskSupport = TaskDeclaration
"""A task's declaration, :class:`seqkit.registry.TaskDeclaration`, under the name this module gave it before
:mod:`seqkit.registry` held the declarations."""

__all__ = ["TaskSupport", "allowed_task_names", "class_path_of", "import_object", "register_task",
           "registered_class_path", "support_for"]


def support_for(cls: type) -> TaskDeclaration:
    """The declaration of ``cls`` or its nearest declared parent; a bare one (no tags, a tokenizer) otherwise."""
    return declaration_for(cls) or TaskDeclaration(class_path_of(cls))


def import_object(spec: str) -> Any:
    """Import ``module:attr`` or ``module.attr`` (trusted specs only: declarations, never a loaded file)."""
    module, _, attr = spec.partition(":") if ":" in spec else spec.rpartition(".")
    return getattr(importlib.import_module(module), attr)


def allowed_task_names() -> list[str]:
    """The class paths a config file may name as its task (declared tasks; their package aliases count too)."""
    return sorted(str(declaration.class_path) for declaration in declarations())
