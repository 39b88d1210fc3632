"""ETTh1 without a local folder: the published CSV at a pinned commit, checked by SHA-256, gives the local rows."""

from __future__ import annotations

import hashlib

import pyarrow.parquet as pq
import pytest

from seqkit.data.archives import ArchiveSource
from seqkit.data.forecasting import ForecastingDataModule
from seqkit.data.sources import DataSource, load_splits, resolve
from seqkit.errors import DataError
from tests.fake_hub import FakeHub
from tests.hub_repos import ETTH1_CSV, etth1_csv


@pytest.fixture()
def served(data_root, tmp_path, monkeypatch):
    monkeypatch.setenv("SEQKIT_CACHE_DIR", str(tmp_path / "cache"))
    series = etth1_csv(data_root)
    with FakeHub() as hub:
        hub.plain_files[ETTH1_CSV] = series
        yield f"{hub.url}/files/{ETTH1_CSV}", hashlib.sha256(series).hexdigest()


def test_the_csv_archive_gives_the_local_series_row_for_row(served, data_root):
    url, sha256 = served
    source = DataSource(name="etth1-nowhere", archive=ArchiveSource(url=url, sha256=sha256, format="csv"))
    assert resolve(source, ["series"])["series"].startswith(f"{url} (sha256 {sha256[:12]}")
    remote = load_splits(source, ["series"])["series"].to_pandas()
    local = pq.read_table(data_root / "etth1" / "series.parquet").to_pandas()
    assert list(remote.columns) == list(local.columns)
    assert (remote["date"].to_numpy() == local["date"].to_numpy()).all()
    assert (remote.drop(columns="date").to_numpy() == local.drop(columns="date").to_numpy()).all()  # exact floats
    module = ForecastingDataModule(source)
    assert module.split_roles() == {"series": "series"} and module.column_roles() == {"time": "date", "target": "OT"}


def test_a_csv_archive_with_another_checksum_is_refused(served):
    url, _ = served
    source = DataSource(name="etth1-nowhere", archive=ArchiveSource(url=url, sha256="0" * 64, format="csv"))
    with pytest.raises(DataError, match="not the expected 0000"):
        load_splits(source, ["series"])
