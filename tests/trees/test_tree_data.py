"""Parsing treebank bracketings, binarisation, and the level-by-level collation of tree batches."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from seqkit.data.options import Batching, Splits
from seqkit.data.sources import DataSource
from seqkit.data.trees import (
    IGNORE,
    TreeCollator,
    TreeDataModule,
    format_tree,
    parse_tree,
    tree_table,
)
from seqkit.errors import DataError


@pytest.fixture(scope="module")
def real_trees(data_root) -> list[str]:
    table = pq.read_table(data_root / "sst_trees" / "validation.parquet")
    return table.column("tree").to_pylist()[:300]


def test_real_rows_round_trip_and_count_nodes(data_root, real_trees):
    table = pq.read_table(data_root / "sst_trees" / "validation.parquet").slice(0, 300).to_pylist()
    for row, text in zip(table, real_trees, strict=True):
        tree = parse_tree(text)
        assert format_tree(tree) == text  # SST trees are binary: the bracketing comes back character for character
        assert " ".join(tree.leaves) == row["text"]
        assert tree.num_nodes == 2 * len(tree.leaves) - 1 == text.count("(")
        assert tree.labels[-1] == row["label"] and all(0 <= label <= 4 for label in tree.labels)
        count = len(tree.leaves)
        for index, (left, right) in enumerate(tree.children):  # children come first; height = 1 + highest child
            node = count + index
            assert left < node and right < node
            child_heights = [0 if c < count else tree.heights[c - count] for c in (left, right)]
            assert tree.heights[index] == max(child_heights) + 1


def test_escapes_binarisation_and_unary_nodes():
    tree = parse_tree(r"(3 (2 a\/b) (4 (2 is) (4 good) (2 \*)) (2 (1 (2 .))))")
    assert tree.leaves == ["a/b", "is", "good", "*", "."]
    # (is good *) -> (is (good *)) with the added node unlabelled; the ternary root -> (a/b ((is ...) .)) likewise;
    # (2 (1 (2 .))) is one leaf that keeps the top label.
    assert tree.children == [(2, 3), (1, 5), (6, 4), (0, 7)]
    assert tree.labels == [2, 2, 4, 2, 2, IGNORE, 4, IGNORE, 3]
    assert tree.heights == [1, 2, 3, 4]
    assert parse_tree("(2 -LRB-)").leaves == ["("]


@pytest.mark.parametrize("bad", ["", "word", "(2 a", "(2 a))", "(a b)", "(2 ())", "(2 a) (2 b)"])
def test_malformed_trees_are_errors(bad):
    with pytest.raises(ValueError):
        parse_tree(bad)


def test_collator_schedules_levels(real_trees):
    trees = [parse_tree(text) for text in real_trees[:40]]
    ids = [[i + 1 for i in range(len(t.leaves))] for t in trees]
    batch = TreeCollator()(tree_table(trees, ids))
    sizes = batch["level_sizes"].tolist()
    leaves, total = sizes[0], sum(sizes)
    assert leaves == sum(len(t.leaves) for t in trees) and total == sum(t.num_nodes for t in trees)
    assert sorted(batch["node_positions"].tolist()) == list(range(total))  # a permutation of the nodes
    # Every child is in a lower level than its parent (so one call per level sees finished children).
    level_of = np.repeat(np.arange(len(sizes)), sizes)
    parents = np.arange(leaves, total)
    children = batch["children"].numpy()
    assert np.all(level_of[children].max(1) == level_of[parents] - 1)
    # Labels, roots and leaves follow the nodes to their new places.
    start = 0
    for tree, count in zip(trees, batch["tree_sizes"].tolist(), strict=True):
        where = batch["node_positions"][start : start + count]
        assert batch["node_labels"][where].tolist() == tree.labels
        start += count
    assert batch["labels"].tolist() == [t.labels[-1] for t in trees]
    assert batch["node_labels"][batch["roots"]].tolist() == batch["labels"].tolist()


def test_single_word_tree_batches():
    trees = [parse_tree("(3 fine)"), parse_tree("(1 (2 not) (3 fine))")]
    batch = TreeCollator()(tree_table(trees, [[5], [6, 5]]))
    assert batch["level_sizes"].tolist() == [3, 1]
    assert batch["roots"].tolist() == [0, 3]


@pytest.mark.full_data
@pytest.mark.parametrize(("task", "sizes"), [("fine", (8544, 1101, 2210)), ("binary", (6920, 872, 1821))])
def test_datamodule_split_sizes_and_labels(data_root, task, sizes):
    data = TreeDataModule(DataSource(name="sst_trees"), task=task)
    assert tuple(len(data.raw[role]) for role in ("train", "validation", "test")) == sizes
    assert data.num_classes == (5 if task == "fine" else 2)
    labels = np.concatenate([np.asarray(r, dtype=np.int64) for r in data.raw["validation"]["node_labels"][:50]])
    allowed = {0, 1, 2, 3, 4} if task == "fine" else {0, 1, IGNORE}
    assert set(labels.tolist()) <= allowed


def test_datamodule_batches_with_max_rows(data_root):
    data = TreeDataModule(DataSource(name="sst_trees"), task="binary", batching=Batching(batch_size=16),
                          splits=Splits(max_rows=200))
    data.setup("fit")
    assert len(data.raw["train"]) <= 200
    batch = next(iter(data.train_dataloader()))
    assert len(batch["labels"]) <= 16 and set(batch["labels"].tolist()) <= {0, 1}
    assert len(batch["input_ids"]) == batch["level_sizes"][0]


def test_split_punctuation_tokenizer_is_refused(data_root):
    from seqkit.data.tokenizers import TokenizerConfig

    data = TreeDataModule(DataSource(name="sst_trees"), tokenizer=TokenizerConfig(kind="bpe", vocab_size=300),
                          splits=Splits(max_rows=50))
    with pytest.raises(DataError, match="one token"):
        data.setup("fit")
