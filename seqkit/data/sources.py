"""Where a dataset comes from: local files, a local data root, or the HuggingFace Hub.

A :class:`DataSource` names a dataset once; :func:`load_splits` turns it into one ``datasets.Dataset`` per
requested split. Resolution order:

1. ``data_files`` given: exactly those files (``{split: path}``).
2. ``name`` is a folder, or ``<data_dir>/<name>/`` exists (``data_dir`` defaults to ``$SEQKIT_DATA_DIR``):
   the files ``<split>.parquet|csv|jsonl|json|txt`` in it.
3. Otherwise ``name`` is a HuggingFace Hub id, loaded with ``datasets.load_dataset(name, hub_config)``.
   When the Hub cannot be reached this fails at once with a message naming the local alternative.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from seqkit import settings
from seqkit.errors import DataError, HubUnreachableError

if TYPE_CHECKING:
    from datasets import Dataset

#: File suffixes seqkit reads, and the ``datasets`` builder for each.
BUILDERS = {".parquet": "parquet", ".csv": "csv", ".jsonl": "json", ".json": "json", ".txt": "text"}


@dataclass
class DataSource:
    """Names a dataset: a local dataset name, a folder, explicit files, or a HuggingFace Hub id.

    Args:
        name: Dataset name. Looked up as a folder first (``<data_dir>/<name>/`` or the path itself), then as a
            HuggingFace Hub id such as ``stanfordnlp/imdb``.
        data_dir: Local data root; defaults to the ``SEQKIT_DATA_DIR`` environment variable.
        data_files: Explicit ``{split: file}`` mapping (parquet, csv, jsonl/json or txt); overrides ``name``.
        hub_config: Configuration name on the Hub (``load_dataset(name, hub_config)``), e.g. ``wikitext-2-v1``.
        revision: Hub revision (branch, tag or commit) to load.
        columns: Maps the roles a task reads (``text``, ``label``, ``source``, ``target``...) to this
            dataset's column names, e.g. ``{text: sentence}``. Roles not listed use the task's default name.
    """

    name: str | None = None
    data_dir: str | None = None
    data_files: dict[str, str] | None = None
    hub_config: str | None = None
    revision: str | None = None
    columns: dict[str, str] = field(default_factory=dict)

    def column(self, role: str, default: str) -> str:
        """The column that plays ``role`` in this dataset."""
        return self.columns.get(role, default)

    @property
    def label(self) -> str:
        """A short human-readable name for messages and run names."""
        if self.name:
            return self.name
        if self.data_files:
            return Path(next(iter(self.data_files.values()))).parent.name or "files"
        return "dataset"

    def local_folder(self) -> Path | None:
        """The folder holding this dataset's split files, if there is one."""
        if not self.name:
            return None
        root = Path(self.data_dir).expanduser() if self.data_dir else settings.data_dir()
        if root is not None and (root / self.name).is_dir():
            return root / self.name
        path = Path(self.name).expanduser()
        return path if path.is_dir() else None

    def split_files(self) -> dict[str, Path] | None:
        """``{split: file}`` for local data, or ``None`` when the dataset must come from the Hub."""
        if self.data_files:
            return {split: Path(path).expanduser() for split, path in self.data_files.items()}
        folder = self.local_folder()
        if folder is None:
            return None
        files: dict[str, Path] = {}
        for path in sorted(folder.iterdir()):
            if path.suffix in BUILDERS and path.is_file():
                files.setdefault(path.stem, path)
        if not files:
            raise DataError(
                f"Folder {folder} has no split files; expected <split>.parquet, .csv, .jsonl, .json or .txt."
            )
        return files


def load_splits(source: DataSource, splits: list[str]) -> dict[str, Dataset]:
    """Load the requested splits of ``source``; raise :class:`DataError` naming what is missing.

    Returns:
        ``{split: datasets.Dataset}`` in the order requested.
    """
    files = source.split_files()
    if files is None:
        return _load_from_hub(source, splits)
    missing = [s for s in splits if s not in files]
    if missing:
        where = source.local_folder() or "data_files"
        raise DataError(
            f"Dataset '{source.label}' has no split {missing[0]!r} (found: {', '.join(files)} in {where}). "
            "Name an existing split in the recipe (e.g. data.init_args.val_split)."
        )
    return {split: _load_file(files[split], split) for split in splits}


def describe_split(source: DataSource, split: str) -> str:
    """Where ``split`` of ``source`` is read from: a file path or a Hub id, for error messages."""
    files = source.split_files()
    if files is not None and split in files:
        return str(files[split])
    return f"{source.name} (Hub) split {split!r}"


def _load_file(path: Path, split: str) -> Dataset:
    from datasets import load_dataset

    if not path.is_file():
        raise DataError(f"Data file {path} for split '{split}' does not exist.")
    builder = BUILDERS.get(path.suffix)
    if builder is None:
        raise DataError(f"Cannot read {path}: use one of {', '.join(BUILDERS)} files.")
    try:
        return load_dataset(builder, data_files={split: str(path)}, split=split)
    except Exception as error:  # datasets raises many types for unreadable files
        if _has_no_rows(path):
            raise DataError(f"Split '{split}' ({path}) has no rows; point the recipe at a split with data.") from None
        raise DataError(f"Could not read {path} as {builder}: {error}") from error


def _has_no_rows(path: Path) -> bool:
    """Whether a data file holds no rows (``datasets`` fails on such files with an unhelpful error)."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            return pq.ParquetFile(path).metadata.num_rows == 0
        except Exception:
            return False
    with path.open("rb") as handle:
        lines = [line for line in handle.read(1 << 20).splitlines() if line.strip()]
    return len(lines) <= (1 if path.suffix == ".csv" else 0)  # a CSV header alone is no data


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether a TCP connection to the HuggingFace Hub endpoint opens within ``timeout`` seconds."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    url = urlparse(constants.ENDPOINT)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname, port), timeout=timeout).close()
    except OSError:
        return False
    return True


def _local_alternative(source: DataSource) -> str:
    root = source.data_dir or os.environ.get("SEQKIT_DATA_DIR")
    where = f"{root}/{source.name}/<split>.parquet" if root else f"$SEQKIT_DATA_DIR/{source.name}/<split>.parquet"
    return f"put its splits at {where} (or list files in data_files)"


def _load_from_hub(source: DataSource, splits: list[str]) -> dict[str, Dataset]:
    from datasets import load_dataset
    from huggingface_hub import constants

    if not source.name:
        raise DataError("A data source needs a name (local dataset or Hub id) or data_files.")
    offline = constants.HF_HUB_OFFLINE
    if not offline and not hub_reachable():
        raise HubUnreachableError(
            f"Cannot reach the HuggingFace Hub ({constants.ENDPOINT}) to load dataset '{source.name}': "
            f"{_local_alternative(source)}; with a cached copy, set HF_HUB_OFFLINE=1."
        )
    try:
        loaded = load_dataset(source.name, source.hub_config, revision=source.revision)
    except ConnectionError as error:
        raise HubUnreachableError(
            f"Dataset '{source.name}' is not in the local cache and the Hub is offline: "
            f"{_local_alternative(source)}."
        ) from error
    except FileNotFoundError as error:
        raise DataError(
            f"Dataset '{source.name}' was found neither locally nor on the Hub: {_local_alternative(source)}."
        ) from error
    missing = [s for s in splits if s not in loaded]
    if missing:
        raise DataError(
            f"Dataset '{source.name}' has no split {missing[0]!r} (found: {', '.join(loaded)}). "
            "Name an existing split in the recipe."
        )
    return {split: loaded[split] for split in splits}
