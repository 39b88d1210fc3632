"""Process-wide settings read from the environment.

``SEQKIT_DATA_DIR``
    Local data root. A dataset named ``wikitext2`` resolves to ``$SEQKIT_DATA_DIR/wikitext2/<split>.parquet``
    (or ``.csv``, ``.jsonl``, ``.json``, ``.txt``) before the HuggingFace Hub is asked. A recipe can override it
    with ``data.source.data_dir``.
``SEQKIT_CACHE_DIR``
    Where trained tokenizers are cached (default ``~/.cache/seqkit``). Tokenised datasets live in the
    ``datasets`` cache (``HF_DATASETS_CACHE``).
``SEQKIT_RUNS_DIR``
    Where run directories are created (default ``runs`` in the working directory).

:func:`check_environment` refuses, at the start of every command, a folder variable (these and ``HF_HOME``,
``HF_HUB_CACHE``, ``HF_DATASETS_CACHE``) that points at a file.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from seqkit.errors import ConfigError


def data_dir() -> Path | None:
    """The local data root from ``SEQKIT_DATA_DIR``, or ``None`` when unset."""
    value = os.environ.get("SEQKIT_DATA_DIR")
    return Path(value).expanduser() if value else None


def cache_dir() -> Path:
    """seqkit's own cache folder (trained tokenizers)."""
    value = os.environ.get("SEQKIT_CACHE_DIR")
    return Path(value).expanduser() if value else Path.home() / ".cache" / "seqkit"


def runs_dir() -> Path:
    """Parent folder of run directories."""
    return Path(os.environ.get("SEQKIT_RUNS_DIR", "runs"))


#: Variables that name a folder seqkit (or the HuggingFace libraries it uses) reads or writes, and what it is for.
FOLDER_VARIABLES = {
    "SEQKIT_DATA_DIR": "the local data root",
    "SEQKIT_CACHE_DIR": "seqkit's cache of tokenizers and archives",
    "HF_HOME": "the HuggingFace cache",
    "HF_HUB_CACHE": "the HuggingFace Hub cache",
    "HF_DATASETS_CACHE": "the HuggingFace datasets cache",
}


def _not_a_folder(path: Path) -> Path | None:
    """``path``, or the nearest folder above it that exists, when that is not a folder (a file, a device); else
    ``None`` (a folder, or a path that can still be created)."""
    for candidate in (path, *path.parents):
        try:
            mode = os.stat(candidate).st_mode
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError:  # no permission to look: the command that uses it says so
            return None
        return None if stat.S_ISDIR(mode) else candidate
    return None


def check_environment(environ: Mapping[str, str] = os.environ) -> None:
    """Refuse, naming the variable, a folder variable that points at a file (or below one), before any work: a data
    root that is a file would otherwise be skipped silently and the Hub read instead, a cache that is a file would
    fail later under another name."""
    for name, role in FOLDER_VARIABLES.items():
        value = environ.get(name)
        if not value:
            continue
        path = Path(value).expanduser()
        blocker = _not_a_folder(path)
        if blocker is None:
            continue
        what = "a file, not a folder" if blocker.is_file() else "not a folder"
        where = f"is {what}" if blocker == path else f"lies under {blocker}, which is {what}"
        raise ConfigError(f"{name}={value} {where}; point {name} at a folder ({role}) or unset it.")
