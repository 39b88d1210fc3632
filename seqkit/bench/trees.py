"""Trees/s of a Tree-LSTM computed level by level against a per-node recursion, same model, weights and trees."""

from __future__ import annotations

import statistics
import time

import torch
from jsonargparse.typing import PositiveInt


def _level_round(model, collate, table, batches: list[list[int]], train: bool, optimizer) -> float:
    """Seconds for every tree in ``batches``: one collated batch, one cell call per tree height."""
    start = time.perf_counter()
    for indices in batches:
        batch = collate(table.take(indices))
        _run(model, [(model(batch["input_ids"], batch["children"], batch["level_sizes"]), batch["node_labels"])],
             train, optimizer)
    return time.perf_counter() - start


def _node_round(model, trees, batches: list[list[int]], train: bool, optimizer) -> float:
    """Seconds for the same trees one at a time, one cell call per node (gradients summed per batch)."""
    from seqkit.models.tree_lstm import recursive_forward

    start = time.perf_counter()
    for indices in batches:
        with torch.set_grad_enabled(train):
            outputs = [(recursive_forward(model, trees[i][0], trees[i][1]), trees[i][2]) for i in indices]
        _run(model, outputs, train, optimizer)
    return time.perf_counter() - start


def _run(model, outputs: list[tuple[torch.Tensor, torch.Tensor]], train: bool, optimizer) -> None:
    if not train:
        return
    from seqkit.data.trees import IGNORE

    logits = torch.cat([out for out, _ in outputs])
    labels = torch.cat([labels for _, labels in outputs])
    optimizer.zero_grad(set_to_none=True)
    torch.nn.functional.cross_entropy(logits, labels, ignore_index=IGNORE).backward()
    optimizer.step()


def compare_outputs(model, collate, table, trees, indices: list[int]) -> float:
    """Largest absolute difference between level-wise and per-node node logits over the trees ``indices``."""
    from seqkit.models.tree_lstm import recursive_forward

    model.eval()
    with torch.no_grad():
        batch = collate(table.take(indices))
        level = model(batch["input_ids"], batch["children"], batch["level_sizes"])[batch["node_positions"]]
        node = torch.cat([recursive_forward(model, trees[i][0], trees[i][1]) for i in indices])
    return (level - node).abs().max().item()


def bench(*, split: str = "validation", trees: PositiveInt = 250, batch_size: PositiveInt = 25,
          embedding_dim: PositiveInt = 300, hidden_size: PositiveInt = 150, cells: str = "constituency,child_sum",
          rounds: PositiveInt = 3, modes: str = "inference,train", threads: PositiveInt | None = None) -> int:
    """Trees/s of a Tree-LSTM computed level by level against a per-node recursion, same model, weights and trees.

    Args:
        split: treebank split to read ($SEQKIT_DATA_DIR/sst_trees)
        trees: trees per round
        batch_size: trees per batch
        embedding_dim: word embedding size
        hidden_size: Tree-LSTM hidden size
        cells: comma-separated cells to measure
        rounds: alternating level-wise / per-node rounds per mode
        modes: comma-separated: inference, train
        threads: torch.set_num_threads (default: torch's)
    """
    if threads:
        torch.set_num_threads(threads)

    from seqkit.data.options import Splits
    from seqkit.data.sampler import BucketBatchSampler
    from seqkit.data.sources import DataSource
    from seqkit.data.trees import TreeDataModule
    from seqkit.models.tree_lstm import TreeLSTM, TreeLSTMConfig

    role = "validation" if split != "train" else "train"
    data = TreeDataModule(DataSource(name="sst_trees"), splits=Splits(
        validation=split if role == "validation" else None, test=None, max_rows={role: trees}))
    dataset = data.encode(role, data.raw[role])
    table = dataset.with_format("arrow")[:]
    count = len(table)
    collate = data.collator()
    examples = []
    for row in table.to_pylist():  # the per-node baseline gets each tree's tensors ready-made, outside the timing
        examples.append((torch.tensor(row["input_ids"]), torch.tensor(row["children"]).reshape(-1, 2),
                      torch.tensor(row["node_labels"])))
    lengths = torch.tensor([len(t[0]) for t in examples]).numpy()
    batches = [b.tolist() for b in BucketBatchSampler(lengths, batch_size, shuffle=False).batches()]
    nodes = sum(len(t[2]) for t in examples)

    print(f"seqkit bench trees: {count} SST {split} trees ({nodes} nodes), batches of {batch_size}; "
          f"embedding {embedding_dim}, hidden {hidden_size}; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    print("  trees/s (wall clock); per-node = recursion over one tree's nodes, one cell call per node")
    print("  {:<13} {:<10} {:<6} {:>10} {:>10} {:>9}".format("cell", "mode", "round", "level", "per-node",
                                                             "speed-up"))
    for cell in [c.strip() for c in cells.split(",") if c.strip()]:
        torch.manual_seed(0)
        model = TreeLSTM(data.vocab_size, 5, TreeLSTMConfig(embedding_dim, hidden_size, cell))
        difference = compare_outputs(model, collate, table, examples, list(range(min(count, 50))))
        print(f"  {cell:<13} outputs: largest |level - per-node| over {min(count, 50)} trees = {difference:.2e}")
        optimizer = torch.optim.Adagrad(model.parameters(), lr=0.05)
        for mode in [m.strip() for m in modes.split(",") if m.strip()]:
            train = mode == "train"
            model.train(train)
            with torch.set_grad_enabled(train):
                _level_round(model, collate, table, batches[:2], train, optimizer)  # warm-up
                _node_round(model, examples, batches[:1], train, optimizer)
                times = []
                for index in range(1, rounds + 1):  # interleaved, so drifting load hits both alike
                    level = _level_round(model, collate, table, batches, train, optimizer)
                    node = _node_round(model, examples, batches, train, optimizer)
                    times.append((level, node))
                    print(f"  {cell:<13} {mode:<10} {index:<6} {count / level:>10.1f} {count / node:>10.1f} "
                          f"{node / level:>8.2f}x")
            level = statistics.median(t[0] for t in times)
            node = statistics.median(t[1] for t in times)
            print(f"  {cell:<13} {mode:<10} {'median':<6} {count / level:>10.1f} {count / node:>10.1f} "
                  f"{node / level:>8.2f}x")
    return 0
