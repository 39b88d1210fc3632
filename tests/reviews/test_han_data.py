"""HierarchicalDataModule on slices of the real review sets; the label_map option of text classification."""

from __future__ import annotations

import pytest

from seqkit.data import DataSource, HierarchicalDataModule, SentenceSplitter, TextClassificationDataModule
from seqkit.data.options import Batching, Splits
from seqkit.data.tokenizers import TokenizerConfig
from seqkit.errors import DataError

RATINGS = {1: 0, 2: 1, 3: 2, 4: 3, 7: 4, 8: 5, 9: 6, 10: 7}


def test_yelp_documents_become_sentences_and_two_level_batches(data_root):
    data = HierarchicalDataModule(
        DataSource("yelp_reviews"), TokenizerConfig(vocab_size=2000, lowercase=True),
        splitter=SentenceSplitter(max_sentences=6, max_words=12), max_words=10,
        batching=Batching(batch_size=8), splits=Splits(max_rows={"train": 120, "validation": 40, "test": 40}),
    )
    data.setup("fit")
    assert data.num_classes == 5
    row = data.encoded["train"][0]
    assert 1 <= len(row["sentence_lengths"]) <= 6 and max(row["sentence_lengths"]) <= 10
    assert sum(row["sentence_lengths"]) == len(row["input_ids"])
    batches = list(data.train_dataloader())
    assert sum(len(b["labels"]) for b in batches) == 120
    batch = batches[0]
    n, width = batch["sentence_ids"].shape
    assert width <= 10 and n == int(batch["document_mask"].sum()) == int(batch["sentence_lengths"].gt(0).sum())
    # Bucketing by sentence count: evaluation batches follow the documents sorted by their number of sentences.
    counts = [b["document_lengths"].tolist() for b in data.val_dataloader()]
    assert [c for batch in counts for c in batch] == sorted(c for batch in counts for c in batch)


@pytest.mark.full_data
def test_imdb_ratings_map_to_eight_classes_with_validation_held_out_of_train(data_root):
    data = HierarchicalDataModule(
        DataSource("imdb", columns={"label": "rating"}), TokenizerConfig(vocab_size=2000, lowercase=True),
        label_map=RATINGS, splits=Splits(validation=None, val_from_train=0.2, max_rows=100),
    )
    assert data.num_classes == 8
    assert len(data.raw["validation"]) == 100 and len(data.raw["train"]) == 100
    labels = set(data.raw["train"]["rating"]) | set(data.raw["test"]["rating"])
    assert labels <= set(range(8)) and len(labels) > 2


def test_flat_classifier_data_takes_the_same_label_map(data_root):
    data = TextClassificationDataModule(DataSource("imdb", columns={"label": "rating"}), label_map=RATINGS,
                                        splits=Splits(max_rows=60, validation=None, val_from_train=0.5))
    assert data.num_classes == 8
    batch = next(iter((data.setup("fit"), data.train_dataloader())[1]))
    assert batch["labels"].max() < 8


def test_a_label_missing_from_the_map_is_a_clear_error(data_root):
    data = TextClassificationDataModule(DataSource("imdb", columns={"label": "rating"}), label_map={1: 0, 10: 1},
                                        splits=Splits(max_rows=60, validation=None, val_from_train=0.5))
    with pytest.raises(DataError, match="label_map"):
        _ = data.num_classes
