"""seqkit data pull refuses to replace a split or SOURCE.md already in --out, before anything is downloaded."""

from __future__ import annotations

import pytest

from seqkit.cli import main


@pytest.mark.parametrize("existing", ["train.parquet", "test.parquet", "SOURCE.md"])
def test_data_pull_refuses_to_overwrite_an_existing_file(existing, tmp_path, monkeypatch, capsys):
    # An unreachable Hub: the refusal must come before any download is tried.
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("SEQKIT_DATA_DIR", raising=False)
    folder = tmp_path / "data" / "sst2"
    folder.mkdir(parents=True)
    (folder / existing).write_text("the user's own copy")
    code = main(["data", "pull", "--recipe", "recipes/sentiment/sst2.yaml", "--out", str(tmp_path / "data")])
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert str(folder / existing) in err and "--overwrite" in err
    assert len(err.splitlines()) == 1
    assert (folder / existing).read_text() == "the user's own copy"
    assert sorted(p.name for p in folder.iterdir()) == [existing]
