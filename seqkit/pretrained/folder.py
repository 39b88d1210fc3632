"""Published model folders: ``save_pretrained`` / ``from_pretrained`` through huggingface_hub's ``ModelHubMixin``.

Layout of a folder (and of a Hub repository made by ``seqkit publish``)::

    model.safetensors     the weights (safetensors: loading runs no code)
    config.json           task class, hyperparameters, tokenizer and data settings, results, seqkit version and
                          the SHA-256 of every other file but README.md
    tokenizer.json        the tokenizer (tokenizer.model for sentencepiece); tasks with more than one add
                          tokenizer_<role>.json|.model, e.g. tokenizer_target.model for a translator
    config.yaml           the training run's resolved configuration (``seqkit fit --config config.yaml`` retrains)
    README.md             model card: ``library_name: seqkit``, tags, datasets and results as ``model-index``

A folder is rebuilt from the task's class path, its ``save_hyperparameters`` values and its weights, so any
LightningModule that saves its hyperparameters round-trips. Nothing is unpickled: the weights are safetensors
and everything else is JSON, YAML or tokenizer files.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import typing
from collections.abc import Mapping
from dataclasses import asdict, fields, is_dataclass
from pathlib import Path
from typing import Any

import lightning as L
import yaml
from huggingface_hub import ModelCard, ModelHubMixin, snapshot_download
from safetensors.torch import load_model, save_model

from seqkit import __version__
from seqkit.data.tokenizers import load_tokenizer
from seqkit.errors import CheckpointError
from seqkit.pretrained.card import build_card
from seqkit.pretrained.swap import replacing
from seqkit.pretrained.tasks import allowed_task_names, class_path_of, import_object, registered_class_path, support_for
from seqkit.runs import read_run_config

FORMAT_VERSION = 1
WEIGHTS = "model.safetensors"
CONFIG = "config.json"
TRAINING_CONFIG = "config.yaml"
CARD = "README.md"
#: Run-directory folders that hold tokenizers: ``tokenizer`` and ``tokenizer_<role>``.
TOKENIZER_PREFIX = "tokenizer"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _jsonable(name: str, value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        value = asdict(value)
    if isinstance(value, tuple):
        value = list(value)
    try:
        json.dumps(value)
    except TypeError as error:
        raise CheckpointError(
            f"Hyperparameter {name!r} ({type(value).__name__}) cannot be stored as JSON; publish needs plain values "
            "(numbers, strings, lists, dicts)."
        ) from error
    return value


def model_hparams(module: Any) -> dict[str, Any]:
    """The module's ``save_hyperparameters`` values as JSON-ready data (Lightning's private ``_*`` keys dropped)."""
    return {k: _jsonable(k, v) for k, v in dict(module.hparams).items() if not k.startswith("_")}


def _group_fields(task_class: type) -> dict[str, set[str]]:
    """``{parameter: its field names}`` for the ``__init__`` parameters of ``task_class`` that are dataclasses."""
    try:
        hints = typing.get_type_hints(task_class.__init__)
    except Exception:  # an annotation that does not resolve here: judge by the defaults alone
        hints = {}
    groups = {}
    for name, parameter in inspect.signature(task_class.__init__).parameters.items():
        kinds = [parameter.default, hints.get(name), *typing.get_args(hints.get(name))]
        group = next((kind for kind in kinds if is_dataclass(kind)), None)
        if group is not None:
            groups[name] = {field.name for field in fields(group)}
    return groups


def fold_groups(task_class: type, hparams: Mapping[str, Any]) -> dict[str, Any]:
    """``hparams`` with top-level settings moved into the settings groups of ``task_class``'s signature.

    A group is an ``__init__`` parameter that is a dataclass (e.g. ``encoder``). Folders and checkpoints written
    before a setting moved into a group hold it at the top level (``hidden_size: 32``); they load unchanged.
    """
    folded = dict(hparams)
    for name, names in _group_fields(task_class).items():
        moved = {key: folded.pop(key) for key in names & folded.keys() if key != name}
        if moved:
            folded[name] = {**moved, **dict(folded.get(name) or {})}
    return folded


def build_module(task_class: type, hparams: Mapping[str, Any]) -> Any:
    """``task_class(**hparams)``, keeping only the arguments its ``__init__`` accepts (older layouts folded in)."""
    hparams = fold_groups(task_class, hparams)
    parameters = inspect.signature(task_class.__init__).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        hparams = {k: v for k, v in hparams.items() if k in parameters}
    return task_class(**hparams)


def import_task(class_path: str) -> type:
    """The task class a (possibly untrusted) config file names.

    Only registered tasks (seqkit's own, and any added with :func:`~seqkit.pretrained.register_task`) may be named;
    the name is checked against that allow-list before anything is imported, so a file naming ``os.system`` or a
    module with import-time side effects is refused without running any of it.
    """
    registered = registered_class_path(class_path) if isinstance(class_path, str) else None
    if registered is None:
        raise CheckpointError(
            f"Task {class_path!r} is not a seqkit task; refusing to import it (known: "
            f"{', '.join(name.rsplit('.', 1)[-1] for name in allowed_task_names())}; "
            "other tasks must be registered with seqkit.pretrained.register_task first)."
        )
    try:
        task_class = import_object(registered)
    except (ImportError, AttributeError, ValueError) as error:
        raise CheckpointError(f"Task class {class_path!r} cannot be imported ({error}); upgrade seqkit?") from None
    if not (isinstance(task_class, type) and issubclass(task_class, L.LightningModule)):
        raise CheckpointError(f"{class_path!r} is not a LightningModule class; refusing to build it.")
    return task_class


class SeqkitModel(
    ModelHubMixin,
    library_name="seqkit",
    tags=["seqkit", "rnn"],
    docs_url="https://github.com/seqkit/seqkit/blob/main/docs/checkpoints.md",
):
    """A trained task module with its tokenizers, training configuration and results, as one publishable unit.

    Args:
        module: The trained LightningModule (built with ``save_hyperparameters``).
        tokenizers: Tokenizers by role: ``tokenizer`` (every text task), ``tokenizer_<role>`` for further ones;
            none for tasks without text (forecasting).
        training_config: The run's resolved configuration (``config.yaml``), if known.
        results: Metrics for the model card, e.g. ``{"test_acc": 0.81, "val_acc": 0.83}``.
        name: Model name for the card (default: the task class name).
    """

    def __init__(
        self,
        module: Any,
        tokenizers: Mapping[str, Any],
        training_config: dict | None = None,
        results: Mapping[str, float] | None = None,
        name: str | None = None,
    ) -> None:
        if TOKENIZER_PREFIX not in tokenizers and support_for(type(module)).tokenizer:
            raise CheckpointError(f"A seqkit model needs a {TOKENIZER_PREFIX!r} tokenizer; got {sorted(tokenizers)}.")
        self.module = module
        self.tokenizers = dict(tokenizers)
        self.training_config = training_config or {}
        self.results = dict(results or {})
        self.name = name or type(module).__name__
        #: config.json of the folder this model was loaded from (empty when built in memory).
        self.info: dict[str, Any] = {}

    # ------------------------------------------------------------------ settings
    @property
    def tokenizer(self) -> Any:
        """The (first) tokenizer; ``None`` for tasks without text."""
        return self.tokenizers.get(TOKENIZER_PREFIX)

    @property
    def task_class_path(self) -> str:
        return self.info.get("task") or class_path_of(type(self.module))

    def data_settings(self) -> dict[str, Any]:
        """The DataModule's ``class_path`` and ``init_args`` (without the data source), e.g. ``max_length``."""
        if "data" in self.info:
            return self.info["data"]
        data = (self.training_config.get("data") or {}) if isinstance(self.training_config, dict) else {}
        init_args = {k: v for k, v in (data.get("init_args") or {}).items() if k not in ("source", "tokenizer")}
        return {"class_path": data.get("class_path"), "init_args": init_args}

    def dataset(self) -> str | None:
        """Name of the training dataset (the data source's ``name``)."""
        if "dataset" in self.info:
            return self.info["dataset"]
        data = (self.training_config.get("data") or {}).get("init_args") or {}
        source = data.get("source") or {}
        return source.get("name") if isinstance(source, dict) else None

    def _tokenizer_settings(self) -> dict[str, Any]:
        if "tokenizers" in self.info:
            return {role: spec.get("settings") for role, spec in self.info["tokenizers"].items()}
        data = (self.training_config.get("data") or {}).get("init_args") or {}
        return {role: data.get(role) for role in self.tokenizers}

    # ------------------------------------------------------------------ saving
    def save_pretrained(self, save_directory: str | Path, **kwargs: Any) -> str | None:
        """Write the folder (see the module docstring); a folder written by seqkit before is replaced whole.

        The new folder is written beside it under a temporary name and swapped in by renames: a save that fails or
        is killed leaves the old folder as it was (and at worst a hidden ``.NAME.*.new`` folder beside it).
        """
        folder = Path(save_directory)
        with replacing(folder, check_output_folder(folder)) as staging:
            result = super().save_pretrained(staging, **kwargs)
        return result

    def _save_pretrained(self, save_directory: Path) -> None:
        # save_model drops the duplicate of tied weights (the LM decoder shares the embedding matrix).
        save_model(self.module, str(save_directory / WEIGHTS), metadata={"format": "pt", "seqkit": __version__})
        tokenizer_files: dict[str, dict[str, Any]] = {}
        settings = self._tokenizer_settings()
        for role, tokenizer in self.tokenizers.items():
            name = role + Path(tokenizer.file_name).suffix
            (save_directory / name).write_bytes(tokenizer.serialized())
            tokenizer_files[role] = {"file": name, "settings": settings.get(role)}
        names = [WEIGHTS, *(spec["file"] for spec in tokenizer_files.values())]
        if self.training_config:
            # Where the run lived and what it resumed from mean nothing elsewhere: retraining picks its own folder.
            local = {k: None for k in ("run_dir", "ckpt_path") if k in self.training_config}
            portable = {**self.training_config, **local}
            (save_directory / TRAINING_CONFIG).write_text(yaml.safe_dump(portable, sort_keys=False))
            names.append(TRAINING_CONFIG)
        config = {
            "library_name": "seqkit",
            "format_version": FORMAT_VERSION,
            "seqkit_version": __version__,
            "name": self.name,
            "task": self.task_class_path,
            "hparams": model_hparams(self.module),
            "tokenizers": tokenizer_files,
            "data": self.data_settings(),
            "dataset": self.dataset(),
            "results": self.results,
            "files": {name: sha256(save_directory / name) for name in names},
        }
        (save_directory / CONFIG).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
        mode = 0o666 & ~_umask()  # safetensors writes its file private (0600); a published folder is for sharing
        for name in [*names, CONFIG]:
            os.chmod(save_directory / name, mode)
        self.info = config

    def generate_model_card(self, *args: Any, **kwargs: Any) -> ModelCard:
        return build_card(name=self.name, task=self.task_class_path, support=support_for(type(self.module)),
                          dataset=self.dataset(), results=self.results, hparams=self.info.get("hparams") or {},
                          repo_id=kwargs.get("repo_id"))

    # ------------------------------------------------------------------ loading
    @classmethod
    def _from_pretrained(
        cls,
        *,
        model_id: str,
        revision: str | None,
        cache_dir: str | Path | None,
        force_download: bool,
        local_files_only: bool,
        token: str | bool | None,
        map_location: str = "cpu",
        **_: Any,
    ) -> SeqkitModel:
        folder = Path(model_id)
        if not folder.is_dir():
            folder = Path(snapshot_download(
                repo_id=model_id, revision=revision, cache_dir=cache_dir, force_download=force_download,
                local_files_only=local_files_only, token=token,
            ))
        return cls.load_folder(folder, map_location=map_location)

    @classmethod
    def load_folder(cls, folder: str | Path, map_location: str = "cpu") -> SeqkitModel:
        """Load a local published folder, checking every file against the hashes in ``config.json``."""
        folder = Path(folder)
        config = read_config(folder)
        verify_files(folder, config)
        module = build_module(import_task(config["task"]), config.get("hparams") or {})
        try:
            missing, unexpected = load_model(module, str(folder / WEIGHTS), strict=False, device=map_location)
        except Exception as error:  # safetensors raises its own types for damaged files
            raise CheckpointError(f"Could not read {folder / WEIGHTS}: {error}") from error
        if missing or unexpected:
            raise CheckpointError(
                f"{folder / WEIGHTS} does not fit {config['task']} built from config.json "
                f"(missing: {sorted(missing)[:3]}, unexpected: {sorted(unexpected)[:3]})."
            )
        tokenizers = {role: load_tokenizer(folder / spec["file"]) for role, spec in config["tokenizers"].items()}
        model = cls(module.eval(), tokenizers, read_run_config(folder), config.get("results"), config.get("name"))
        model.info = config
        return model


def is_model_folder(path: str | Path) -> bool:
    """Whether ``path`` is a folder written by :meth:`SeqkitModel.save_pretrained` (it has config.json)."""
    path = Path(path)
    return path.is_dir() and (path / CONFIG).is_file() and not (path / "checkpoints").is_dir()


def read_config(folder: Path) -> dict[str, Any]:
    """``config.json`` of a published folder, checked to be a seqkit model config."""
    path = folder / CONFIG
    if not path.is_file():
        raise CheckpointError(f"{folder} has no {CONFIG}: not a published seqkit model folder.")
    try:
        config = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{path} is not valid JSON ({error}); download or publish the model again.") from None
    if not isinstance(config, dict) or config.get("library_name") != "seqkit" or "task" not in config:
        raise CheckpointError(f"{path} is not a seqkit model config (library_name must be 'seqkit').")
    if config.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(f"{folder} was written by a newer seqkit ({config.get('seqkit_version')}); upgrade.")
    return config


def verify_files(folder: Path, config: Mapping[str, Any]) -> None:
    """Raise :class:`CheckpointError` if a file listed in ``config.json`` is missing or was changed."""
    files = config.get("files") or {}
    if WEIGHTS not in files:
        raise CheckpointError(f"{folder / CONFIG} lists no {WEIGHTS}; the folder is incomplete.")
    for name, expected in files.items():
        path = _inside(folder, name)
        if path is None:
            raise CheckpointError(f"{folder / CONFIG} lists {name!r}, which is not a file inside {folder}; refused.")
        if not path.is_file():
            raise CheckpointError(f"Published model {folder} is missing {name}; download or publish it again.")
        if sha256(path) != expected:
            raise CheckpointError(
                f"{name} in {folder} does not match its SHA-256 in {CONFIG}: the file was changed or is damaged."
            )


def _inside(folder: Path, name: Any) -> Path | None:
    """``folder / name`` when ``name`` is a plain relative file name that stays inside ``folder``, else ``None``.

    ``config.json`` may come from anywhere: a name such as ``../victim.txt``, ``/etc/passwd`` or a link out of
    the folder must never be read, replaced or deleted.
    """
    if not isinstance(name, str) or not name or "\\" in name or "\0" in name:
        return None
    relative = Path(name)
    if relative.is_absolute() or any(part in ("", ".", "..") for part in relative.parts):
        return None
    path = folder / relative
    try:
        path.parent.resolve(strict=False).relative_to(folder.resolve(strict=False))
    except ValueError:  # a linked sub-folder that leads out
        return None
    return path


def check_output_folder(folder: Path) -> list[Path]:
    """The files a save into ``folder`` would replace, after checking that this is safe; nothing is changed.

    Only a folder holding nothing but a seqkit model (``config.json`` with ``library_name: seqkit`` and the files
    it lists, plus ``README.md``) may be emptied, and only those files inside it; anything else there, or a listed
    name that points outside the folder, raises :class:`CheckpointError`.
    """
    if not folder.exists():
        return []
    if folder.is_symlink() or not folder.is_dir():
        raise CheckpointError(f"{folder} exists and is not a folder; choose a new folder.")
    entries = list(folder.iterdir())
    if not entries:
        return []
    try:
        config = read_config(folder)
    except CheckpointError:
        raise CheckpointError(f"{folder} is not empty and not a seqkit model folder; choose a new folder.") from None
    listed = config.get("files") or {}
    names = [*(listed if isinstance(listed, dict) else []), CONFIG, CARD]
    paths = [_inside(folder, name) for name in names]
    if any(path is None for path in paths):
        bad = next(name for name, path in zip(names, paths, strict=True) if path is None)
        raise CheckpointError(
            f"{folder / CONFIG} lists {bad!r}, which is not a file inside {folder}; refusing to clear the folder "
            "(choose a new folder)."
        )
    others = sorted(entry.name for entry in entries if entry not in paths and entry.name not in names)
    if others:
        raise CheckpointError(
            f"{folder} holds files a seqkit model folder does not ({', '.join(others[:3])}); choose a new folder."
        )
    return [path for path in paths if path is not None]
