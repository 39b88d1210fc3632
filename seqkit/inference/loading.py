"""One loader for every place that holds a trained model: run directories, checkpoint files, published folders and
HuggingFace Hub ids. ``seqkit.load``, every ``--checkpoint`` option of the commands and the Python API go through
:func:`load`, which returns the task's predictor.

Safe loading: published folders are safetensors + JSON/YAML/tokenizer files; Lightning checkpoints are read with
``torch.load(weights_only=True)`` (tensors and plain containers only, no arbitrary objects).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from huggingface_hub import constants

from seqkit.checkpointing import read_checkpoint
from seqkit.data.tokenizers import load_tokenizer
from seqkit.errors import CheckpointError
from seqkit.hub_access import probe
from seqkit.inference.predictor import Predictor
from seqkit.pretrained.building import build_module
from seqkit.pretrained.card import run_results
from seqkit.pretrained.folder import TOKENIZER_PREFIX, SeqkitModel, import_task, is_model_folder
from seqkit.pretrained.tasks import class_path_of, import_object, registered_class_path, support_for
from seqkit.runs import find_checkpoint, read_run_config

#: A Hub repository id, ``owner/name``.
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")

#: Predictors given with :func:`register_predictor`; they take precedence over the task's declared predictor.
PREDICTORS: dict[type, type[Predictor]] = {}


def register_predictor(task_class: type, predictor_class: type[Predictor]) -> None:
    """Make :func:`load` return ``predictor_class`` for models of ``task_class`` (and its subclasses), whatever the
    task's declaration names."""
    PREDICTORS[task_class] = predictor_class


def predictor_class(task_class: type) -> type[Predictor]:
    """The predictor for ``task_class``, from the class itself up its MRO: a predictor registered for it, else the
    one its declaration names (see :mod:`seqkit.registry`); the plain :class:`Predictor` when none does."""
    for klass in task_class.__mro__:
        if klass in PREDICTORS:
            return PREDICTORS[klass]
        declared = support_for(klass)
        if declared.predictor and registered_class_path(class_path_of(klass)) == declared.class_path:
            return import_object(declared.predictor)
    return Predictor


def looks_like_hub_id(text: str) -> bool:
    """``owner/name`` that is not a local path: it does not exist here, and its first part is not a local folder
    (``runs/nope`` with a ``runs/`` folder here is a mistyped run, not a Hub repository)."""
    if not HUB_ID.match(text) or Path(text).expanduser().exists():
        return False
    return not Path(text.split("/", 1)[0]).is_dir()


def run_tokenizers(run_dir: Path) -> dict[str, Any]:
    """The tokenizers a run saved: ``tokenizer/`` and any ``tokenizer_<role>/`` folder, by folder name."""
    if not (run_dir / TOKENIZER_PREFIX).is_dir():
        raise CheckpointError(f"Run directory {run_dir} has no tokenizer/ folder; was it written by seqkit fit?")
    folders = sorted(p for p in run_dir.iterdir() if p.is_dir() and p.name.split("_")[0] == TOKENIZER_PREFIX)
    return {p.name: load_tokenizer(p) for p in folders}


def from_run(path: str | Path) -> SeqkitModel:
    """Load a run directory (its best checkpoint, else last) or a ``.ckpt`` file of a run, on the CPU."""
    checkpoint_path, run_dir = find_checkpoint(path)
    checkpoint = read_checkpoint(checkpoint_path)  # a damaged file or a pickle of objects: one line, before all else
    config = read_run_config(run_dir)
    class_path = (config.get("model") or {}).get("class_path")
    if not class_path:
        raise CheckpointError(
            f"{checkpoint_path} was not written by seqkit fit (no config.yaml beside it names the task): build the "
            "model with TaskClass.load_from_checkpoint(path), then save it with its tokenizer via "
            "seqkit.pretrained.SeqkitModel(module, {'tokenizer': tok}).save_pretrained(folder) and load that folder "
            "(see docs/checkpoints.md)."
        )
    cls = import_task(class_path)
    tokenizers = run_tokenizers(run_dir) if support_for(cls).tokenizer else {}
    try:
        module = build_module(cls, checkpoint.get("hyper_parameters") or {})
        module.load_state_dict(checkpoint["state_dict"])
    except Exception as error:
        if is_memory_error(error):
            raise  # load_model says so
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CheckpointError(f"Could not load {checkpoint_path} as {cls.__name__}: {reason}") from error
    results = run_results(run_dir / "metrics.csv", getattr(cls, "monitor", None))
    return SeqkitModel(module.eval(), tokenizers, config, results, name=run_dir.parent.name or cls.__name__)


def from_hub(repo_id: str, revision: str | None = None, max_parameters: int | None = None) -> SeqkitModel:
    """Download (or, offline, find in the cache) a published folder from the Hub and load it: ``config.json``
    first, then only the files it lists."""
    offline = constants.HF_HUB_OFFLINE
    problem = None if offline else probe()
    if problem:
        raise CheckpointError(
            f"Cannot reach the HuggingFace Hub ({constants.ENDPOINT}: {problem}) to download {repo_id!r}: pass the "
            "path of a local copy of the model folder, or set HF_HUB_OFFLINE=1 to use a cached download."
        )
    try:
        return SeqkitModel.from_pretrained(repo_id, revision=revision, local_files_only=offline,
                                          max_parameters=max_parameters)
    except CheckpointError:
        raise
    except Exception as error:  # huggingface_hub: not found, gated, offline cache miss...
        if is_memory_error(error):
            raise  # the download worked; building the model did not: load_model says so
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CheckpointError(f"Could not download {repo_id!r} from the Hub: {reason}") from error


def is_memory_error(error: BaseException) -> bool:
    """Whether ``error`` says memory ran out: ``MemoryError``, or torch's CPU/GPU allocator failing."""
    text = str(error).lower()
    return isinstance(error, MemoryError) or (
        isinstance(error, RuntimeError) and ("not enough memory" in text or "out of memory" in text))


def _memory_message(text: str, error: BaseException) -> str:
    asked = re.search(r"allocate (\d+) bytes", str(error))
    size = f" (one tensor alone took {int(asked.group(1)) / 1e9:,.1f} GB)" if asked else ""
    return (f"Not enough memory to build the model of {text}{size}: it is larger than this machine can hold, or "
            "its settings ask for sizes its weights do not have.")


def _not_a_model(path: Path) -> str | None:
    """Why the folder ``path`` holds no model, when it is neither a published folder nor a run directory (a run
    directory has ``checkpoints/`` or the ``config.yaml`` of seqkit fit)."""
    if not path.is_dir() or (path / "checkpoints").is_dir() or (path / "config.yaml").is_file():
        return None
    names = sorted(p.name for p in path.iterdir())
    if not names:
        return (f"{path} is an empty folder: a published model folder holds config.json and model.safetensors, a "
                "run directory checkpoints/; publish or download the model again.")
    published = {"model.safetensors", "README.md"} | {n for n in names if n.startswith(TOKENIZER_PREFIX)}
    if published & set(names):
        return (f"{path} has no config.json: it is an incomplete published model folder (it holds "
                f"{', '.join(names[:4])}{'...' if len(names) > 4 else ''}); publish or download the model again.")
    return (f"{path} is neither a published model folder (no config.json) nor a run directory (no checkpoints/); "
            "pass the folder seqkit fit or seqkit publish wrote.")


def load_model(path_or_id: str | Path, revision: str | None = None, max_parameters: int | None = None) -> SeqkitModel:
    """The trained model with its tokenizers, settings and results, from any place seqkit writes one to (CPU).

    ``max_parameters`` bounds what a published folder's config may ask for (default 2e9, or
    ``SEQKIT_MAX_PARAMETERS``); a larger model is refused before any memory is taken.

    Memory running out while the model is built is one :class:`CheckpointError` that says so (never reported as a
    failed download or a damaged file).
    """
    text = os.fspath(path_or_id)
    try:
        return _load_model(text, revision, max_parameters)
    except Exception as error:
        if is_memory_error(error):
            raise CheckpointError(_memory_message(text, error)) from None
        raise


def _load_model(text: str, revision: str | None, max_parameters: int | None) -> SeqkitModel:
    path = Path(text).expanduser()
    if is_model_folder(path):
        return SeqkitModel.load_folder(path, max_parameters=max_parameters)
    problem = _not_a_model(path)
    if problem:
        raise CheckpointError(problem)
    if path.exists():
        return from_run(path)
    if looks_like_hub_id(text):
        return from_hub(text, revision, max_parameters)
    repo_id, at, pinned = text.partition("@")  # owner/name@revision: a branch, tag or commit on the command line
    if at and pinned and looks_like_hub_id(repo_id):
        if revision not in (None, pinned):
            raise CheckpointError(f"{text} names revision {pinned!r} but revision={revision!r} was given: pass one.")
        return from_hub(repo_id, pinned, max_parameters)
    if HUB_ID.match(text):  # owner/name whose owner is a local folder: a local path with a typo
        raise CheckpointError(f"{text} does not exist (there is no such run, checkpoint or model folder in "
                              f"{text.split('/', 1)[0]}/); check the path.")
    raise CheckpointError(
        f"{text} is neither a run directory, a checkpoint, a published model folder nor a Hub id (owner/name)."
    )


def load(path_or_id: str | Path, *, task: type | tuple[type, ...] | None = None, device: str | None = None,
         revision: str | None = None, max_parameters: int | None = None) -> Any:
    """A ready predictor for the trained model at ``path_or_id`` (eval mode).

    Language models get ``.generate``, classifiers ``.classify``, translators ``.translate``, review and tree
    models ``.classify`` and ``.explain``, forecasters ``.forecast``, speech models ``.transcribe``; every
    predictor has ``.module``, ``.tokenizer`` (``None`` for forecasters and speech models) and ``.model`` (the
    :class:`~seqkit.pretrained.SeqkitModel`).

    Args:
        path_or_id: A run directory (its ``checkpoints/best.ckpt``, else ``last.ckpt``), a ``.ckpt`` file in one, a
            published folder, or a Hub id ``owner/name`` (``owner/name@revision`` pins a branch, tag or commit).
        task: The task class(es) the model must be; a one-line error otherwise (commands use it).
        device: Where to move the model (default: stays on the CPU).
        revision: Hub revision (branch, tag or commit) for Hub ids.
        max_parameters: The largest model a published folder may ask for (default 2e9 parameters, or the
            ``SEQKIT_MAX_PARAMETERS`` environment variable); larger is refused before any memory is taken.
    """
    model = load_model(path_or_id, revision=revision, max_parameters=max_parameters)
    if task is not None and not isinstance(model.module, task):
        wanted = " or ".join(t.__name__ for t in (task if isinstance(task, tuple) else (task,)))
        raise CheckpointError(f"{os.fspath(path_or_id)} holds a {type(model.module).__name__}, not a {wanted}.")
    predictor = predictor_class(type(model.module))(model)
    return predictor.to(device) if device else predictor
