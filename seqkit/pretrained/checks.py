"""What a published model folder may hold, checked before any of it is used.

A folder's ``config.json`` may come from anyone (a Hub download, a shared drive): every file it names must be a
plain file name inside the folder (no ``/``, no ``..``, no absolute path, no link out), listed in its ``files``
table with its SHA-256, and match that hash before it is opened. Nothing else in the folder is read.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from seqkit.errors import CheckpointError
from seqkit.pretrained.schema import check_config

FORMAT_VERSION = 1
WEIGHTS = "model.safetensors"
CONFIG = "config.json"
TRAINING_CONFIG = "config.yaml"
CARD = "README.md"
#: config.json is read whole; no seqkit config comes near this size.
MAX_CONFIG_BYTES = 1 << 20
#: A file name a folder may list: one path part of letters, digits, ``.``, ``_`` and ``-``, not a hidden file.
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def plain_name(name: Any) -> bool:
    """Whether ``name`` is a plain file name (one path part, no ``..``): the only names a folder may list."""
    return isinstance(name, str) and bool(_PLAIN_NAME.match(name)) and name not in (".", "..")


def read_config(folder: Path) -> dict[str, Any]:
    """``config.json`` of a published folder, validated whole (see :mod:`seqkit.pretrained.schema`)."""
    path = folder / CONFIG
    if not path.is_file():
        raise CheckpointError(f"{folder} has no {CONFIG}: not a published seqkit model folder.")
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise CheckpointError(f"{path} is larger than {MAX_CONFIG_BYTES >> 20} MB: not a seqkit model config.")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{path} is not valid JSON ({error}); download or publish the model again.") from None
    except RecursionError:
        raise CheckpointError(f"{path} is nested too deeply: not a seqkit model config.") from None
    check_config(config, path, FORMAT_VERSION)
    return config


def inside(folder: Path, name: Any) -> Path | None:
    """``folder / name`` when ``name`` is a plain file name whose file stays inside ``folder``, else ``None``.

    ``config.json`` may come from anywhere: a name such as ``../victim.txt``, ``/etc/passwd`` or a link out of the
    folder must never be read, replaced or deleted.
    """
    if not plain_name(name):
        return None
    path = folder / name
    if path.is_symlink():
        # A Hub download is a snapshot folder of links into its repository's blob store (huggingface_hub's cache).
        stores = [folder, *([folder.parent.parent / "blobs"] if folder.parent.name == "snapshots" else [])]
        try:
            target = path.resolve(strict=True)
        except OSError:  # a link that leads nowhere
            return None
        if not any(target.is_relative_to(store.resolve()) for store in stores):
            return None
    return path


def listed_path(folder: Path, config: Mapping[str, Any], name: Any, what: str) -> Path:
    """The path of file ``name`` that ``config.json`` names as ``what`` (e.g. the tokenizer), refused in one line
    unless it is a plain name inside the folder listed with its hash in ``files``."""
    path = inside(folder, name)
    if path is None:
        raise CheckpointError(f"{folder / CONFIG} names {name!r} as its {what}, which is not a plain file name "
                              f"inside {folder}; refused.")
    if name not in (config.get("files") or {}):
        raise CheckpointError(f"{folder / CONFIG} names {name!r} as its {what} but does not list it with its "
                              "SHA-256 in 'files'; refused.")
    return path


def verify_files(folder: Path, config: Mapping[str, Any]) -> None:
    """Raise :class:`CheckpointError` if a file ``config.json`` lists is outside the folder, missing or changed,
    or if a file it names (weights, tokenizers) is not listed."""
    files = config.get("files") or {}
    if WEIGHTS not in files:
        raise CheckpointError(f"{folder / CONFIG} lists no {WEIGHTS}; the folder is incomplete.")
    for name in files:
        if inside(folder, name) is None:
            raise CheckpointError(f"{folder / CONFIG} lists {name!r}, which is not a file inside {folder}; refused.")
    for role, spec in (config.get("tokenizers") or {}).items():
        listed_path(folder, config, spec.get("file"), f"{role} file")
    for name, expected in files.items():
        path = folder / name
        if not path.is_file():
            raise CheckpointError(f"Published model {folder} is missing {name}; download or publish it again.")
        if sha256(path) != expected:
            raise CheckpointError(
                f"{name} in {folder} does not match its SHA-256 in {CONFIG}: the file was changed or is damaged."
            )
