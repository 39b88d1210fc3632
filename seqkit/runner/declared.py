"""What the command line reads from the task declarations (:mod:`seqkit.registry`): the values linked from the
DataModule into the model, and the task's own checks of a recipe before any data is loaded."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import seqkit.tasks  # noqa: F401 - declares seqkit's own tasks
from seqkit.pretrained.tasks import import_object
from seqkit.registry import all_links, declaration_for


def parser_links() -> list[tuple[str, str]]:
    """``(data attribute, model argument)`` for every declared task: the parser is built before the recipe names
    its model, and a link whose argument the chosen model lacks is skipped when the model is built. A task of your
    own is linked once its module has declared it (imported before the command runs)."""
    return all_links()


def model_class(model: Any) -> type | None:
    """The task class a parsed recipe's ``model`` section names (its path has passed the import allow-list while
    the recipe was parsed), else ``None``."""
    class_path = model.get("class_path") if isinstance(model, Mapping) else None
    if not isinstance(class_path, str):
        return None
    try:
        value = import_object(class_path)
    except (ImportError, AttributeError, ValueError):  # jsonargparse reports a bad class path itself
        return None
    return value if isinstance(value, type) else None


def data_links(model: Any) -> tuple[str, ...]:
    """The model arguments the data fills in for the recipe's ``model`` section (its task's declared links)."""
    task = model_class(model)
    declaration = declaration_for(task) if task is not None else None
    return tuple(target for _, target in declaration.links()) if declaration is not None else ()


def run_recipe_checks(model: Any) -> None:
    """The declared task's own checks of the recipe's ``init_args`` (a file it names that cannot be read...)."""
    task = model_class(model)
    declaration = declaration_for(task) if task is not None else None
    for check in declaration.recipe_checks if declaration is not None else ():
        check(model.get("init_args") or {})
