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
"""

from __future__ import annotations

import os
from pathlib import Path


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
