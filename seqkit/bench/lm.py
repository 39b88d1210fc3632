"""Training tokens/s of a seqkit LM recipe (Lightning) against a bare PyTorch loop on the same model and batches."""

from __future__ import annotations

import statistics
import tempfile

import torch
from jsonargparse.typing import NonNegativeInt, PositiveInt

from seqkit.bench.timing import clocks, recipe_batches, timed_fit


def _bare_round(module, optimizer, batches, clip: float | None, warmup: int) -> tuple[float, float]:
    """The same steps as ``LanguageModel.training_step`` plus Lightning's optimisation, written out by hand."""
    from seqkit.models.rnn_lm import detach_layer_states

    net = module.network.train()
    params = [p for p in net.parameters() if p.requires_grad]
    state, start = None, (0.0, 0.0)
    for index, batch in enumerate(batches):
        if index == warmup:
            start = clocks()
        ids, targets = batch["input_ids"], batch["target_ids"]
        output, state, raw = net(ids, state)
        loss = net.loss(output, targets)
        if module.ar_alpha:
            loss = loss + module.ar_alpha * output.pow(2).mean()
        if module.tar_beta:
            loss = loss + module.tar_beta * (raw[:, 1:] - raw[:, :-1]).pow(2).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if clip:
            torch.nn.utils.clip_grad_norm_(params, clip)
        optimizer.step()
        state = detach_layer_states(state)
    end = clocks()
    return end[0] - start[0], end[1] - start[1]


def bench(*, recipe: str = "lm/wikitext2", steps: PositiveInt = 20, warmup: NonNegativeInt = 3,
          rounds: PositiveInt = 3, threads: PositiveInt | None = None) -> int:
    """Training tokens/s of a seqkit LM recipe (Lightning) against a bare PyTorch loop on the same model and batches.

    Args:
        recipe: LM recipe (model, data, trainer)
        steps: timed steps per round
        warmup: untimed steps at the start of each round
        rounds: alternating Lightning / bare rounds
        threads: CPU threads (default: seqkit's choice, printed)
    """
    with tempfile.TemporaryDirectory() as tmp:
        cli, batches = recipe_batches(recipe, warmup + steps, tmp, threads)
        module = cli.model
        tokens = sum(b["input_ids"].numel() for b in batches[warmup :])
        optimizer = module.configure_optimizers()
        optimizer = optimizer["optimizer"] if isinstance(optimizer, dict) else optimizer
        clip = cli.trainer.gradient_clip_val
        seqkit_times, bare_times = [], []
        for _ in range(rounds):  # interleaved, so drifting machine load hits both alike
            seqkit_times.append(timed_fit(module, batches, cli.trainer, warmup, tmp))
            bare_times.append(_bare_round(module, optimizer, batches, clip, warmup))

    shape = batches[0]["input_ids"].shape
    net = module.hparams["network"]
    print(f"seqkit bench lm: {recipe}")
    print(f"  model: {net['num_layers']}-layer {net['cell']} {net['embedding_dim']}/{net['hidden_size']}, "
          f"vocab {module.hparams['vocab_size']}, tied={net['tie_weights']}; batch {shape[0]} x bptt {shape[1]}; "
          f"{steps} timed steps x {rounds} rounds; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, {cli.trainer.accelerator.__class__.__name__}")
    print("  tok/s per wall-clock second, and per CPU second of this process (robust to other load)")
    header = ("round", "seqkit wall", "bare wall", "ratio", "seqkit cpu", "bare cpu", "ratio")
    print("  {:<6} {:>12} {:>10} {:>6}   {:>11} {:>9} {:>6}".format(*header))
    for index, (a, b) in enumerate(zip(seqkit_times, bare_times, strict=True), 1):
        print(f"  {index:<6} {tokens / a[0]:>12.0f} {tokens / b[0]:>10.0f} {b[0] / a[0]:>6.3f}   "
              f"{tokens / a[1]:>11.0f} {tokens / b[1]:>9.0f} {b[1] / a[1]:>6.3f}")
    wall = statistics.median(b[0] for b in bare_times) / statistics.median(a[0] for a in seqkit_times)
    cpu = statistics.median(b[1] for b in bare_times) / statistics.median(a[1] for a in seqkit_times)
    print(f"  median ratio seqkit/bare: wall {wall:.3f}, cpu {cpu:.3f} "
          f"(framework overhead {100 * (1 - wall):.1f}% wall, {100 * (1 - cpu):.1f}% cpu)")
    return 0
