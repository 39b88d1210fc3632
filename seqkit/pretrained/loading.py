"""One loader for every place that takes a trained model: run directories, checkpoint files, published folders and
HuggingFace Hub ids. ``seqkit.load``, :func:`seqkit.runs.load_run` and the ``--checkpoint`` option of the CLI
commands all go through :func:`load_model`.

Safe loading: published folders are safetensors + JSON/YAML/tokenizer files; Lightning checkpoints are read
with ``torch.load(weights_only=True)`` (tensors and plain containers only, no arbitrary objects).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from seqkit.errors import CheckpointError
from seqkit.pretrained.folder import TOKENIZER_PREFIX, SeqkitModel, import_task, is_model_folder

#: A Hub repository id, ``owner/name``.
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def looks_like_hub_id(text: str) -> bool:
    """``owner/name`` that is not a local path: it does not exist here, and its first part is not a local folder
    (``runs/nope`` with a ``runs/`` folder here is a mistyped run, not a Hub repository)."""
    if not HUB_ID.match(text) or Path(text).expanduser().exists():
        return False
    return not Path(text.split("/", 1)[0]).is_dir()


def run_tokenizers(run_dir: Path) -> dict[str, Any]:
    """The tokenizers a run saved: ``tokenizer/`` and any ``tokenizer_<role>/`` folder, by folder name."""
    from seqkit.data.tokenizers import load_tokenizer

    if not (run_dir / TOKENIZER_PREFIX).is_dir():
        raise CheckpointError(f"Run directory {run_dir} has no tokenizer/ folder; was it written by seqkit fit?")
    folders = sorted(p for p in run_dir.iterdir() if p.is_dir() and p.name.split("_")[0] == TOKENIZER_PREFIX)
    return {p.name: load_tokenizer(p) for p in folders}


def _training_config(run_dir: Path) -> dict:
    import yaml

    path = run_dir / "config.yaml"
    if not path.is_file():
        return {}
    try:
        return yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise CheckpointError(f"{path} is not valid YAML: {error}") from None


def from_run(path: str | Path, task_class: type | None = None) -> SeqkitModel:
    """Load a run directory (its best checkpoint, else last) or a ``.ckpt`` file of a run, on the CPU."""
    from seqkit.checkpointing import check_checkpoint
    from seqkit.pretrained.card import run_results
    from seqkit.runs import find_checkpoint

    checkpoint, run_dir = find_checkpoint(path)
    check_checkpoint(checkpoint)  # a damaged file or a pickle of objects: one line, before anything else
    config = _training_config(run_dir)
    class_path = (config.get("model") or {}).get("class_path")
    saved_class = import_task(class_path) if class_path else None
    if task_class is not None and saved_class is not None and not issubclass(saved_class, task_class):
        raise CheckpointError(f"{run_dir} holds a {saved_class.__name__}, not a {task_class.__name__}.")
    cls = saved_class or task_class
    if cls is None:
        raise CheckpointError(
            f"{checkpoint} was not written by seqkit fit (no config.yaml beside it names the task, and it has no "
            "tokenizer): build the model with TaskClass.load_from_checkpoint(path), then save it with its tokenizer "
            "via seqkit.pretrained.SeqkitModel(module, {'tokenizer': tok}).save_pretrained(folder) and load that "
            "folder (see docs/checkpoints.md)."
        )
    from seqkit.pretrained.tasks import support_for

    tokenizers = run_tokenizers(run_dir) if support_for(cls).tokenizer else {}
    try:
        module = cls.load_from_checkpoint(checkpoint, map_location="cpu", weights_only=True)
    except Exception as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CheckpointError(f"Could not load {checkpoint} as {cls.__name__}: {reason}") from error
    results = run_results(run_dir / "metrics.csv", getattr(cls, "monitor", None))
    return SeqkitModel(module.eval(), tokenizers, config, results, name=run_dir.parent.name or cls.__name__)


def _from_hub(repo_id: str, revision: str | None = None) -> SeqkitModel:
    from huggingface_hub import constants

    from seqkit.hub_access import probe

    offline = constants.HF_HUB_OFFLINE
    problem = None if offline else probe()
    if problem:
        raise CheckpointError(
            f"Cannot reach the HuggingFace Hub ({constants.ENDPOINT}: {problem}) to download {repo_id!r}: pass the "
            "path of a local copy of the model folder, or set HF_HUB_OFFLINE=1 to use a cached download."
        )
    try:
        return SeqkitModel.from_pretrained(repo_id, revision=revision, local_files_only=offline)
    except CheckpointError:
        raise
    except Exception as error:  # huggingface_hub: not found, gated, offline cache miss...
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CheckpointError(f"Could not download {repo_id!r} from the Hub: {reason}") from error


def load_model(path_or_id: str | Path, task_class: type | None = None, revision: str | None = None) -> SeqkitModel:
    """Load a trained model with its tokenizers from any place seqkit writes one to (CPU, eval mode).

    Args:
        path_or_id: A run directory, a ``.ckpt`` file in one, a published folder, or a Hub id ``owner/name``.
        task_class: If given, the model must be this task (or a subclass); a clear error otherwise.
        revision: Hub revision (branch, tag or commit) for Hub ids.
    """
    text = os.fspath(path_or_id)
    path = Path(text).expanduser()
    if is_model_folder(path):
        model = SeqkitModel.load_folder(path)
    elif path.exists():
        return from_run(path, task_class)
    elif looks_like_hub_id(text):
        model = _from_hub(text, revision)
    elif HUB_ID.match(text):  # owner/name whose owner is a local folder: a local path with a typo
        raise CheckpointError(f"{text} does not exist (there is no such run, checkpoint or model folder in "
                              f"{text.split('/', 1)[0]}/); check the path.")
    else:
        raise CheckpointError(
            f"{text} is neither a run directory, a checkpoint, a published model folder nor a Hub id (owner/name)."
        )
    if task_class is not None and not isinstance(model.module, task_class):
        raise CheckpointError(f"{text} holds a {type(model.module).__name__}, not a {task_class.__name__}.")
    return model


def load(path_or_id: str | Path, device: str | None = None, revision: str | None = None) -> Any:
    """A ready predictor for the model at ``path_or_id`` (see :func:`load_model` for what it accepts).

    Language models get ``.generate``, classifiers ``.classify`` (and translators ``.translate``, review models
    ``.explain``), forecasters ``.forecast``; every predictor has ``.module`` and ``.tokenizer`` (``None`` for
    forecasters). ``device`` moves the model (default CPU).
    """
    from seqkit.pretrained.tasks import import_object, support_for

    model = load_model(path_or_id, revision=revision)
    predictor = import_object(support_for(type(model.module)).predictor)(model)
    return predictor.to(device) if device else predictor
