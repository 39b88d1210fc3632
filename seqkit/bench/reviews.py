"""Documents/s of a hierarchical model with two-level batching against a loop over documents, same model and data."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings

import pyarrow.compute as pc
import torch


def _batched_round(module, collate, table, batches: list[list[int]], train: bool, optimizer) -> float:
    """Seconds for all documents in ``batches``: one collated batch, one word-encoder call per batch."""
    start = time.perf_counter()
    for indices in batches:
        batch = collate(table.take(indices))
        _run(module, [batch], train, optimizer)
    return time.perf_counter() - start


def _loop_round(module, collate, table, batches: list[list[int]], train: bool, optimizer) -> float:
    """Seconds for the same documents one at a time (same model; in training, gradients summed per batch)."""
    start = time.perf_counter()
    for indices in batches:
        _run(module, [collate(table.take([i])) for i in indices], train, optimizer)
    return time.perf_counter() - start


def _run(module, parts: list[dict], train: bool, optimizer) -> None:
    from seqkit.tasks.hierarchical import INPUTS

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


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="seqkit bench reviews", description=__doc__)
    parser.add_argument("--config", default="reviews/yelp", help="hierarchical recipe (model, data)")
    parser.add_argument("--documents", type=int, default=256, help="documents per round (from the validation split)")
    parser.add_argument("--batch-size", type=int, default=None, help="documents per batch (default: the recipe's)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating batched / loop rounds per mode")
    parser.add_argument("--modes", default="inference,train", help="comma-separated: inference, train")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    from seqkit.data.encoding import sequence_lengths
    from seqkit.data.sampler import BucketBatchSampler
    from seqkit.recipe_hub import resolve_recipe
    from seqkit.runner import SeqkitCLI

    warnings.filterwarnings("ignore", message="LightningCLI's args parameter")
    with tempfile.TemporaryDirectory() as tmp:
        recipe = resolve_recipe(args.config)
        cli = SeqkitCLI(args=["--config", recipe, "--run_dir", tmp, "--trainer.logger", "false"], run=False)
        module, data = cli.model, cli.datamodule
        data.setup("fit")
    role = "validation" if "validation" in data.encoded else "train"
    dataset = data.encoded[role]
    count = min(args.documents, len(dataset))
    table = dataset.with_format("arrow")[:count]
    collate = data.collator()
    batch_size = args.batch_size or data.batching.eval_batch_size
    sentence_counts = sequence_lengths(dataset.select(range(count)), data.length_column())
    batches = BucketBatchSampler(sentence_counts, batch_size, shuffle=False).batches()
    batches = [b.tolist() for b in batches]
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-4)
    words = pc.sum(pc.list_flatten(table.column("sentence_lengths"))).as_py() or 0

    hp, words_encoder = module.hparams, module.network.config.encoder
    print(f"seqkit bench reviews: {args.config}")
    print(f"  model: {words_encoder.cell} HAN {words_encoder.embedding_dim}/{words_encoder.hidden_size}/"
          f"{hp['sentence_hidden_size']}, "
          f"vocab {hp['vocab_size']}; {count} {role} documents ({int(sentence_counts.sum())} sentences, {words} "
          f"tokens), batches of {batch_size} bucketed by sentence count; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    print("  documents/s (wall clock); loop = one document at a time through the same model, collation included")
    print("  {:<10} {:<6} {:>10} {:>10} {:>9}".format("mode", "round", "batched", "loop", "speed-up"))
    for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
        train = mode == "train"
        module.train(train)
        _batched_round(module, collate, table, batches[:2], train, optimizer)  # warm-up
        _loop_round(module, collate, table, batches[:1], train, optimizer)
        times = []
        for index in range(1, args.rounds + 1):  # interleaved, so drifting machine load hits both alike
            batched = _batched_round(module, collate, table, batches, train, optimizer)
            loop = _loop_round(module, collate, table, batches, train, optimizer)
            times.append((batched, loop))
            print(f"  {mode:<10} {index:<6} {count / batched:>10.1f} {count / loop:>10.1f} {loop / batched:>8.2f}x")
        batched = statistics.median(t[0] for t in times)
        loop = statistics.median(t[1] for t in times)
        print(f"  {mode:<10} {'median':<6} {count / batched:>10.1f} {count / loop:>10.1f} {loop / batched:>8.2f}x")
    return 0

