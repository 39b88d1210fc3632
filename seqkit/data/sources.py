"""Where a dataset comes from: local files, a local data root, a dataset archive, or the HuggingFace Hub.

A :class:`DataSource` names a dataset once; :func:`load_splits` turns it into one ``datasets.Dataset`` per
requested split. Resolution order, first match wins:

1. ``data_files`` given: exactly those files (``{split: path}``).
2. ``name`` is a folder, or ``<data_dir>/<name>/`` exists (``data_dir`` defaults to ``$SEQKIT_DATA_DIR``):
   the files ``<split>.parquet|csv|jsonl|json|txt`` in it. Local copies always win, so offline machines and CI
   never touch the network.
3. ``archive``: a checksummed archive at a URL (:mod:`seqkit.data.archives`), converted once and cached.
4. ``hub``: a Hub dataset reshaped to the local layout (:class:`~seqkit.data.hub.HubDataset`).
5. ``name`` is itself a namespaced Hub id (``owner/name``, with ``hub_config`` and ``revision``).

When the Hub cannot be reached this fails at once with one line naming the local alternative.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from seqkit import settings
from seqkit.data.archives import ArchiveSource, load_archive_splits
from seqkit.data.hub import NAMESPACED, HubDataset, describe_hub_split, load_hub_splits
from seqkit.errors import DataError

if TYPE_CHECKING:
    from datasets import Dataset

__all__ = ["BUILDERS", "ArchiveSource", "DataSource", "HubDataset", "describe_split", "load_splits", "resolve"]

#: File suffixes seqkit reads, and the ``datasets`` builder for each.
BUILDERS = {".parquet": "parquet", ".csv": "csv", ".jsonl": "json", ".json": "json", ".txt": "text"}


@dataclass
class DataSource:
    """Names a dataset: local files or folder first, else a checksummed archive or a HuggingFace Hub dataset.

    Args:
        name: Dataset name. Looked up as a folder first (``<data_dir>/<name>/`` or the path itself); without
            ``hub``/``archive`` a namespaced name such as ``stanfordnlp/imdb`` is then read from the Hub.
        data_dir: Local data root; defaults to the ``SEQKIT_DATA_DIR`` environment variable.
        data_files: Explicit ``{split: file}`` mapping (parquet, csv, jsonl/json or txt); overrides ``name``.
        hub_config: Configuration of a Hub id given as ``name`` (``load_dataset(name, hub_config)``).
        revision: Hub revision of a Hub id given as ``name``.
        columns: Maps the roles a task reads (``text``, ``label``, ``source``, ``target``...) to this
            dataset's column names, e.g. ``{text: sentence}``. Roles not listed use the task's default name.
        hub: The Hub dataset to read when there is no local folder ``<data_dir>/<name>/``, with the split and
            column names, revision, held-out splits and size caps that make it look like the local copy.
        archive: A dataset archive (URL + SHA-256) to read when there is no local folder.
        hub_splits: ``{split: Hub dataset}`` for splits read from another Hub dataset than ``hub``, e.g. SST-2's
            labelled test sentences, which GLUE does not publish: ``{test: {id: SetFit/sst2, ...}}``.
        strip: Text columns whose values lose leading and trailing whitespace, wherever they are read from: the
            copies of a dataset differ there (GLUE's SST-2 sentences end with a space; PTB's lines start and end
            with one in some copies), and a character model would see the difference.
        obtain: For data with no Hub copy or archive seqkit reads: which files to put in the local folder, and from
            where (said when the folder is missing, and by ``seqkit data pull``).
    """

    name: str | None = None
    data_dir: str | None = None
    data_files: dict[str, str] | None = None
    hub_config: str | None = None
    revision: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    hub: HubDataset | None = None
    archive: ArchiveSource | None = None
    hub_splits: dict[str, HubDataset] = field(default_factory=dict)
    strip: list[str] = field(default_factory=list)
    obtain: str | None = None

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
        if self.hub:
            return self.hub.id.split("/")[-1]
        return "dataset"

    def local_root(self) -> Path | None:
        return Path(self.data_dir).expanduser() if self.data_dir else settings.data_dir()

    def local_folder(self) -> Path | None:
        """The folder holding this dataset's split files, if there is one."""
        if not self.name:
            return None
        root = self.local_root()
        if root is not None and not _is_path(self.name) and (root / self.name).is_dir():
            return root / self.name
        path = Path(self.name).expanduser()
        return path if path.is_dir() else None

    def hub_dataset(self, split: str | None = None) -> HubDataset | None:
        """The Hub dataset this source reads ``split`` from when nothing is local: ``hub_splits[split]``, else
        ``hub``, else ``name`` if it is a Hub id."""
        if split in self.hub_splits:
            return self.hub_splits[split]
        if self.hub is not None:
            return self.hub
        if self.name and NAMESPACED.match(self.name) and not _is_path(self.name):
            return HubDataset(id=self.name, config=self.hub_config, revision=self.revision or "main")
        return None

    def has_remote(self) -> bool:
        """Whether the data can come from somewhere other than a local folder (a Hub dataset or an archive)."""
        return self.hub_dataset() is not None or bool(self.hub_splits) or self.archive is not None

    def split_files(self) -> dict[str, Path] | None:
        """``{split: file}`` for local data, or ``None`` when the dataset must come from an archive or the Hub."""
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


def _is_path(name: str) -> bool:
    """Whether ``name`` is written as a filesystem path rather than a dataset name or Hub id."""
    return name.startswith(("/", ".", "~")) or os.sep + os.sep in name or name.endswith(os.sep)


def resolve(source: DataSource, splits: list[str], *, remote: bool = False) -> dict[str, str]:
    """Where each split would be read from, in words (a file path, an archive, or ``hub id@revision``)."""
    files = None if remote else source.split_files()
    if files is not None:
        return {s: str(files[s]) if s in files else "(missing)" for s in splits}
    if source.archive is not None:
        return {s: f"{source.archive.label} split {s!r}" for s in splits}
    if source.hub_dataset() is not None or source.hub_splits:
        nowhere = "(nowhere: " + _nothing_local(source) + ")"
        return {s: describe_hub_split(hub, s) if (hub := source.hub_dataset(s)) else nowhere for s in splits}
    return {s: "(nowhere: " + _nothing_local(source) + ")" for s in splits}


def log_origin(source: DataSource, splits: list[str]) -> None:
    """Log, once per process, where each split is read from (a run prints where its data came from)."""
    from lightning.pytorch.utilities import rank_zero_info

    for split, where in resolve(source, splits).items():
        rank_zero_info(f"Data: {source.label} {split} <- {where}")


def load_splits(source: DataSource, splits: list[str], *, remote: bool = False) -> dict[str, Dataset]:
    """Load the requested splits of ``source``; raise :class:`DataError` naming what is missing.

    Args:
        source: The dataset.
        splits: Split names, as the recipe uses them.
        remote: Skip local copies and read the archive or Hub source (``seqkit data pull``).

    Returns:
        ``{split: datasets.Dataset}`` in the order requested.
    """
    files = None if remote else source.split_files()
    if files is None:
        return _strip(source, _load_remote(source, splits))
    missing = [s for s in splits if s not in files]
    if missing:
        where = source.local_folder() or "data_files"
        raise DataError(
            f"Dataset '{source.label}' has no split {missing[0]!r} (found: {', '.join(files)} in {where}). "
            "Name an existing split in the recipe (e.g. data.init_args.splits.validation)."
        )
    return _strip(source, {split: _load_file(files[split], split) for split in splits})


def _strip(source: DataSource, loaded: dict[str, Dataset]) -> dict[str, Dataset]:
    """``loaded`` with the whitespace around ``source.strip``'s columns removed."""
    if not source.strip:
        return loaded
    for split, dataset in loaded.items():
        missing = [column for column in source.strip if column not in dataset.column_names]
        if missing:
            raise DataError(f"data.init_args.source.strip names {missing[0]!r}, which split {split!r} of "
                            f"{source.label} does not have; it has: {', '.join(dataset.column_names)}.")
    columns = source.strip
    return {split: dataset.map(lambda batch: {c: [v.strip() for v in batch[c]] for c in columns}, batched=True,
                               desc=None) for split, dataset in loaded.items()}


def describe_split(source: DataSource, split: str) -> str:
    """Where ``split`` of ``source`` is read from: a file path or a Hub id, for error messages."""
    return resolve(source, [split])[split]


def _load_remote(source: DataSource, splits: list[str]) -> dict[str, Dataset]:
    hint = _local_alternative(source)
    if source.archive is not None:
        return load_archive_splits(source.archive, splits, hint)
    groups: dict[int, tuple[HubDataset, list[str]]] = {}  # splits that come from the same Hub dataset, together
    for split in splits:
        hub = source.hub_dataset(split)
        if hub is None:
            raise DataError(f"{_nothing_local(source)}; {hint}, or name a Hub dataset in data.init_args.source.hub.")
        groups.setdefault(id(hub), (hub, []))[1].append(split)
    loaded: dict[str, Dataset] = {}
    for hub, group in groups.values():
        loaded.update(load_hub_splits(hub, group, hint))
    return {split: loaded[split] for split in splits}


def _nothing_local(source: DataSource) -> str:
    if not source.name:
        return "A data source needs a name (local dataset or Hub id), data_files, hub or archive"
    if _is_path(source.name):
        return f"Dataset folder {source.name} does not exist"
    root = source.local_root()
    return f"Dataset '{source.name}' is not in {root}" if root else f"Dataset '{source.name}' has no local folder"


def _local_alternative(source: DataSource) -> str:
    """What to do instead of reading the Hub or an archive: where to put the files (and how to get them)."""
    if source.name and _is_path(source.name):
        return f"put its splits at {source.name}/<split>.parquet"
    name = source.name or (source.hub.id.split("/")[-1] if source.hub else "<name>")
    root = source.data_dir or os.environ.get("SEQKIT_DATA_DIR")
    where = f"{root}/{name}/<split>.parquet" if root else f"$SEQKIT_DATA_DIR/{name}/<split>.parquet"
    if source.has_remote():
        return f"put its splits at {where} (`seqkit data pull` writes them on a machine with internet)"
    return f"put its splits at {where}" + (f": {source.obtain}" if source.obtain else "")


def local_alternative(source: DataSource) -> str:
    """Where to put a dataset's files by hand (and, for data with no Hub copy, which files and from where)."""
    return _local_alternative(source)


def _load_file(path: Path, split: str) -> Dataset:
    from datasets import load_dataset

    if not path.is_file():
        raise DataError(f"Data file {path} for split '{split}' does not exist.")
    builder = BUILDERS.get(path.suffix)
    if builder is None:
        raise DataError(f"Cannot read {path}: use one of {', '.join(BUILDERS)} files.")
    problem = _find_bad_line(path)
    if problem:
        raise DataError(problem)
    try:
        return load_dataset(builder, data_files={split: str(path)}, split=split)
    except Exception as error:  # datasets raises many types for unreadable files
        if _has_no_rows(path):
            raise DataError(f"Split '{split}' ({path}) has no rows; point the recipe at a split with data.") from None
        cause = error.__cause__ or error.__context__ or error
        reason = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
        raise DataError(f"Could not read {path} as {builder}: {reason}") from None


def _find_bad_line(path: Path) -> str | None:
    """The first undecodable or (for JSON Lines) unparsable line of a text data file, as a message."""
    if path.suffix not in (".jsonl", ".txt", ".csv"):
        return None
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                return (f"{path}, line {number}: not UTF-8 text (byte {raw[error.start]:#04x} at column "
                        f"{error.start + 1}); convert the file to UTF-8.")
            if path.suffix == ".jsonl" and line.strip():
                try:
                    json.loads(line)
                except json.JSONDecodeError as error:
                    return f"{path}, line {number}: not valid JSON ({error.msg}, column {error.colno}); fix that line."
    return None


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
