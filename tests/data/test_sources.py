"""Every kind of data source: local name under the data root, a folder, explicit files, and the Hub."""

from __future__ import annotations

import json
import time

import pytest

from seqkit.data.sources import DataSource, load_splits
from seqkit.errors import DataError, HubUnreachableError


@pytest.mark.full_data
def test_local_name_under_data_root(data_root):
    splits = load_splits(DataSource(name="sst2"), ["train", "validation", "test"])
    assert {k: len(v) for k, v in splits.items()} == {"train": 67349, "validation": 872, "test": 1821}
    assert splits["train"].column_names == ["text", "label"]


@pytest.mark.full_data
def test_data_dir_in_recipe_overrides_environment(data_root, tmp_path, monkeypatch):
    monkeypatch.setenv("SEQKIT_DATA_DIR", str(tmp_path))  # the environment points elsewhere
    splits = load_splits(DataSource(name="ptb", data_dir=str(data_root)), ["validation"])
    assert len(splits["validation"]) == 3370


@pytest.mark.full_data
def test_folder_path_as_name(data_root):
    splits = load_splits(DataSource(name=str(data_root / "multi30k")), ["test_2016_flickr"])
    assert len(splits["test_2016_flickr"]) == 1000


def _write_files(tmp_path):
    rows = [{"text": f"review number {i}", "label": i % 2} for i in range(6)]
    (tmp_path / "train.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    (tmp_path / "valid.csv").write_text("text,label\n" + "\n".join(f"csv row {i},{i % 2}" for i in range(4)) + "\n")
    (tmp_path / "test.txt").write_text("plain line one\nplain line two\nplain line three\n")
    return tmp_path


def test_explicit_files_of_each_format(tmp_path):
    folder = _write_files(tmp_path)
    source = DataSource(data_files={
        "train": str(folder / "train.jsonl"), "validation": str(folder / "valid.csv"), "test": str(folder / "test.txt"),
    })
    splits = load_splits(source, ["train", "validation", "test"])
    assert splits["train"][0] == {"text": "review number 0", "label": 0}
    assert splits["validation"]["text"][:2] == ["csv row 0", "csv row 1"]
    assert splits["test"]["text"] == ["plain line one", "plain line two", "plain line three"]


def test_folder_of_mixed_formats(tmp_path):
    folder = _write_files(tmp_path)
    splits = load_splits(DataSource(name=str(folder)), ["train", "valid", "test"])
    assert [len(splits[s]) for s in ("train", "valid", "test")] == [6, 4, 3]


def test_unknown_split_names_the_alternatives(data_root):
    with pytest.raises(DataError, match=r"no split 'valid' \(found: test, train, validation"):
        load_splits(DataSource(name="sst2"), ["train", "valid"])


def test_hub_unreachable_fails_fast_with_local_alternative(monkeypatch, tmp_path):
    from huggingface_hub import constants

    monkeypatch.setenv("SEQKIT_DATA_DIR", str(tmp_path))  # nothing local
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")  # closed port: refused at once, anywhere
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    start = time.perf_counter()
    with pytest.raises(HubUnreachableError) as error:
        load_splits(DataSource(name="stanfordnlp/imdb"), ["train"])
    elapsed = time.perf_counter() - start
    message = str(error.value)
    assert "stanfordnlp/imdb" in message and f"{tmp_path}/stanfordnlp/imdb/<split>.parquet" in message
    assert "\n" not in message and elapsed < 10  # one line, no retries (not a timing benchmark: a generous bound)


def test_hub_offline_mode_without_cache(monkeypatch, tmp_path):
    from huggingface_hub import constants

    monkeypatch.setenv("SEQKIT_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    import datasets.config

    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    with pytest.raises(HubUnreachableError, match="not in the local cache"):
        load_splits(DataSource(name="someone/not-cached"), ["train"])


def test_a_malformed_jsonl_line_is_named_by_file_and_line(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text('{"text": "a", "label": 0}\n{"text": "b", "label": 1}\n{"text": "c" "label": 1}\n')
    with pytest.raises(DataError, match=r"train.jsonl, line 3: not valid JSON \(Expecting ',' delimiter"):
        load_splits(DataSource(data_files={"train": str(path)}), ["train"])


def test_non_utf8_text_is_named_by_file_and_line(tmp_path):
    path = tmp_path / "train.txt"
    path.write_bytes(b"fine\nalso fine\nbad \xff byte\n")
    with pytest.raises(DataError, match=r"train.txt, line 3: not UTF-8 text \(byte 0xff at column 5\)"):
        load_splits(DataSource(data_files={"train": str(path)}), ["train"])


def test_a_missing_absolute_folder_is_named_as_a_path(tmp_path):
    with pytest.raises(DataError) as error:
        load_splits(DataSource(name=str(tmp_path / "nope")), ["train"])
    assert f"Dataset folder {tmp_path}/nope does not exist" in str(error.value)
    assert "//" not in str(error.value)
