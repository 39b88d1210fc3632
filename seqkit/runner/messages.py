"""One line for what went wrong: the problem a jsonargparse error names (with a hint for a setting that moved into a
group), and the seqkit error behind a wrapped exception or a worker process's report.

Nothing here imports Lightning: the typed commands use :func:`first_problem` for their own option errors.
"""

from __future__ import annotations

import re
import sys
import typing
from dataclasses import fields, is_dataclass
from typing import Any

from seqkit.errors import SeqkitError
from seqkit.safe_config import import_refusal

#: Data settings that were renamed as they moved into a group (other moved settings keep their name).
RENAMED = {"train_split": "splits.train", "val_split": "splits.validation", "test_split": "splits.test"}


def seqkit_cause(error: BaseException) -> SeqkitError | None:
    """The :class:`SeqkitError` that ``error`` was raised from (directly or through a chain of wrappers, or in a
    ``ddp_spawn``/``ddp_notebook`` worker process, which passes it on as text)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, SeqkitError):
            return current
        worker = worker_error(current)
        if worker is not None:
            return worker
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def worker_error(error: BaseException) -> SeqkitError | None:
    """The seqkit error a worker process raised, when ``error`` is torch.multiprocessing's report of it (the last
    line of its traceback: ``seqkit.<module>.<Error>: message``)."""
    if type(error).__name__ != "ProcessRaisedException":
        return None
    last = str(error).strip().splitlines()[-1] if str(error).strip() else ""
    match = re.match(r"(seqkit(?:\.\w+)*)\.(\w+): (.*)", last)
    if match is None:
        return None
    import importlib

    kind = getattr(importlib.import_module(match.group(1)), match.group(2), None)
    if not (isinstance(kind, type) and issubclass(kind, SeqkitError)):
        return None
    return SeqkitError(match.group(3))


def first_problem(message: str, subcommand: str) -> str:
    """The line of a jsonargparse error that names the problem, with the option it is about (the error explains
    every type the value could have had over a dozen lines); a setting that moved into a group gets a hint."""
    path: list[str] = []
    detail = None
    skip = ("Does not validate", "Subtypes:", "Errors:", "Given value", "Expected a <class 'NoneType'>",
            "Problem with given class_path")
    for raw in message.splitlines():
        line = raw.strip().lstrip("- ").strip()
        if not line or line.startswith(skip):
            continue
        match = re.match(r'Parser key "([^"]+)":\s*(.*)', line)
        if match:
            path.append(match.group(1))
            line = match.group(2)
            if not line or line.startswith(skip):
                continue
        detail = detail or line
    denied = re.match(r"Importing '([^']+)' is not allowed", detail or "")
    detail = import_refusal(denied.group(1)) if denied else detail
    text = f"{'.'.join(path)}: {detail}" if path and detail else (detail or "invalid configuration")
    moved = re.match(r"Option '(\w+)' is not accepted", detail or "")
    chosen = re.search(r"Problem with given class_path '([\w.]+)'", message)
    if moved and path and chosen:
        where = moved_settings(_loaded_class(chosen.group(1))).get(moved.group(1))
        if where:
            return f"{text}; did you mean `{path[0]}.init_args.{where}`? (see `seqkit {subcommand} --help`)."
    return f"{text} (see `seqkit {subcommand} --help`)."


def _loaded_class(class_path: str) -> type | None:
    """The class ``class_path`` names when the parser has imported its module already (nothing is imported here:
    the path comes from a configuration)."""
    module, _, name = class_path.rpartition(".")
    value = getattr(sys.modules.get(module), name, None)
    return value if isinstance(value, type) else None


def moved_settings(cls: type | None) -> dict[str, str]:
    """``{flat setting: its place}`` for the settings of ``cls`` that sit in groups: each field of every
    dataclass-typed ``__init__`` parameter, and of the groups inside those (``hidden_size`` ->
    ``network.hidden_size``, or ``network.encoder.hidden_size``), the shallowest place first; plus :data:`RENAMED`
    for the settings that were renamed as they moved."""
    if cls is None:
        return {}
    from seqkit.pretrained.schema import group_fields  # here: it imports torch, which a typed command's error needs not

    found: dict[str, str] = {}
    queue = list(group_fields(cls).items())
    while queue:
        prefix, group = queue.pop(0)
        for item in fields(group):
            found.setdefault(item.name, f"{prefix}.{item.name}")
            inner = _group_of(group, item)
            if inner is not None:
                queue.append((f"{prefix}.{item.name}", inner))
    found.update({old: new for old, new in RENAMED.items() if new.split(".")[0] in group_fields(cls)})
    return found


def _group_of(owner: type, item: Any) -> type | None:
    """The dataclass of a field that is itself a group (by its default or its annotation), else ``None``."""
    try:
        hint = typing.get_type_hints(owner).get(item.name)
    except Exception:  # an annotation that does not resolve here: judge by the default alone
        hint = None
    default = item.default_factory() if callable(item.default_factory) else item.default
    for kind in (default, hint, *typing.get_args(hint)):
        if is_dataclass(kind):
            return kind if isinstance(kind, type) else type(kind)
    return None
