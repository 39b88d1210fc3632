"""The schema of a published folder's ``config.json``, checked whole before any of it is used.

Two passes: :func:`check_config` checks the file's structure (keys, types, file table, tokenizer entries) before
anything is imported; :func:`check_hparams` checks ``hparams`` against the task class's ``__init__`` (names, types
from its annotations, value ranges, settings groups without extra keys) once the task is known to be allowed.
Every problem is one line naming the key; nothing is built from a file that fails.
"""

from __future__ import annotations

import inspect
import math
import re
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

from seqkit.errors import CheckpointError
from seqkit.hyperparameters import range_problem

#: The keys of config.json, with the JSON types each may hold.
_TOP: dict[str, tuple[type, ...]] = {
    "library_name": (str,), "format_version": (int,), "seqkit_version": (str, type(None)),
    "name": (str, type(None)), "task": (str,), "hparams": (dict,), "tokenizers": (dict,), "data": (dict,),
    "dataset": (str, type(None)), "results": (dict,), "files": (dict,),
}
_REQUIRED = ("library_name", "task", "files")
#: Nesting any value of a seqkit config needs (hparams groups, tokenizer settings, data init_args) is shallow.
MAX_DEPTH = 8
#: Settings that count layers: a larger count is no model, and building it would take minutes before any check.
MAX_LAYERS = 1024
_ROLE = re.compile(r"^tokenizer(_[a-z0-9]+)?$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_JSON_NAMES = {dict: "an object", list: "a list", str: "a string", int: "an integer", float: "a number",
               bool: "true/false", type(None): "null"}


def _kind(value: Any) -> str:
    return _JSON_NAMES.get(type(value), type(value).__name__)


def _depth(value: Any, limit: int) -> bool:
    """Whether ``value`` nests no deeper than ``limit`` levels (iterative: a deep file cannot overflow the stack)."""
    stack = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            if level >= limit:
                return False
            stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return True


def check_config(config: Any, path: Path, format_version: int) -> None:
    """Raise :class:`CheckpointError` in one line for the first problem in the structure of ``config``."""
    def refuse(problem: str) -> CheckpointError:
        return CheckpointError(f"{path}: {problem}; not a valid seqkit model config (download or publish it again).")

    if not isinstance(config, dict):
        raise refuse(f"holds {_kind(config)}, not a JSON object")
    if config.get("library_name") != "seqkit":
        raise refuse("library_name must be 'seqkit'")
    for key in _REQUIRED:
        if key not in config:
            raise refuse(f"{key!r} is missing")
    for key, value in config.items():
        if key not in _TOP:
            raise refuse(f"unknown key {key!r}")
        if not isinstance(value, _TOP[key]) or (isinstance(value, bool) and bool not in _TOP[key]):
            raise refuse(f"{key!r} must be {' or '.join(_JSON_NAMES[t] for t in _TOP[key])}, not {_kind(value)}")
        if not _depth(value, MAX_DEPTH):
            raise refuse(f"{key!r} is nested more than {MAX_DEPTH} levels deep")
    version = config.get("format_version", format_version)
    if version < 1:
        raise refuse(f"format_version {version} is not a format seqkit wrote")
    if version > format_version:
        raise CheckpointError(f"{path.parent} was written by a newer seqkit (format {version}, seqkit "
                              f"{config.get('seqkit_version')}); upgrade seqkit to load it.")
    _check_files(config["files"], refuse)
    _check_tokenizers(config.get("tokenizers") or {}, refuse)
    data = config.get("data") or {}
    if set(data) - {"class_path", "init_args"} or not isinstance(data.get("class_path"), str | None) \
            or not isinstance(data.get("init_args", {}), dict):
        raise refuse("'data' must be an object with a class_path (string) and init_args (object)")
    for key, value in (config.get("results") or {}).items():
        if isinstance(value, bool) or not isinstance(value, int | float | None):
            raise refuse(f"results[{key!r}] must be a number, not {_kind(value)}")


def _check_files(files: dict, refuse: Any) -> None:
    if len(files) > 64:
        raise refuse(f"'files' lists {len(files)} files; a seqkit model folder has a handful")
    for name, digest in files.items():
        if not isinstance(digest, str) or not _SHA256.match(digest):
            raise refuse(f"files[{name!r}] must be the file's SHA-256 (64 hex digits), not {digest!r:.80}")


def _check_tokenizers(tokenizers: dict, refuse: Any) -> None:
    for role, spec in tokenizers.items():
        if not _ROLE.match(role):
            raise refuse(f"tokenizer role {role!r} is not 'tokenizer' or 'tokenizer_<role>'")
        if not isinstance(spec, dict) or set(spec) - {"file", "settings"} or not isinstance(spec.get("file"), str):
            raise refuse(f"tokenizers[{role!r}] must be an object with a 'file' name (and 'settings')")
        if not isinstance(spec.get("settings"), dict | None):
            raise refuse(f"tokenizers[{role!r}].settings must be an object or null")


# ---------------------------------------------------------------------------------------------- hyperparameters
def group_fields(task_class: type) -> dict[str, type]:
    """``{parameter: its dataclass}`` for the ``__init__`` parameters of ``task_class`` that are settings groups."""
    hints = init_hints(task_class)
    groups = {}
    for name, parameter in inspect.signature(task_class.__init__).parameters.items():
        kinds = [parameter.default, hints.get(name), *typing.get_args(hints.get(name))]
        group = next((kind for kind in kinds if is_dataclass(kind)), None)
        if group is not None:
            groups[name] = group if isinstance(group, type) else type(group)
    return groups


def init_hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls.__init__)
    except Exception:  # an annotation that does not resolve here: judge by the defaults alone
        return {}


def check_hparams(task_class: type, hparams: Mapping[str, Any], where: str) -> None:
    """Raise :class:`CheckpointError` in one line unless ``hparams`` (already folded into the task's settings
    groups) fits ``task_class.__init__``: known names, values of the annotated types, counts and rates in range."""
    parameters = inspect.signature(task_class.__init__).parameters
    open_ended = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    hints = init_hints(task_class)
    for name, value in hparams.items():
        if name not in parameters and not open_ended:
            raise CheckpointError(f"{where}: hparams has {name!r}, which {task_class.__name__} does not take; "
                                  "refused.")
        _check_value(f"hparams.{name}", value, hints.get(name, Any), where)


def _check_value(key: str, value: Any, hint: Any, where: str) -> None:
    problem = _type_problem(key, value, hint, where)
    if problem is None and isinstance(value, int | float) and not isinstance(value, bool):
        leaf = key.rsplit(".", 1)[-1]
        problem = range_problem(leaf, value)
        if problem is None and "layers" in leaf and value > MAX_LAYERS:
            problem = f"must be at most {MAX_LAYERS}"
        if problem is None and isinstance(value, float) and not math.isfinite(value):
            problem = "must be a finite number"
    if problem:
        raise CheckpointError(f"{where}: {key} = {value!r:.60} {problem}; refused.")


def _type_problem(key: str, value: Any, hint: Any, where: str) -> str | None:  # noqa: PLR0911 - one per type
    """Why ``value`` does not fit ``hint`` (``None`` when it does); groups and containers are checked inside."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any or isinstance(hint, typing.TypeVar):
        return None
    if origin in (typing.Union, types.UnionType):
        fits = [arg for arg in args if _type_problem(key, value, arg, where) is None]
        if not fits:
            return f"is {_kind(value)}, not {' or '.join(_hint_name(a) for a in args)}"
        return _type_problem(key, value, fits[0], where)
    if hint is type(None):
        return None if value is None else "must be null"
    if origin is typing.Literal:
        return None if value in args else f"must be one of {', '.join(map(repr, args))}"
    if is_dataclass(hint):
        if not isinstance(value, dict):
            return f"must be an object of {hint.__name__} settings"
        group_hints = typing.get_type_hints(hint)
        names = {field.name for field in fields(hint)}
        for name, item in value.items():
            if name not in names:
                return f"has {name!r}, which is not a {hint.__name__} setting"
            _check_value(f"{key}.{name}", item, group_hints.get(name, Any), where)
        return None
    simple = {bool: (bool,), int: (int,), float: (int, float), str: (str,)}
    if hint in simple:
        ok = isinstance(value, simple[hint]) and (hint is bool or not isinstance(value, bool))
        return None if ok else f"is {_kind(value)}, not {_hint_name(hint)}"
    container = origin or hint
    if container in (list, tuple, Sequence) or container is typing.Sequence:
        if not isinstance(value, list):
            return f"is {_kind(value)}, not a list"
        item_hint = args[0] if args and (container is not tuple or len(args) == 2 and args[1] is ...) else Any
        for index, item in enumerate(value):
            _check_value(f"{key}[{index}]", item, item_hint, where)
        return None
    if container in (dict, Mapping) or container is typing.Mapping:
        return None if isinstance(value, dict) else f"is {_kind(value)}, not an object"
    return None  # a type JSON cannot hold (a callable): only null or plain data reach here, and nothing uses them


def _hint_name(hint: Any) -> str:
    return _JSON_NAMES.get(hint, getattr(hint, "__name__", str(hint)))
