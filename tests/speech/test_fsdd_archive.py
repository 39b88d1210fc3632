"""FSDD from an archive of its git commit: every recording checked against the shipped SHA-256 list."""

from __future__ import annotations

import hashlib

import pyarrow.parquet as pq
import pytest
import yaml

from seqkit.cli import main
from seqkit.data.fsdd import expected_checksums, read_fsdd_archive
from seqkit.errors import DataError
from tests.fake_hub import FakeHub
from tests.helpers import REPO
from tests.hub_repos import fsdd_archive
from tests.speech.conftest import fixture_rows


def tar_of(files: dict[str, bytes]) -> bytes:
    """An archive as a code host makes one of the pinned commit, holding ``files`` as its recordings."""
    return fsdd_archive(files)


def test_the_shipped_list_holds_every_recording_and_the_fixture_matches_it():
    checksums = expected_checksums()
    assert len(checksums) == 3000
    for row in fixture_rows("train") + fixture_rows("test"):
        assert hashlib.sha256(row["audio"]).hexdigest() == checksums[f"recordings/{row['file']}"]


def test_members_are_verified_split_by_take_and_kept_byte_for_byte(tmp_path):
    rows = fixture_rows("train") + fixture_rows("test")
    files = {row["file"]: row["audio"] for row in rows}
    checksums = {f"recordings/{name}": hashlib.sha256(data).hexdigest() for name, data in files.items()}
    path = tmp_path / "fsdd.tar"
    path.write_bytes(tar_of(files))
    read = read_fsdd_archive(path, "the archive", checksums)
    assert len(read["train"]["audio"]) == len(read["test"]["audio"]) == 20
    by_file = {row["file"]: row for row in rows}
    for split, table in read.items():
        for index, name in enumerate(table["file"]):
            expected = by_file[name]
            assert table["audio"][index] == expected["audio"] and (split == "test") == (expected["take"] < 5)
            for column in ("label", "speaker", "take", "sampling_rate", "channels", "sample_width", "num_frames"):
                assert table[column][index] == expected[column], column

    changed = dict(files)
    name = rows[3]["file"]
    changed[name] = changed[name][:-1] + bytes([changed[name][-1] ^ 1])
    path.write_bytes(tar_of(changed))
    with pytest.raises(DataError, match=f"recordings/{name} in the archive does not match its SHA-256"):
        read_fsdd_archive(path, "the archive", checksums)
    path.write_bytes(tar_of({n: d for n, d in files.items() if n != name}))
    with pytest.raises(DataError, match=f"lacks 1 of the 40 recordings .*first: recordings/{name}"):
        read_fsdd_archive(path, "the archive", checksums)
    path.write_bytes(tar_of({**files, "0_newcomer_0.wav": files[name]}))
    with pytest.raises(DataError, match="holds recordings/0_newcomer_0.wav, which commit"):
        read_fsdd_archive(path, "the archive", checksums)


@pytest.mark.full_data
@pytest.mark.slow
def test_data_pull_reads_the_archive_into_the_local_layout(data_root, tmp_path, capsys):
    """The whole dataset as a code host's tarball, served by a local stand-in, pulled and checked member by member:
    the result equals the shared copy."""
    local = {split: pq.read_table(data_root / "fsdd" / f"{split}.parquet") for split in ("train", "test")}
    files = {row["file"]: row["audio"] for table in local.values() for row in
             table.select(["file", "audio"]).to_pylist()}
    hub = FakeHub().start()
    try:
        hub.plain_files["fsdd.tar"] = tar_of(files)
        recipe = yaml.safe_load((REPO / "recipes" / "speech" / "fsdd_digits.yaml").read_text())
        recipe["data"]["init_args"]["source"]["archive"]["url"] = f"{hub.url}/files/fsdd.tar"
        path = tmp_path / "recipe.yaml"
        path.write_text(yaml.safe_dump(recipe))
        assert main(["data", "pull", "--recipe", str(path), "--out", str(tmp_path / "data")]) == 0
    finally:
        hub.stop()
    assert "every member checked by SHA-256" in capsys.readouterr().out
    for split, table in local.items():
        pulled = pq.read_table(tmp_path / "data" / "fsdd" / f"{split}.parquet").sort_by("file")
        expected = table.sort_by("file")
        assert pulled.num_rows == expected.num_rows
        for column in ("audio", "label", "speaker", "take", "num_frames", "sampling_rate"):
            assert pulled.column(column).to_pylist() == expected.column(column).to_pylist(), column
