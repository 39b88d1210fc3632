"""TextClassificationDataModule: checks on bad input, cached tokenisation, batches, held-out splits."""

from __future__ import annotations

import json
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from seqkit.data import tokenizers as tk
from seqkit.data.classification import TextClassificationDataModule
from seqkit.data.options import Batching, Splits
from seqkit.data.sources import DataSource
from seqkit.data.tokenizers import TokenizerConfig
from seqkit.errors import DataError, TokenizerError


def _module(source: DataSource, **kwargs) -> TextClassificationDataModule:
    kwargs.setdefault("tokenizer", TokenizerConfig(kind="word", vocab_size=5000))
    return TextClassificationDataModule(source, **kwargs)


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def _good_rows(n=8):
    return [{"text": f"text number {i} is {'good' if i % 2 else 'bad'}", "label": i % 2} for i in range(n)]


@pytest.mark.full_data
def test_batches_from_real_data(data_root):
    module = _module(DataSource(name="sst2"), batching=Batching(batch_size=16),
                     splits=Splits(max_rows={"train": 500, "validation": 100, "test": 100}))
    assert module.num_classes == 2 and module.pad_id == 0 and module.vocab_size > 100
    module.setup("fit")
    batch = next(iter(module.train_dataloader()))
    assert batch["input_ids"].shape[0] == 16 and batch["input_ids"].shape == batch["input_mask"].shape
    assert batch["input_lengths"].max() == batch["input_ids"].shape[1]
    assert set(batch["labels"].tolist()) <= {0, 1}
    assert sum(len(b["labels"]) for b in module.val_dataloader()) == 100


def test_second_setup_reads_the_tokenised_cache(data_root, monkeypatch):
    settings = {"splits": Splits(val_from_train=0.05, max_rows={"train": 5000, "validation": 200, "test": 200}),
                "max_length": 400, "tokenizer": TokenizerConfig(kind="bpe", vocab_size=4000)}
    start = time.perf_counter()
    first = _module(DataSource(name="imdb"), **settings)
    first.setup("fit")
    cold = time.perf_counter() - start

    def no_encoding(self, texts):
        raise AssertionError("tokenised again instead of reading the datasets cache")

    monkeypatch.setattr(tk.HFTokenizer, "encode_batch", no_encoding)
    monkeypatch.setattr(tk, "train_tokenizer", no_encoding)
    start = time.perf_counter()
    second = _module(DataSource(name="imdb"), **settings)
    second.setup("fit")
    warm = time.perf_counter() - start
    print(f"IMDB 5,000 reviews, BPE 4k: first set-up {cold:.2f} s, second {warm:.2f} s")
    assert second.encoded["train"]["input_ids"][:5] == first.encoded["train"]["input_ids"][:5]


@pytest.mark.full_data
def test_val_from_train_holds_out_a_seeded_split(data_root):
    module = _module(DataSource(name="amazon_multidomain"), splits=Splits(val_from_train=0.1, test=None))
    assert len(module.raw["train"]) == 5400 and len(module.raw["validation"]) == 600
    again = _module(DataSource(name="amazon_multidomain"), splits=Splits(val_from_train=0.1, test=None))
    assert again.raw["validation"]["text"][:3] == module.raw["validation"]["text"][:3]


def test_string_labels_become_ids_in_sorted_order(tmp_path):
    rows = [{"text": f"t {i}", "label": name} for i, name in enumerate(["pos", "neg", "neutral", "pos"])]
    files = {"train": _jsonl(tmp_path / "train.jsonl", rows), "validation": _jsonl(tmp_path / "v.jsonl", rows[:2])}
    module = _module(DataSource(data_files=files), splits=Splits(test=None))
    assert module.num_classes == 3 and module.label_names == ["neg", "neutral", "pos"]
    assert module.raw["train"]["label"] == [2, 0, 1, 2]


def test_column_mapping(tmp_path):
    rows = [{"sentence": r["text"], "y": r["label"]} for r in _good_rows()]
    files = {"train": _jsonl(tmp_path / "train.jsonl", rows)}
    module = _module(DataSource(data_files=files, columns={"text": "sentence", "label": "y"}),
                     splits=Splits(validation=None, test=None))
    module.setup("fit")
    assert next(iter(module.train_dataloader()))["labels"].numel() == 8


# ---------------------------------------------------------------- bad input: one clear message, before training
def test_unknown_column_names_the_columns_and_the_fix(data_root):
    with pytest.raises(DataError, match=r"Column 'sentence' not found in split 'train' \(.*sst2/train.parquet\); "
                                        r"it has: text, label\. Map it with data.init_args.source.columns"):
        _ = _module(DataSource(name="sst2", columns={"text": "sentence"})).vocab_size


def test_unknown_split(data_root):
    with pytest.raises(DataError, match="has no split 'dev'"):
        _ = _module(DataSource(name="sst2"), splits=Splits(validation="dev")).vocab_size


def test_empty_split(tmp_path):
    pq.write_table(pa.table({"text": pa.array([], pa.string()), "label": pa.array([], pa.int64())}),
                   tmp_path / "validation.parquet")
    _jsonl(tmp_path / "train.jsonl", _good_rows())
    with pytest.raises(DataError, match=r"Split 'validation' \(.*validation.parquet\) has no rows"):
        _ = _module(DataSource(name=str(tmp_path)), splits=Splits(test=None)).num_classes


def test_non_text_values(tmp_path):
    (tmp_path / "train.csv").write_text("text,label\n1,0\n2,1\n")
    with pytest.raises(DataError, match=r"Column 'text' in split 'train' \(.*train.csv\) holds int64 values, not text"):
        _ = _module(DataSource(name=str(tmp_path)), splits=Splits(validation=None, test=None)).num_classes


def test_missing_text_names_the_row(tmp_path):
    rows = _good_rows()
    rows[5]["text"] = None
    files = {"train": _jsonl(tmp_path / "train.jsonl", rows)}
    with pytest.raises(DataError, match=r"Row 5 of column 'text' in split 'train' \(.*train.jsonl\) is empty"):
        _ = _module(DataSource(data_files=files), splits=Splits(validation=None, test=None)).num_classes


@pytest.mark.parametrize("bad_label, num_classes", [(2, 2), (-1, None), (7, 3)])
def test_label_outside_range_names_file_row_and_value(tmp_path, bad_label, num_classes):
    valid = _good_rows(6)
    valid[4]["label"] = bad_label
    files = {"train": _jsonl(tmp_path / "train.jsonl", _good_rows()),
             "validation": _jsonl(tmp_path / "valid.jsonl", valid)}
    pattern = rf"Row 4 of split 'validation' \(.*valid.jsonl\) has label {bad_label} in column 'label', outside 0\.\.1"
    if num_classes == 3:
        pattern = pattern.replace("0\\.\\.1", "0\\.\\.2")
    with pytest.raises(DataError, match=pattern):
        _ = _module(DataSource(data_files=files), num_classes=num_classes, splits=Splits(test=None)).num_classes


def test_single_class_training_split(tmp_path):
    rows = [dict(r, label=0) for r in _good_rows()]
    with pytest.raises(DataError, match="single class"):
        _ = _module(DataSource(data_files={"train": _jsonl(tmp_path / "t.jsonl", rows)}),
                    splits=Splits(validation=None, test=None)).num_classes


def test_tokenizer_file_that_does_not_load(tmp_path):
    bad = tmp_path / "tokenizer.json"
    bad.write_text("{}")
    files = {"train": _jsonl(tmp_path / "train.jsonl", _good_rows())}
    with pytest.raises(TokenizerError, match=rf"Could not load tokenizer {bad}"):
        _ = _module(DataSource(data_files=files), tokenizer=TokenizerConfig(path=str(bad)),
                    splits=Splits(validation=None, test=None)).vocab_size
