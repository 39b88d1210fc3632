"""A Hub dataset is reshaped to seqkit's local layout: split and column names, held-out splits, samples, labels."""

from __future__ import annotations

import pytest
from datasets import Dataset

from seqkit.data.hub import DerivedSplit, HubDataset, _reshape, describe_hub_split, load_hub_splits
from seqkit.data.sources import DataSource, load_splits, resolve
from seqkit.errors import DataError


def hub_splits() -> dict[str, Dataset]:
    train = Dataset.from_dict({"sentence": [f"t{i}" for i in range(100)], "label": [i % 2 + 1 for i in range(100)]})
    dev = Dataset.from_dict({"sentence": ["d0", "d1"], "label": [1, 2]})
    return {"train": train, "dev": dev}


def test_split_and_column_names_and_labels_follow_the_local_layout():
    spec = HubDataset(id="o/n", splits={"validation": "dev"}, columns={"text": "sentence"}, label_map={1: 0, 2: 1})
    out = _reshape(spec, hub_splits(), ["train", "validation"])
    assert out["validation"]["text"] == ["d0", "d1"] and out["validation"]["label"] == [0, 1]
    assert out["train"].column_names == ["text", "label"] and set(out["train"]["label"]) == {0, 1}


def test_held_out_splits_partition_their_parent_and_samples_are_seeded():
    spec = HubDataset(id="o/n", columns={"text": "sentence"},
                      derive={"validation": DerivedSplit(fraction=0.1, seed=3), "test": DerivedSplit(fraction=0.2)},
                      max_rows={"train": 50}, seed=7)
    out = _reshape(spec, hub_splits(), ["train", "validation", "test"])
    texts = {split: set(data["text"]) for split, data in out.items()}
    assert len(texts["validation"]) == 10 and len(texts["test"]) == 18 and len(texts["train"]) == 50
    assert not (texts["validation"] & texts["test"]) and not (texts["train"] & (texts["validation"] | texts["test"]))
    again = _reshape(spec, hub_splits(), ["train", "validation", "test"])
    assert [again[s]["text"] for s in out] == [out[s]["text"] for s in out]


def test_a_missing_hub_column_names_the_columns_it_has():
    with pytest.raises(DataError, match="has no column 'text_a'; it has: sentence, label"):
        _reshape(HubDataset(id="o/n", columns={"text": "text_a"}), hub_splits(), ["train"])


def test_the_local_folder_is_read_before_the_hub(data_root):
    source = DataSource(name="sst2", hub=HubDataset(id="SetFit/sst2"))
    assert resolve(source, ["train"])["train"] == str(data_root / "sst2" / "train.parquet")
    assert resolve(source, ["train"], remote=True)["train"] == describe_hub_split(source.hub, "train")
    assert resolve(DataSource(name="/no/such/folder"), ["train"])["train"].startswith("(nowhere: Dataset folder")


def test_strip_gives_the_same_text_wherever_it_is_read_from(tmp_path):
    (tmp_path / "ptb").mkdir()
    Dataset.from_dict({"text": [" a b ", "c"]}).to_parquet(tmp_path / "ptb" / "train.parquet")
    source = DataSource(name="ptb", data_dir=str(tmp_path), strip=["text"])
    assert load_splits(source, ["train"])["train"]["text"] == ["a b", "c"]
    source.strip = ["sentence"]
    with pytest.raises(DataError, match="source.strip names 'sentence'"):
        load_splits(source, ["train"])


def test_a_split_can_come_from_another_hub_dataset():
    glue, setfit = HubDataset(id="nyu-mll/glue", config="sst2"), HubDataset(id="SetFit/sst2")
    source = DataSource(name="/no/such/folder", hub=glue, hub_splits={"test": setfit})
    assert source.hub_dataset("train") is glue and source.hub_dataset("test") is setfit
    places = resolve(source, ["train", "test"])
    assert places == {"train": describe_hub_split(glue, "train"), "test": describe_hub_split(setfit, "test")}


def test_a_checksum_must_pin_a_listed_file():
    spec = HubDataset(id="o/n", files={"train": "train.jsonl"}, sha256={"test": "0" * 64})
    with pytest.raises(DataError, match="hub.sha256 names 'test', which hub.files does not list"):
        load_hub_splits(spec, ["train"], "put it somewhere")
    assert describe_hub_split(HubDataset(id="o/n", files={"train": "t.jsonl"}, sha256={"train": "ab" * 32}),
                              "train") == "o/n@main t.jsonl (sha256 abababababab...)"
