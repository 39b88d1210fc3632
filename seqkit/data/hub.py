"""Datasets from the HuggingFace Hub, reshaped to seqkit's local layout.

A :class:`HubDataset` says everything needed to read a Hub repo as if it were a local folder of
``<split>.parquet`` files: the namespaced id, the config, a pinned revision, the split and column names it uses,
splits it lacks (carved, seeded, from another split), a seeded size cap and a label map. :func:`load_hub_splits`
reads it through ``datasets.load_dataset`` (or ``huggingface_hub`` downloads for explicit files) and returns
splits with seqkit's names, so everything downstream is the same for local and Hub data, and ``seqkit data pull``
can write the local layout from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from seqkit.errors import DataError, HubUnreachableError
from seqkit.hub_access import call_hub, endpoint, offline

if TYPE_CHECKING:
    from datasets import Dataset

#: File suffixes of explicit repo files, and the ``datasets`` builder for each.
FILE_BUILDERS = {".parquet": "parquet", ".csv": "csv", ".jsonl": "json", ".json": "json", ".txt": "text"}
NAMESPACED = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass
class DerivedSplit:
    """A split the Hub repo lacks, held out (seeded) from another split, which keeps the rest.

    Args:
        split: The seqkit split to hold it out from (usually ``train``).
        fraction: Fraction of that split's rows to hold out.
        seed: Seed of the held-out selection.
    """

    split: str = "train"
    fraction: float = 0.1
    seed: int = 0


@dataclass
class HubDataset:
    """A Hub dataset repo and how to read it as seqkit's local layout.

    Args:
        id: Namespaced repo id, e.g. ``SetFit/sst2`` (bare ids such as ``sst2`` are refused by the Hub client).
        config: The repo's configuration (subset), e.g. ``wikitext-2-v1``.
        revision: Branch, tag or commit; pin a commit for reproducible data.
        files: ``{hub split: path in the repo}`` read directly (for repos whose loader is a script, which
            ``datasets`` no longer runs: point at their parquet export, ``revision: refs/convert/parquet``).
        sha256: ``{hub split: SHA-256 of its file in files}``: each download is checked against it, which pins
            the data where the repo's commit id is not known (a moving ``revision`` then cannot change it).
        splits: ``{seqkit split: hub split}`` where names differ, e.g. ``{validation: dev}``.
        columns: ``{seqkit column: hub column}`` where names differ, e.g. ``{text: sentence}``.
        derive: Splits the repo lacks, held out from another split, e.g. ``{validation: {fraction: 0.1}}``.
        max_rows: ``{seqkit split: rows}``: a seeded random sample of that size (the local copy is a sample).
        label_map: ``{hub label: seqkit label}`` applied to the ``label`` column.
        seed: Seed of the ``max_rows`` samples.
    """

    id: str
    config: str | None = None
    revision: str = "main"
    files: dict[str, str] | None = None
    sha256: dict[str, str] = field(default_factory=dict)
    splits: dict[str, str] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)
    derive: dict[str, DerivedSplit] = field(default_factory=dict)
    max_rows: dict[str, int] = field(default_factory=dict)
    label_map: dict[int, int] = field(default_factory=dict)
    seed: int = 0

    @property
    def label(self) -> str:
        """``id[:config]@revision`` for messages."""
        config = f":{self.config}" if self.config else ""
        return f"{self.id}{config}@{self.revision}"

    def hub_split(self, split: str) -> str:
        """The Hub split that holds (or is the parent of) seqkit split ``split``."""
        if split in self.derive:
            return self.hub_split(self.derive[split].split)
        return self.splits.get(split, split)


def describe_hub_split(spec: HubDataset, split: str) -> str:
    """Where seqkit split ``split`` comes from, in words: ``SetFit/sst2@main split 'dev'``."""
    hub_split = spec.hub_split(split)
    where = f"{spec.label} " + (f"{spec.files[hub_split]}" if spec.files and hub_split in spec.files
                                else f"split {hub_split!r}")
    if hub_split in spec.sha256:
        where += f" (sha256 {spec.sha256[hub_split][:12]}...)"
    if split in spec.derive:
        rule = spec.derive[split]
        where += f", {rule.fraction:g} held out from {rule.split!r} (seed {rule.seed})"
    if split in spec.max_rows:
        where += f", at most {spec.max_rows[split]:,} rows sampled (seed {spec.seed})"
    renamed = [f"{ours} <- {theirs}" for ours, theirs in spec.columns.items() if ours != theirs]
    return where + (f", columns {', '.join(renamed)}" if renamed else "")


def load_hub_splits(spec: HubDataset, splits: list[str], local_hint: str) -> dict[str, Dataset]:
    """Read ``splits`` (seqkit names) of a Hub dataset, renamed, derived and capped as ``spec`` says.

    Args:
        spec: The Hub dataset.
        splits: seqkit split names to return.
        local_hint: What to do instead when the Hub is unreachable (for the message).
    """
    if not NAMESPACED.match(spec.id):
        raise DataError(
            f"Hub dataset id {spec.id!r} is not namespaced: the Hub client needs 'owner/name' (e.g. SetFit/sst2, "
            "stanfordnlp/imdb). Set data.init_args.source.hub.id."
        )
    check_repo_id(spec.id)
    unknown = sorted(set(spec.sha256) - set(spec.files or {}))
    if unknown:
        raise DataError(f"hub.sha256 names {unknown[0]!r}, which hub.files does not list; checksums pin listed files.")
    alternative = f"Instead, {local_hint}" + ("." if offline() else ", or set HF_HUB_OFFLINE=1 to use a cached copy.")
    if not offline():
        _check_repo(spec, alternative)
    needed = list(dict.fromkeys(spec.hub_split(s) for s in splits))
    loaded = _load_files(spec, needed, alternative) if spec.files else _load_repo(spec, needed, alternative)
    return _reshape(spec, loaded, splits)


def check_repo_id(repo_id: str) -> None:
    """Refuse, in one line, an id the Hub client would reject with a traceback (``SetFit/..``, ``a/b--c``)."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(repo_id)
    except HFValidationError:
        raise DataError(f"Hub dataset id {repo_id!r} is not a valid Hub repo id: 'owner/name' of letters, digits, "
                        "'-', '_' and '.', without '..' or '--'; fix data.init_args.source.hub.id (or source.name)."
                        ) from None


def _check_repo(spec: HubDataset, alternative: str) -> None:
    """Fail early, in one line, on a wrong id, revision or config (and when the Hub does not answer)."""
    from huggingface_hub import HfApi, constants
    from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError

    wait = constants.HF_HUB_ETAG_TIMEOUT
    try:
        info = call_hub(f"the dataset info of {spec.id}@{spec.revision}",
                        lambda: HfApi().dataset_info(spec.id, revision=spec.revision, timeout=wait), alternative)
    except RevisionNotFoundError:
        raise DataError(f"Hub dataset {spec.id} has no revision {spec.revision!r}; "
                        "set data.init_args.source.hub.revision to a branch, tag or commit it has.") from None
    except RepositoryNotFoundError:
        raise DataError(f"There is no Hub dataset {spec.id!r} at {endpoint()} (or it is private or gated); "
                        "check data.init_args.source.hub.id.") from None
    if spec.config and not spec.files:
        configs = [c.get("config_name") for c in (info.card_data or {}).get("configs", []) or []]
        folders = {PurePosixPath(s.rfilename).parts[0] for s in info.siblings or [] if "/" in s.rfilename}
        known = configs or sorted(folders)
        if known and spec.config not in known:
            raise DataError(f"Hub dataset {spec.id} has no config {spec.config!r}; it has: {', '.join(known)}. "
                            "Set data.init_args.source.hub.config.")


def _load_repo(spec: HubDataset, needed: list[str], alternative: str) -> dict[str, Dataset]:
    from datasets import load_dataset

    def load():  # datasets resolves, downloads and prepares every split of the config once, then caches them
        return load_dataset(spec.id, spec.config, revision=spec.revision)

    try:
        loaded = call_hub(f"dataset {spec.label}", load, alternative)
    except HubUnreachableError:
        raise
    except (ConnectionError, FileNotFoundError) as error:
        if offline():
            raise HubUnreachableError(
                f"Hub dataset {spec.label} is not in the local cache and HF_HUB_OFFLINE is set. {alternative}"
            ) from None
        raise DataError(f"Could not load Hub dataset {spec.label}: {_first_line(error)}") from None
    except ValueError as error:  # e.g. a config name datasets does not know
        raise DataError(f"Could not load Hub dataset {spec.label}: {_first_line(error)} "
                        "(data.init_args.source.hub).") from None
    missing = [s for s in needed if s not in loaded]
    if missing:
        raise DataError(f"Hub dataset {spec.label} has no split {missing[0]!r}; it has: {', '.join(loaded)}. "
                        "Map seqkit's split names with data.init_args.source.hub.splits (e.g. {validation: dev}) "
                        "or hold one out with hub.derive.")
    return {s: loaded[s] for s in needed}


def _load_files(spec: HubDataset, needed: list[str], alternative: str) -> dict[str, Dataset]:
    from datasets import load_dataset
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError

    files = spec.files or {}
    out = {}
    for split in needed:
        if split not in files:
            raise DataError(f"Hub dataset {spec.label} lists no file for split {split!r} in "
                            f"data.init_args.source.hub.files (it lists: {', '.join(files)}).")
        path = files[split]
        builder = FILE_BUILDERS.get(PurePosixPath(path).suffix)
        if builder is None:
            raise DataError(f"Cannot read {path}: use one of {', '.join(FILE_BUILDERS)} files.")
        try:
            local = call_hub(f"{spec.label}/{path}", lambda path=path: hf_hub_download(
                spec.id, path, repo_type="dataset", revision=spec.revision, local_files_only=offline()), alternative)
        except LocalEntryNotFoundError:
            raise HubUnreachableError(f"{spec.label}/{path} is not in the local cache and HF_HUB_OFFLINE is set. "
                                      f"{alternative}") from None
        except EntryNotFoundError:
            raise DataError(f"Hub dataset {spec.label} has no file {path!r}; fix data.init_args.source.hub.files.")\
                from None
        if split in spec.sha256:
            _check_sha256(local, spec.sha256[split], f"{spec.label}/{path}")
        out[split] = load_dataset(builder, data_files={split: local}, split=split)
    return out


def _check_sha256(path: str, expected: str, name: str) -> None:
    """Refuse a downloaded file whose SHA-256 is not the one the recipe pins."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    if digest.hexdigest() != expected.lower():
        raise DataError(f"{name} has SHA-256 {digest.hexdigest()}, not the {expected} that "
                        "data.init_args.source.hub.sha256 pins: the file changed on the Hub. Pin its new commit and "
                        "checksum only after checking the data.")


def _reshape(spec: HubDataset, loaded: dict[str, Dataset], splits: list[str]) -> dict[str, Dataset]:
    """Hub splits -> seqkit splits: rename columns, map labels, hold out derived splits, sample size caps."""
    by_hub = {name: _rename(spec, dataset, name) for name, dataset in loaded.items()}
    out: dict[str, Dataset] = {}
    parents: dict[str, Dataset] = {}
    for split in splits:
        if split in spec.derive:
            rule = spec.derive[split]
            # Carve from what earlier held-out splits left of the parent, so held-out splits never overlap.
            parent = parents.get(rule.split, by_hub[spec.hub_split(rule.split)])
            parts = parent.train_test_split(test_size=rule.fraction, seed=rule.seed)
            out[split] = parts["test"]
            parents[rule.split] = parts["train"]
    for split in splits:
        if split not in out:
            out[split] = parents.get(split, by_hub[spec.hub_split(split)])
    for split, rows in spec.max_rows.items():
        if split in out and rows < len(out[split]):
            out[split] = out[split].shuffle(seed=spec.seed).select(range(rows)).flatten_indices()
    return {split: out[split] for split in splits}


def _rename(spec: HubDataset, dataset: Dataset, hub_split: str) -> Dataset:
    for theirs in spec.columns.values():
        if theirs not in dataset.column_names:
            raise DataError(f"Hub dataset {spec.label} split {hub_split!r} has no column {theirs!r}; it has: "
                            f"{', '.join(dataset.column_names)}. Fix data.init_args.source.hub.columns.")
    renames = {theirs: ours for ours, theirs in spec.columns.items() if theirs != ours}
    clashes = [ours for ours in renames.values() if ours in dataset.column_names and ours not in renames]
    dataset = dataset.remove_columns(clashes).rename_columns(renames) if renames else dataset
    if spec.label_map:
        if "label" not in dataset.column_names:
            raise DataError(f"hub.label_map is set but {spec.label} has no 'label' column (map one in hub.columns).")
        mapping = dict(spec.label_map)
        dataset = dataset.map(lambda batch: {"label": [mapping.get(v, v) for v in batch["label"]]}, batched=True,
                              desc=None)
    return dataset


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
