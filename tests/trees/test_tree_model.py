"""Tree-LSTMs: level-wise batching equals the per-node recursion, batch mates do not matter, every node is trained,
and both cells learn a task that needs the tree."""

from __future__ import annotations

import random

import pyarrow.parquet as pq
import pytest
import torch
import torch.nn.functional as F

from seqkit.data.trees import IGNORE, ParsedTree, TreeCollator, parse_tree, tree_table
from seqkit.models.tree_lstm import TreeLSTM, TreeLSTMConfig, recursive_forward
from seqkit.tasks.tree import TreeClassifier

CELLS = ["constituency", "child_sum"]


@pytest.fixture(scope="module")
def sst(data_root) -> tuple[list[ParsedTree], list[list[int]], int]:
    """40 real validation trees with word ids from a vocabulary of their own words."""
    texts = pq.read_table(data_root / "sst_trees" / "validation.parquet").column("tree").to_pylist()[:40]
    trees = [parse_tree(text) for text in texts]
    vocab: dict[str, int] = {}
    ids = [[vocab.setdefault(word, len(vocab) + 1) for word in tree.leaves] for tree in trees]
    return trees, ids, len(vocab) + 1


def model(vocab: int, cell: str, dropout: float = 0.0, seed: int = 0) -> TreeLSTM:
    torch.manual_seed(seed)
    return TreeLSTM(vocab, 5, TreeLSTMConfig(embedding_dim=12, hidden_size=10, cell=cell, dropout=dropout))


def per_tree(outputs: torch.Tensor, batch: dict[str, torch.Tensor]) -> list[torch.Tensor]:
    """Split batch node outputs back into each tree's own node order."""
    ordered = outputs[batch["node_positions"]]
    return list(ordered.split(batch["tree_sizes"].tolist()))


@pytest.mark.parametrize("cell", CELLS)
def test_level_wise_equals_per_node_recursion(sst, cell):
    trees, ids, vocab = sst
    net = model(vocab, cell)
    batch = TreeCollator()(tree_table(trees, ids))
    level = per_tree(net(batch["input_ids"], batch["children"], batch["level_sizes"]), batch)
    level_loss = sum(F.cross_entropy(out, torch.tensor(t.labels), reduction="sum") for out, t in zip(level, trees))
    level_grads = torch.autograd.grad(level_loss, list(net.parameters()))
    recursive = [recursive_forward(net, torch.tensor(i), torch.tensor(t.children).reshape(-1, 2))
                 for t, i in zip(trees, ids, strict=True)]
    for a, b in zip(level, recursive, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    recursive_loss = sum(F.cross_entropy(out, torch.tensor(t.labels), reduction="sum")
                         for out, t in zip(recursive, trees))
    for a, b in zip(level_grads, torch.autograd.grad(recursive_loss, list(net.parameters())), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("cell", CELLS)
def test_outputs_do_not_depend_on_batch_mates(sst, cell):
    trees, ids, vocab = sst
    net = model(vocab, cell, dropout=0.5).eval()
    collate = TreeCollator()

    def outputs(indices: list[int]) -> list[torch.Tensor]:
        batch = collate(tree_table([trees[i] for i in indices], [ids[i] for i in indices]))
        return per_tree(net(batch["input_ids"], batch["children"], batch["level_sizes"]), batch)

    alone = outputs([7])[0]
    with_short = outputs([3, 7, 12])[1]
    with_others = outputs(list(range(39, 0, -1)))[39 - 7]
    torch.testing.assert_close(alone, with_short, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(alone, with_others, rtol=1e-5, atol=1e-6)


def test_loss_covers_every_labelled_node(sst):
    trees, ids, vocab = sst
    task = TreeClassifier(vocab, 5, network={"embedding_dim": 12, "hidden_size": 10, "dropout": 0.0})
    batch = TreeCollator()(tree_table(trees[:6], ids[:6]))
    _, loss = task._step(batch)
    outputs = [recursive_forward(task.network, torch.tensor(i), torch.tensor(t.children).reshape(-1, 2))
               for t, i in zip(trees[:6], ids[:6])]
    expected = F.cross_entropy(torch.cat(outputs), torch.tensor([y for t in trees[:6] for y in t.labels]))
    torch.testing.assert_close(loss, expected)
    # A phrase deep inside a tree (not the root) moves the loss; an unlabelled node does not.
    inner = int(batch["node_positions"][3])
    changed = dict(batch, node_labels=batch["node_labels"].clone())
    changed["node_labels"][inner] = (changed["node_labels"][inner] + 1) % 5
    assert task._step(changed)[1] != loss
    changed["node_labels"][inner] = IGNORE
    total = int((batch["node_labels"] != IGNORE).sum())
    torch.testing.assert_close(task._step(changed)[1] * (total - 1),
                               loss * total - F.cross_entropy(task.node_logits(batch)[inner : inner + 1],
                                                              batch["node_labels"][inner : inner + 1]))


def _xor_tree(rng: random.Random, leaves: int) -> tuple[ParsedTree, list[int]]:
    """A random binary tree over words ``a`` (id 1) / ``b`` (id 2); a node's label is the parity of its b's."""
    words = [rng.choice("ab") for _ in range(leaves)]

    def build(lo: int, hi: int) -> str:
        if hi - lo == 1:
            return f"({int(words[lo] == 'b')} {words[lo]})"
        cut = rng.randint(lo + 1, hi - 1)
        parity = sum(w == "b" for w in words[lo:hi]) % 2
        return f"({parity} {build(lo, cut)} {build(cut, hi)})"

    return parse_tree(build(0, leaves)), [1 if w == "a" else 2 for w in words]


@pytest.mark.parametrize("cell", CELLS)
def test_both_cells_learn_parity_over_trees(cell):
    rng = random.Random(0)
    data = [_xor_tree(rng, rng.randint(2, 6)) for _ in range(600)]
    held_out = [_xor_tree(rng, rng.randint(4, 6)) for _ in range(200)]
    collate = TreeCollator()
    torch.manual_seed(0)
    net = TreeLSTM(3, 2, TreeLSTMConfig(embedding_dim=8, hidden_size=24, cell=cell, dropout=0.0))
    optimizer = torch.optim.Adam(net.parameters(), lr=0.02)
    for step in range(250):
        chunk = [data[(step * 32 + k) % len(data)] for k in range(32)]
        batch = collate(tree_table([t for t, _ in chunk], [i for _, i in chunk]))
        loss = F.cross_entropy(net(batch["input_ids"], batch["children"], batch["level_sizes"]),
                               batch["node_labels"])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    batch = collate(tree_table([t for t, _ in held_out], [i for _, i in held_out]))
    with torch.no_grad():
        roots = net(batch["input_ids"], batch["children"], batch["level_sizes"])[batch["roots"]]
    accuracy = (roots.argmax(-1) == batch["labels"]).float().mean().item()
    assert accuracy > 0.9  # parity of 4-6 words: chance is 0.5, and no bag of words can do it
