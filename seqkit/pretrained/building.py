"""Building a task module from stored hyperparameters, with its sizes checked before memory is taken.

A stored configuration may ask for anything (``hidden_size: 60000``, ``vocab_size: 2e9``). The module is first
built on PyTorch's ``meta`` device, which allocates nothing: its parameter count is compared with a limit, and its
tensor shapes with the safetensors header of the weights (read without reading the tensors). Only a module that
fits both is built for real.
"""

from __future__ import annotations

import inspect
import os
import re
from collections.abc import Mapping
from dataclasses import fields as dataclass_fields
from dataclasses import is_dataclass, replace
from pathlib import Path
from typing import Any

from seqkit.errors import CheckpointError, ConfigError
from seqkit.pretrained.schema import group_fields
from seqkit.pretrained.tasks import import_object

#: The largest model (parameters) loaded or built unless raised: ``max_parameters=`` of :func:`seqkit.load`,
#: ``--max_parameters`` of ``seqkit fit``, or the ``SEQKIT_MAX_PARAMETERS`` environment variable for every command.
DEFAULT_MAX_PARAMETERS = 2_000_000_000
MAX_PARAMETERS_ENV = "SEQKIT_MAX_PARAMETERS"
#: Hyperparameters that name local files read while training starts (a language model to fine-tune, word vectors);
#: they mean nothing in a published model, which never opens them.
TRAINING_ONLY = ("pretrained_lm", "word_vectors")


def max_parameters(given: int | None = None) -> int:
    """The parameter limit: ``given``, else ``SEQKIT_MAX_PARAMETERS``, else :data:`DEFAULT_MAX_PARAMETERS`."""
    if given is not None:
        return int(given)
    text = os.environ.get(MAX_PARAMETERS_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_PARAMETERS
    try:
        return int(float(text))
    except ValueError:
        raise CheckpointError(f"{MAX_PARAMETERS_ENV}={text!r} is not a number of parameters (e.g. 5e9).") from None


def fold_groups(task_class: type, hparams: Mapping[str, Any]) -> dict[str, Any]:
    """``hparams`` with top-level settings moved into the settings groups of ``task_class``'s signature.

    A group is an ``__init__`` parameter that is a dataclass (e.g. ``encoder``). Folders and checkpoints written
    before a setting moved into a group hold it at the top level (``hidden_size: 32``); they load unchanged.
    """
    folded = dict(hparams)
    upgrade = getattr(task_class, "upgrade_hparams", None)  # settings renamed, not just moved into a group
    if upgrade is not None:
        folded = upgrade(folded)
    for name, group in group_fields(task_class).items():
        folded = _fold_into(group, name, folded)
    return folded


def _fold_into(group: type, name: str, hparams: dict[str, Any]) -> dict[str, Any]:
    # The group's own fields first, then those of the groups inside it (``network.encoder.hidden_size``).
    fields = {field.name: field for field in dataclass_fields(group)}
    moved = {key: hparams.pop(key) for key in fields.keys() & hparams.keys() if key != name}
    for key, field in fields.items():
        default = field.default_factory() if callable(field.default_factory) else field.default
        if not is_dataclass(default):
            continue
        inner = {f.name for f in dataclass_fields(default)} - fields.keys() - {name}
        taken = {k: hparams.pop(k) for k in inner & hparams.keys()}
        if taken:
            moved[key] = {**taken, **dict(moved.get(key) or {})}
    if moved:
        hparams[name] = {**moved, **dict(hparams.get(name) or {})}
    return hparams


def loadable_hparams(task_class: type, hparams: Mapping[str, Any]) -> dict[str, Any]:
    """``hparams`` folded into groups, with the training-only file settings dropped, ready for ``__init__``."""
    return {k: v for k, v in fold_groups(task_class, hparams).items() if k not in TRAINING_ONLY}


def build_module(task_class: type, hparams: Mapping[str, Any]) -> Any:
    """``task_class(**hparams)``, keeping only the arguments its ``__init__`` accepts (older layouts folded in)."""
    hparams = loadable_hparams(task_class, hparams)
    parameters = inspect.signature(task_class.__init__).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        hparams = {k: v for k, v in hparams.items() if k in parameters}
    return task_class(**hparams)


def parameter_count(module: Any) -> int:
    """Distinct parameters of ``module`` (tied weights once)."""
    return sum(p.numel() for p in module.parameters())


def check_parameter_count(count: int, limit: int, what: str, raise_with: str, at_least: bool = False) -> None:
    if count > limit:
        raise CheckpointError(f"{what} asks for {'at least ' if at_least else ''}{count:,} parameters, above the "
                              f"limit of {limit:,}; refused before any memory is taken ({raise_with} raises the "
                              "limit).")


def check_model_size(task_class: type, args: tuple, kwargs: Mapping[str, Any], limit: float | None) -> None:
    """Refuse ``task_class(*args, **kwargs)`` in one line when it would hold more parameters than the limit
    (``limit``, else ``SEQKIT_MAX_PARAMETERS``, else 2e9), counted on the meta device. A task that cannot be built
    there (it computes with its weights while being built) is let through to be built as usual."""
    import torch

    try:
        with torch.device("meta"):
            count = parameter_count(task_class(*args, **kwargs))
    except Exception:  # noqa: BLE001 - the real build reports its own errors
        return
    check_parameter_count(count, max_parameters(None if limit is None else int(limit)), task_class.__name__,
                          "--max_parameters or SEQKIT_MAX_PARAMETERS")


def check_recipe_groups(task_class: type, init_args: Mapping[str, Any]) -> None:
    """Build each settings group a recipe gives (``network``, ``encoder``...) through its dataclass, so that the
    group's own checks (ranges by field) refuse a bad setting in one line before any data is loaded."""
    parameters = inspect.signature(task_class.__init__).parameters
    for name, group in group_fields(task_class).items():
        value = init_args.get(name)
        if not isinstance(value, Mapping):
            continue
        default = parameters[name].default
        try:
            _complete(default if is_dataclass(default) else group(), value)
        except ConfigError as error:
            raise ConfigError(f"model.init_args.{name}: {error}") from None
        except (TypeError, ValueError):  # an unknown key or a type jsonargparse reports itself, in its own words
            continue


def _complete(default: Any, value: Mapping[str, Any]) -> Any:
    """``default`` (a settings dataclass) with ``value``'s settings, groups inside it read the same way."""
    given = {key: _complete(getattr(default, key), item)
             if is_dataclass(getattr(default, key, None)) and isinstance(item, Mapping) else item
             for key, item in value.items()}
    return replace(default, **given)


def check_recipe_size(model: Any, from_data: tuple[str, ...], limit: float | None) -> None:
    """:func:`check_model_size` before the data is loaded, for a parsed recipe's ``model`` section (``class_path``
    and ``init_args``; the class path has passed the import allow-list). The sizes the data gives (``from_data``,
    e.g. ``vocab_size``) are taken as 2 where the recipe leaves them open, so the count is a lower bound and a model
    no machine holds (``hidden_size: 60000``) is refused before any data work."""
    if not isinstance(model, Mapping) or not isinstance(model.get("class_path"), str):
        return
    try:
        task_class = import_object(model["class_path"])
    except (ImportError, AttributeError, ValueError):  # jsonargparse reports a bad class path itself
        return
    init_args = model.get("init_args") or {}
    check_recipe_groups(task_class, init_args)
    settings_ = {k: v for k, v in init_args.items() if k not in ("optimizer", "lr_scheduler")}
    parameters = inspect.signature(task_class.__init__).parameters
    settings_.update({k: 2 for k in from_data if k in parameters and settings_.get(k) is None
                      and parameters[k].default is inspect.Parameter.empty})
    import torch

    try:
        with torch.device("meta"):
            count = parameter_count(task_class(**settings_))
    except Exception:  # noqa: BLE001 - settings that need the data's values: the exact check comes at build time
        return
    check_parameter_count(count, max_parameters(None if limit is None else int(limit)), task_class.__name__,
                          "--max_parameters or SEQKIT_MAX_PARAMETERS", at_least=True)


def build_on_meta(task_class: type, hparams: Mapping[str, Any], where: str) -> Any:
    """The module built on the ``meta`` device (shapes only, no memory); one line if its settings do not build."""
    import torch

    try:
        with torch.device("meta"):
            return build_module(task_class, hparams)
    except CheckpointError:
        raise
    except Exception as error:  # settings the task itself rejects (a pooling it lacks, sizes that do not fit...)
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CheckpointError(f"{where}: hparams do not build a {task_class.__name__} ({reason}); refused.") from None


def header_shapes(weights: Path) -> dict[str, tuple[int, ...]]:
    """``{tensor name: shape}`` from the safetensors header of ``weights`` (the tensors themselves are not read)."""
    from safetensors import safe_open

    try:
        with safe_open(str(weights), framework="pt") as handle:
            return {name: tuple(handle.get_slice(name).get_shape()) for name in handle.keys()}  # noqa: SIM118
    except Exception as error:  # safetensors raises its own types for damaged files
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CheckpointError(f"Could not read {weights}: {reason}") from None


def check_shapes(module: Any, shapes: Mapping[str, tuple[int, ...]], where: str) -> None:
    """Raise :class:`CheckpointError` unless the (meta) ``module`` takes exactly the tensors ``shapes`` lists.

    The header's shapes are loaded into the meta module as meta tensors, so the module's own renaming of older
    tensor names and PyTorch's shape checks apply as in the real load, without a byte of memory. A tensor the file
    leaves out is fine only when it is tied to one it holds (save_model stores tied weights once).
    """
    import torch

    fake = {name: torch.empty(shape, device="meta") for name, shape in shapes.items()}
    try:
        missing, unexpected = module.load_state_dict(fake, strict=False)
    except RuntimeError as error:
        found = re.search(r"size mismatch for (\S+): copying a param with shape torch.Size\((\[[^]]*\])\) from "
                          r"checkpoint, the shape in current model is torch.Size\((\[[^]]*\])\)", str(error))
        if found is None:
            raise CheckpointError(f"{where}: the weights do not fit the model it builds; refused.") from None
        name, stored, built = found.groups()
        raise CheckpointError(f"{where}: config.json builds {name} with shape {built} but the weights hold "
                              f"{stored}; refused before building the model.") from None
    if unexpected:
        raise CheckpointError(f"{where}: the weights hold {unexpected[0]!r}, which the model built from config.json "
                              "does not have; refused.")
    aliases: dict[int, set[str]] = {}
    for name, tensor in module.state_dict(keep_vars=True).items():
        aliases.setdefault(id(tensor), set()).add(name)
    lacking = [name for names in aliases.values() if names <= set(missing) for name in sorted(names)]
    if lacking:
        raise CheckpointError(f"{where}: the weights lack {lacking[0]!r}, which the model built from config.json "
                              "has; refused.")
