"""Documents/s of a hierarchical model with two-level batching against a loop over documents, same model and data."""

from __future__ import annotations

import statistics
import tempfile
import time
import warnings

import pyarrow.compute as pc
import torch
from jsonargparse.typing import PositiveInt

from seqkit.bench.timing import synchronize


def _batched_round(module, collate, table, batches: list[list[int]], train: bool, optimizer) -> float:
    """Seconds for all documents in ``batches``: one collated batch, one word-encoder call per batch."""
    start = time.perf_counter()
    for indices in batches:
        batch = collate(table.take(indices))
        _run(module, [batch], train, optimizer)
    synchronize(module.device)
    return time.perf_counter() - start


def _loop_round(module, collate, table, batches: list[list[int]], train: bool, optimizer) -> float:
    """Seconds for the same documents one at a time (same model; in training, gradients summed per batch)."""
    start = time.perf_counter()
    for indices in batches:
        _run(module, [collate(table.take([i])) for i in indices], train, optimizer)
    synchronize(module.device)
    return time.perf_counter() - start


def _run(module, parts: list[dict], train: bool, optimizer) -> None:
    from seqkit.tasks.hierarchical import INPUTS

    parts = [{name: value.to(module.device) if isinstance(value, torch.Tensor) else value
              for name, value in batch.items()} for batch in parts]

    if not train:
        with torch.no_grad():
            for batch in parts:
                module(*(batch[name] for name in INPUTS))
        return
    optimizer.zero_grad(set_to_none=True)
    for batch in parts:  # one document at a time: the batch's loss is the mean over its documents either way
        loss = torch.nn.functional.cross_entropy(module(*(batch[name] for name in INPUTS)), batch["labels"],
                                                 reduction="sum") / sum(len(p["labels"]) for p in parts)
        loss.backward()
    optimizer.step()


def bench(*, recipe: str = "reviews/yelp", documents: PositiveInt = 256, batch_size: PositiveInt | None = None,
          rounds: PositiveInt = 3, modes: str = "inference,train", threads: PositiveInt | None = None,
          device: str = "cpu") -> int:
    """Documents/s of a hierarchical model with two-level batching against a loop over documents, same model and data.

    Args:
        recipe: hierarchical recipe (model, data)
        documents: documents per round (from the validation split)
        batch_size: documents per batch (default: the recipe's)
        rounds: alternating batched / loop rounds per mode
        modes: comma-separated: inference, train
        threads: torch.set_num_threads (default: torch's)
        device: where the model runs (cpu, cuda)
    """
    if threads:
        torch.set_num_threads(threads)

    from seqkit.data.encoding import sequence_lengths
    from seqkit.data.sampler import BucketBatchSampler
    from seqkit.recipe_hub import resolve_recipe
    from seqkit.runner import SeqkitCLI

    warnings.filterwarnings("ignore", message="LightningCLI's args parameter")
    with tempfile.TemporaryDirectory() as tmp:
        recipe_file = resolve_recipe(recipe)
        cli = SeqkitCLI(args=["--config", recipe_file, "--run_dir", tmp, "--trainer.logger", "false"], run=False)
        module, data = cli.model, cli.datamodule
        data.setup("fit")
    role = "validation" if "validation" in data.encoded else "train"
    dataset = data.encoded[role]
    count = min(documents, len(dataset))
    table = dataset.with_format("arrow")[:count]
    collate = data.collator()
    batch_size = batch_size or data.batching.eval_batch_size
    sentence_counts = sequence_lengths(dataset.select(range(count)), data.length_column())
    batches = BucketBatchSampler(sentence_counts, batch_size, shuffle=False).batches()
    batches = [b.tolist() for b in batches]
    module.to(device)
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-4)
    words = pc.sum(pc.list_flatten(table.column("sentence_lengths"))).as_py() or 0

    hp, network = module.hparams, module.network.config
    words_encoder = network.encoder
    print(f"seqkit bench reviews: {recipe}")
    print(f"  model: {words_encoder.cell} HAN {words_encoder.embedding_dim}/{words_encoder.hidden_size}/"
          f"{network.sentence_hidden_size}, "
          f"vocab {hp['vocab_size']}; {count} {role} documents ({int(sentence_counts.sum())} sentences, {words} "
          f"tokens), batches of {batch_size} bucketed by sentence count; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, {device}")
    print("  documents/s (wall clock); loop = one document at a time through the same model, collation included")
    print("  {:<10} {:<6} {:>10} {:>10} {:>9}".format("mode", "round", "batched", "loop", "speed-up"))
    for mode in [m.strip() for m in modes.split(",") if m.strip()]:
        train = mode == "train"
        module.train(train)
        _batched_round(module, collate, table, batches[:2], train, optimizer)  # warm-up
        _loop_round(module, collate, table, batches[:1], train, optimizer)
        times = []
        for index in range(1, rounds + 1):  # interleaved, so drifting machine load hits both alike
            batched = _batched_round(module, collate, table, batches, train, optimizer)
            loop = _loop_round(module, collate, table, batches, train, optimizer)
            times.append((batched, loop))
            print(f"  {mode:<10} {index:<6} {count / batched:>10.1f} {count / loop:>10.1f} {loop / batched:>8.2f}x")
        batched = statistics.median(t[0] for t in times)
        loop = statistics.median(t[1] for t in times)
        print(f"  {mode:<10} {'median':<6} {count / batched:>10.1f} {count / loop:>10.1f} {loop / batched:>8.2f}x")
    return 0

