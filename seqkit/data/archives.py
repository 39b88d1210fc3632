"""Datasets published as an archive at a URL, checked against a SHA-256 and read into seqkit's local layout.

The one archive seqkit reads is the original aclImdb release (Maas et al. 2011): it is the only public copy of IMDB
that keeps each review's 1-10 rating (``aclImdb/<split>/<pos|neg>/<id>_<rating>.txt``), which the 8-class rating
recipes need; the Hub copies keep only the polarity.

The archive is downloaded once (through ``huggingface_hub``'s HTTP session: proxies and timeouts as for the Hub),
verified, and turned into one parquet file per split under ``$SEQKIT_CACHE_DIR/archives/<sha256>/``; later runs,
offline ones included, read those.
"""

from __future__ import annotations

import hashlib
import os
import re
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from seqkit import settings
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
        url: Where to download it.
        sha256: Its SHA-256; a download that does not match is refused and deleted.
        format: How to read it: ``aclimdb`` (splits ``train``/``test``; columns ``text``, ``label`` 0/1,
            ``rating`` 1-10).
    """

    url: str = ACLIMDB_URL
    sha256: str = ACLIMDB_SHA256
    format: Literal["aclimdb"] = "aclimdb"

    @property
    def label(self) -> str:
        return f"{self.url} (sha256 {self.sha256[:12]}...)"


def load_archive_splits(archive: ArchiveSource, splits: list[str], local_hint: str) -> dict[str, Dataset]:
    """The requested splits of ``archive``, downloading and converting it on first use."""
    from datasets import load_dataset

    folder = settings.cache_dir() / "archives" / archive.sha256
    missing = [s for s in splits if not (folder / f"{s}.parquet").is_file()]
    if missing:
        _convert(_download(archive, local_hint), archive, folder)
    unknown = [s for s in splits if not (folder / f"{s}.parquet").is_file()]
    if unknown:
        have = ", ".join(sorted(p.stem for p in folder.glob("*.parquet")))
        raise DataError(f"Archive {archive.url} has no split {unknown[0]!r}; it has: {have}.")
    return {s: load_dataset("parquet", data_files={s: str(folder / f"{s}.parquet")}, split=s) for s in splits}


def _download(archive: ArchiveSource, local_hint: str) -> Path:
    """The verified archive file in seqkit's cache, downloaded if it is not there yet."""
    target = settings.cache_dir() / "downloads" / archive.sha256
    if target.is_file():
        return target
    if offline():
        raise HubUnreachableError(f"{archive.url} has not been downloaded yet and HF_HUB_OFFLINE is set: "
                                  f"{local_hint}.")
    from huggingface_hub.utils import get_session
    from tqdm.auto import tqdm

    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    handle, partial = tempfile.mkstemp(dir=target.parent, suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out, get_session().stream(
            "GET", archive.url, timeout=HUB_TIMEOUT_S, follow_redirects=True
        ) as response:
            response.raise_for_status()
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=f"Downloading {archive.url.rsplit('/', 1)[-1]}",
                      disable=None) as bar:
                for chunk in response.iter_bytes(1 << 20):
                    out.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
        if digest.hexdigest() != archive.sha256:
            raise DataError(f"{archive.url} has SHA-256 {digest.hexdigest()}, not the expected {archive.sha256}: "
                            "the download is corrupt or the file changed. Nothing was kept.")
        os.replace(partial, target)
    except DataError:
        raise
    except Exception as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise HubUnreachableError(f"Could not download {archive.url}: {reason}. Offline: {local_hint}.") from None
    finally:
        Path(partial).unlink(missing_ok=True)
    return target


def _convert(path: Path, archive: ArchiveSource, folder: Path) -> None:
    """Archive -> ``folder/<split>.parquet``, written to a temporary folder and renamed into place."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows: dict[str, dict[str, list]] = {}
    with tarfile.open(path, "r:*") as tar:  # members are read as data; nothing is extracted to disk
        for member in tar:
            match = _ACLIMDB_MEMBER.match(member.name)
            if not member.isfile() or not match:
                continue
            split, polarity, _, rating = match.groups()
            text = tar.extractfile(member).read().decode("utf-8")
            table = rows.setdefault(split, {"text": [], "label": [], "rating": []})
            table["text"].append(text)
            table["label"].append(int(polarity == "pos"))
            table["rating"].append(int(rating))
    if not rows:
        raise DataError(f"{archive.url} holds no aclImdb reviews (aclImdb/<split>/<pos|neg>/<id>_<rating>.txt).")
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
