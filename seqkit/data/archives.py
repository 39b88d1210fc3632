"""Datasets published as an archive at a URL, verified and read into seqkit's local layout.

Three kinds of archive are read:

- ``aclimdb``: the original aclImdb release (Maas et al. 2011), the only public copy of IMDB that keeps each
  review's 1-10 rating (``aclImdb/<split>/<pos|neg>/<id>_<rating>.txt``), which the 8-class rating recipes need;
  the Hub copies keep only the polarity. The archive is checked against its SHA-256.
- ``fsdd``: the Free Spoken Digit Dataset at a pinned git commit (:mod:`seqkit.data.fsdd`). A tarball that a code
  host makes on request is not byte-stable, so the archive has no SHA-256 of its own: each of its 3,000 recordings
  is checked against the commit's per-file SHA-256 list shipped with seqkit.
- ``csv``: one CSV file at a pinned address, checked against its SHA-256, read as the single split ``series`` (ETTh1
  from the ETDataset repository at a commit, for the forecasting recipes).

The archive is downloaded once (through ``huggingface_hub``'s HTTP session: proxies and timeouts as for the Hub),
verified, and turned into one parquet file per split under ``$SEQKIT_CACHE_DIR/archives/<key>/``; later runs,
offline ones included, read those.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from seqkit import settings
from seqkit.data.fsdd import FSDD_URL, read_fsdd_archive
from seqkit.data.tarballs import matching_members
from seqkit.errors import DataError, HubUnreachableError
from seqkit.hub_access import HUB_TIMEOUT_S, offline

if TYPE_CHECKING:
    from datasets import Dataset

ACLIMDB_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
ACLIMDB_SHA256 = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"
_ACLIMDB_MEMBER = re.compile(r"^aclImdb/(train|test)/(pos|neg)/(\d+)_(\d+)\.txt$")


@dataclass
class ArchiveSource:
    """A dataset archive at a URL.

    Args:
        url: Where to download it (default: the format's own address).
        sha256: Its SHA-256; a download that does not match is refused and deleted. Default: the format's; ``fsdd``
            has none (its members are checked one by one instead).
        format: How to read it: ``aclimdb`` (splits ``train``/``test``; columns ``text``, ``label`` 0/1,
            ``rating`` 1-10), ``fsdd`` (splits ``train``/``test``; see :mod:`seqkit.data.fsdd`) or ``csv`` (one
            file, the split ``series``, its columns as the header names them; needs ``url`` and ``sha256``).
    """

    url: str | None = None
    sha256: str | None = None
    format: Literal["aclimdb", "fsdd", "csv"] = "aclimdb"

    @property
    def address(self) -> str:
        """The URL downloaded: ``url``, or the format's default."""
        return self.url or (FSDD_URL if self.format == "fsdd" else ACLIMDB_URL)

    @property
    def digest(self) -> str | None:
        """The SHA-256 the whole download must have (``None``: checked member by member)."""
        if self.sha256:
            return self.sha256
        return None if self.format == "fsdd" or self.url else ACLIMDB_SHA256

    @property
    def key(self) -> str:
        """Names the cached download and conversion: the SHA-256, else a hash of the URL and format."""
        return self.digest or hashlib.sha256(f"{self.format}:{self.address}".encode()).hexdigest()

    @property
    def label(self) -> str:
        check = f"sha256 {self.digest[:12]}..." if self.digest else "every member checked by SHA-256"
        return f"{self.address} ({check})"


def load_archive_splits(archive: ArchiveSource, splits: list[str], local_hint: str) -> dict[str, Dataset]:
    """The requested splits of ``archive``, downloading and converting it on first use."""
    from datasets import load_dataset

    if archive.format == "csv" and not archive.url:
        raise DataError("A csv archive needs its address (data.init_args.source.archive.url).")
    if archive.format in ("aclimdb", "csv") and not archive.digest:
        raise DataError(f"Archive {archive.address} needs its sha256 (data.init_args.source.archive.sha256).")
    folder = settings.cache_dir() / "archives" / archive.key
    missing = [s for s in splits if not (folder / f"{s}.parquet").is_file()]
    if missing:
        _convert(_download(archive, local_hint), archive, folder)
    unknown = [s for s in splits if not (folder / f"{s}.parquet").is_file()]
    if unknown:
        have = ", ".join(sorted(p.stem for p in folder.glob("*.parquet")))
        raise DataError(f"Archive {archive.address} has no split {unknown[0]!r}; it has: {have}.")
    return {s: load_dataset("parquet", data_files={s: str(folder / f"{s}.parquet")}, split=s) for s in splits}


def _download(archive: ArchiveSource, local_hint: str) -> Path:
    """The verified archive file in seqkit's cache, downloaded if it is not there yet."""
    target = settings.cache_dir() / "downloads" / archive.key
    if target.is_file():
        return target
    url = archive.address
    if offline():
        raise HubUnreachableError(f"{url} has not been downloaded yet and HF_HUB_OFFLINE is set: {local_hint}.")
    from huggingface_hub.utils import get_session
    from tqdm.auto import tqdm

    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    handle, partial = tempfile.mkstemp(dir=target.parent, suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out, get_session().stream(
            "GET", url, timeout=HUB_TIMEOUT_S, follow_redirects=True
        ) as response:
            response.raise_for_status()
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=f"Downloading {url.rsplit('/', 1)[-1]}",
                      disable=None) as bar:
                for chunk in response.iter_bytes(1 << 20):
                    out.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
        if archive.digest and digest.hexdigest() != archive.digest:
            raise DataError(f"{url} has SHA-256 {digest.hexdigest()}, not the expected {archive.digest}: "
                            "the download is corrupt or the file changed. Nothing was kept.")
        os.replace(partial, target)
    except DataError:
        raise
    except Exception as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise HubUnreachableError(f"Could not download {url}: {reason}. Offline: {local_hint}.") from None
    finally:
        Path(partial).unlink(missing_ok=True)
    return target


def _convert(path: Path, archive: ArchiveSource, folder: Path) -> None:
    """Archive -> ``folder/<split>.parquet``, written to a temporary folder and renamed into place."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    readers = {"fsdd": lambda: read_fsdd_archive(path, archive.address), "csv": lambda: _read_csv(path, archive),
               "aclimdb": lambda: _read_aclimdb(path, archive)}
    rows = readers[archive.format]()
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".partial-"))
    for split, table in rows.items():
        pq.write_table(pa.table(table), staging / f"{split}.parquet")
    try:
        staging.rename(folder)
    except OSError:  # another process converted it first
        for leftover in staging.iterdir():
            leftover.unlink()
        staging.rmdir()


def _read_aclimdb(path: Path, archive: ArchiveSource) -> dict[str, dict[str, list]]:
    """``{split: {column: values}}`` of the aclImdb archive."""
    rows: dict[str, dict[str, list]] = {}
    for match, data in matching_members(path, _ACLIMDB_MEMBER):
        split, polarity, _, rating = match.groups()
        table = rows.setdefault(split, {"text": [], "label": [], "rating": []})
        table["text"].append(data.decode("utf-8"))
        table["label"].append(int(polarity == "pos"))
        table["rating"].append(int(rating))
    if not rows:
        raise DataError(f"{archive.address} holds no aclImdb reviews (aclImdb/<split>/<pos|neg>/<id>_<rating>.txt).")
    return rows


def _read_csv(path: Path, archive: ArchiveSource) -> dict[str, Any]:
    """``{"series": table}`` of a CSV file (types inferred: a ``date`` column of timestamps stays one)."""
    import pyarrow as pa
    from pyarrow import csv

    try:
        return {"series": csv.read_csv(path)}
    except pa.ArrowInvalid as error:
        raise DataError(f"{archive.address} is not a readable CSV file: {str(error).splitlines()[0]}") from None
