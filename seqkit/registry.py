"""The tasks seqkit knows: each task module ends with one :func:`register_task` call that declares what the generic
layers need to know about it, and those layers read the declaration instead of naming the task.

- the command line links the declared ``data_links`` from the DataModule into the model and runs ``recipe_checks``
  before any data is loaded (:mod:`seqkit.runner`);
- loading and publishing accept only declared class paths in a file from elsewhere (an allow-list checked before
  anything is imported), save and load a tokenizer when ``tokenizer`` says so, and write the model card's tags
  (:mod:`seqkit.pretrained`);
- ``seqkit.load`` returns the declared ``predictor`` (:mod:`seqkit.inference`);
- recipes may name the module of a declared task (:mod:`seqkit.safe_config`).

A task of your own plugs in the same way, in its own module::

    register_task(TaskDeclaration(SequenceTagger, pipeline_tag="token-classification",
                                  predictor="mypackage.tagging:TaggerPredictor", data_links=("vocab_size",)))

This module imports no task: the declarations are made by importing the task modules (``import seqkit.tasks`` for
seqkit's own), which are trusted code. Declarations are looked up along a class's MRO, so a subclass of a declared
task gets its parent's declaration.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: A recipe's ``model.init_args``, as parsed.
RecipeArgs = Mapping[str, Any]
#: A check of a recipe's ``model.init_args`` (before any data is loaded); raises a :class:`~seqkit.errors.SeqkitError`.
RecipeCheck = Callable[[RecipeArgs], None]


@dataclass(frozen=True)
class TaskDeclaration:
    """What the command line, loading, publishing and the public API need to know about one task class.

    Args:
        class_path: The task's import path (``seqkit.tasks.classification.SequenceClassifier``), or the class itself.
            Its package alias (``seqkit.tasks.SequenceClassifier``, as in recipes) is accepted too.
        pipeline_tag: The Hub's pipeline tag for the model card (``text-classification``...).
        task_type: The ``model-index`` task type of the results (default: the pipeline tag).
        tags: Extra model-card tags.
        tokenizer: Whether the task reads text through a tokenizer (saved and loaded with the model); numeric and
            audio tasks have none.
        predictor: ``module:Class`` of the predictor :func:`seqkit.load` returns (default: the plain
            :class:`~seqkit.inference.Predictor`). A path, not a class: predictors sit in a higher layer.
        data_links: What the DataModule gives the model when both are built by the command line: a name
            (``vocab_size``: the DataModule's attribute into the argument of that name), or ``source:target`` to
            link into another argument (``vocab_size:network.vocab_size``).
        recipe_checks: Checks of the recipe's ``model.init_args`` that the command line runs before any data is
            loaded when training starts afresh (a named file that cannot be read, for example).
    """

    class_path: str | type
    pipeline_tag: str | None = None
    task_type: str | None = None
    tags: tuple[str, ...] = ()
    tokenizer: bool = True
    predictor: str | None = None
    data_links: tuple[str, ...] = ()
    recipe_checks: tuple[RecipeCheck, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.class_path, type):  # frozen: set through object
            object.__setattr__(self, "class_path", class_path_of(self.class_path))
        if self.task_type is None:
            object.__setattr__(self, "task_type", self.pipeline_tag)
        object.__setattr__(self, "tags", tuple(self.tags))
        object.__setattr__(self, "data_links", tuple(self.data_links))

    def links(self) -> list[tuple[str, str]]:
        """``(DataModule attribute, model argument path below init_args)`` for each data link."""
        return [tuple(link.split(":", 1)) if ":" in link else (link, link) for link in self.data_links]


_TASKS: dict[str, TaskDeclaration] = {}


def register_task(declaration: TaskDeclaration) -> TaskDeclaration:
    """Add (or replace) the declaration of one task class; returns it."""
    _TASKS[str(declaration.class_path)] = declaration
    return declaration


def declarations() -> list[TaskDeclaration]:
    """Every declaration made so far, in the order made."""
    return list(_TASKS.values())


def class_path_of(cls: type) -> str:
    """``module.QualName`` of a class."""
    return f"{cls.__module__}.{cls.__qualname__}"


def _aliases(path: str) -> tuple[str, str]:
    """A class path and its package alias (``a.b.c.X`` -> ``a.b.X``): packages re-export their classes."""
    module, _, attr = path.rpartition(".")
    return path, f"{module.rpartition('.')[0] or module}.{attr}"


def registered_class_path(name: str) -> str | None:
    """The declared class path that ``name`` (as written in a config file) stands for, or ``None``.

    Nothing is imported: this is the allow-list that keeps a file from elsewhere from importing arbitrary modules.
    """
    return next((path for path in _TASKS if name in _aliases(path)), None)


def declaration_for(cls: type) -> TaskDeclaration | None:
    """The declaration of ``cls`` or of its nearest declared parent, else ``None``."""
    for klass in cls.__mro__:
        for name in _aliases(class_path_of(klass)):
            if name in _TASKS:
                return _TASKS[name]
    return None


def task_modules() -> list[str]:
    """The modules that define declared tasks (already imported: declaring a task imports its module)."""
    return sorted({path.rpartition(".")[0] for path in _TASKS})


def all_links() -> list[tuple[str, str]]:
    """The data links of every declared task, each once: what the command line links before it knows the model."""
    return list(dict.fromkeys(link for declaration in _TASKS.values() for link in declaration.links()))
