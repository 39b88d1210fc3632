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

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import lightning as L
import yaml
from huggingface_hub import ModelCard, ModelHubMixin
from safetensors.torch import load_model, save_model

from seqkit import __version__
from seqkit.data.tokenizers import load_tokenizer
from seqkit.errors import CheckpointError
from seqkit.pretrained.building import (
    TRAINING_ONLY,
    build_module,
    build_on_meta,
    check_parameter_count,
    check_shapes,
    fold_groups,
    header_shapes,
    parameter_count,
)
from seqkit.pretrained.building import max_parameters as parameter_limit
from seqkit.pretrained.card import build_card
from seqkit.pretrained.checks import (
    CARD,
    CONFIG,
    FORMAT_VERSION,
    TRAINING_CONFIG,
    WEIGHTS,
    inside,
    listed_path,
    read_config,
    sha256,
    verify_files,
)
from seqkit.pretrained.download import download_listed
from seqkit.pretrained.schema import check_hparams
from seqkit.pretrained.swap import replacing
from seqkit.pretrained.tasks import allowed_task_names, class_path_of, import_object, registered_class_path, support_for
from seqkit.runs import read_run_config

#: Run-directory folders that hold tokenizers: ``tokenizer`` and ``tokenizer_<role>``.
TOKENIZER_PREFIX = "tokenizer"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


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
    """The module's ``save_hyperparameters`` values as JSON-ready data (Lightning's private ``_*`` keys and the
    training-only file settings such as ``pretrained_lm`` dropped: a published model never opens other files)."""
    return {k: _jsonable(k, v) for k, v in dict(module.hparams).items()
            if not k.startswith("_") and k not in TRAINING_ONLY}


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
        **kwargs: Any,
    ) -> SeqkitModel:
        folder = Path(model_id)
        if not folder.is_dir():  # a Hub id: only config.json, then exactly the files it lists
            folder = download_listed(model_id, revision=revision, cache_dir=cache_dir, force_download=force_download,
                                     local_files_only=local_files_only, token=token)
        return cls.load_folder(folder, map_location=map_location, max_parameters=kwargs.get("max_parameters"))

    @classmethod
    def load_folder(cls, folder: str | Path, map_location: str = "cpu",
                    max_parameters: int | None = None) -> SeqkitModel:
        """Load a local published folder; nothing in it is used before all of it is checked.

        ``config.json`` is validated whole (:mod:`~seqkit.pretrained.schema`); every file it names must be a plain
        name inside the folder, listed with its SHA-256, and match it; the model is built on the ``meta`` device
        first, its parameter count compared with ``max_parameters`` (default
        :data:`~seqkit.pretrained.building.DEFAULT_MAX_PARAMETERS`, or ``SEQKIT_MAX_PARAMETERS``) and its shapes
        with the safetensors header, so a config that asks for more than its weights hold takes no memory.
        """
        folder = Path(folder)
        where = str(folder / CONFIG)
        config = read_config(folder)
        verify_files(folder, config)
        task_class = import_task(config["task"])
        hparams = fold_groups(task_class, config.get("hparams") or {})
        check_hparams(task_class, hparams, where)
        shapes = header_shapes(folder / WEIGHTS)
        meta = build_on_meta(task_class, hparams, where)
        check_shapes(meta, shapes, where)
        check_parameter_count(parameter_count(meta), parameter_limit(max_parameters), where,
                              "max_parameters= or SEQKIT_MAX_PARAMETERS")
        module = build_module(task_class, hparams)
        try:
            missing, unexpected = load_model(module, str(folder / WEIGHTS), strict=False, device=map_location)
        except Exception as error:  # safetensors raises its own types for damaged files
            raise CheckpointError(f"Could not read {folder / WEIGHTS}: {error}") from error
        if missing or unexpected:
            raise CheckpointError(
                f"{folder / WEIGHTS} does not fit {config['task']} built from config.json "
                f"(missing: {sorted(missing)[:3]}, unexpected: {sorted(unexpected)[:3]})."
            )
        tokenizers = {role: load_tokenizer(listed_path(folder, config, spec["file"], f"{role} file"))
                      for role, spec in (config.get("tokenizers") or {}).items()}
        check_vocabularies(hparams, tokenizers, where)
        training_config = read_run_config(folder) if TRAINING_CONFIG in config["files"] else {}
        model = cls(module.eval(), tokenizers, training_config, config.get("results"), config.get("name"))
        model.info = config
        return model


#: The hyperparameter that sizes the embedding each tokenizer's ids index.
VOCABULARY_SIZES = {"tokenizer": ("vocab_size", "src_vocab_size"), "tokenizer_target": ("tgt_vocab_size",)}


def check_vocabularies(hparams: Mapping[str, Any], tokenizers: Mapping[str, Any], where: str) -> None:
    """Refuse a tokenizer with more ids than the embedding it feeds (its ids would index past the table)."""
    for role, tokenizer in tokenizers.items():
        size = next((hparams[k] for k in VOCABULARY_SIZES.get(role, ()) if isinstance(hparams.get(k), int)), None)
        vocabulary = getattr(tokenizer, "vocab_size", None)
        if size is not None and isinstance(vocabulary, int) and vocabulary > size:
            raise CheckpointError(f"{where}: the {role} has {vocabulary} ids but the model's embedding has {size}; "
                                  "refused (the tokenizer does not belong to these weights).")


def is_model_folder(path: str | Path) -> bool:
    """Whether ``path`` is a folder written by :meth:`SeqkitModel.save_pretrained` (it has config.json)."""
    path = Path(path)
    return path.is_dir() and (path / CONFIG).is_file() and not (path / "checkpoints").is_dir()


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
    paths = [inside(folder, name) for name in names]
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
