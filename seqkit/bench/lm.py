"""Training tokens/s of a seqkit LM recipe (Lightning) against a bare PyTorch loop on the same model and batches."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings

import lightning as L
import torch


class _StepTimer(L.Callback):
    """Wall time from the start of step ``skip`` to the end of the last step."""

    def __init__(self, skip: int) -> None:
        self.skip = skip
        self.start = self.end = 0.0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if batch_idx == self.skip:
            self.start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.end = time.perf_counter()


class _Replay:
    """Serves a fixed list of batches as one loader (a bare list would be read as several loaders)."""

    def __init__(self, batches: list) -> None:
        self.batches = batches

    def __iter__(self):
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)


def _lightning_round(module, batches, recipe_trainer: L.Trainer, warmup: int, log_dir: str) -> float:
    from lightning.pytorch.loggers import CSVLogger

    timer = _StepTimer(warmup)
    trainer = L.Trainer(
        max_steps=len(batches), max_epochs=1, accelerator=recipe_trainer.accelerator, devices=1,
        precision=recipe_trainer.precision, gradient_clip_val=recipe_trainer.gradient_clip_val,
        logger=CSVLogger(log_dir), enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, num_sanity_val_steps=0, limit_val_batches=0, use_distributed_sampler=False,
        callbacks=[timer],
    )
    trainer.fit(module, train_dataloaders=_Replay(batches))
    return timer.end - timer.start


def _bare_round(module, optimizer, batches, clip: float | None, warmup: int) -> float:
    """The same steps as ``LanguageModel.training_step`` plus Lightning's optimisation, written out by hand."""
    from seqkit.models.rnn_lm import detach_state

    net = module.model.train()
    params = [p for p in net.parameters() if p.requires_grad]
    state, start = None, 0.0
    for index, batch in enumerate(batches):
        if index == warmup:
            start = time.perf_counter()
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
        state = detach_state(state)
    return time.perf_counter() - start


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="seqkit bench lm", description=__doc__)
    parser.add_argument("--config", default="recipes/lm/wikitext2.yaml", help="LM recipe (model, data, trainer)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per round")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps at the start of each round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating Lightning / bare rounds")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    from seqkit.runner import SeqkitCLI

    warnings.filterwarnings("ignore", message="LightningCLI's args parameter")
    warnings.filterwarnings("ignore", message="You defined a `validation_step` but have no `val_dataloader`")
    warnings.filterwarnings("ignore", message="The number of training batches")
    with tempfile.TemporaryDirectory() as tmp:
        cli = SeqkitCLI(args=["--config", args.config, "--run_dir", tmp, "--trainer.logger", "false"], run=False)
        module, data = cli.model, cli.datamodule
        data.setup("fit")
        loader = data.train_dataloader()
        batches = []
        for batch in loader:
            batches.append(batch)
            if len(batches) == args.warmup + args.steps:
                break
        tokens = sum(b["input_ids"].numel() for b in batches[args.warmup :])
        optimizer = module.configure_optimizers()
        optimizer = optimizer["optimizer"] if isinstance(optimizer, dict) else optimizer
        clip = cli.trainer.gradient_clip_val
        seqkit_rates, bare_rates = [], []
        for _ in range(args.rounds):  # interleaved, so drifting machine load hits both alike
            seqkit_rates.append(tokens / _lightning_round(module, batches, cli.trainer, args.warmup, tmp))
            bare_rates.append(tokens / _bare_round(module, optimizer, batches, clip, args.warmup))

    shape = batches[0]["input_ids"].shape
    hp = module.hparams
    print(f"seqkit bench lm: {args.config}")
    print(f"  model: {hp['num_layers']}-layer {hp['cell']} {hp['embedding_dim']}/{hp['hidden_size']}, "
          f"vocab {hp['vocab_size']}, tied={hp['tie_weights']}; batch {shape[0]} x bptt {shape[1]}; "
          f"{args.steps} timed steps x {args.rounds} rounds; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, {cli.trainer.accelerator.__class__.__name__}")
    print(f"  {'round':<6} {'seqkit tok/s':>13} {'bare tok/s':>11} {'ratio':>7}")
    for index, (a, b) in enumerate(zip(seqkit_rates, bare_rates, strict=True), 1):
        print(f"  {index:<6} {a:>13.0f} {b:>11.0f} {a / b:>7.3f}")
    ratio = statistics.median(seqkit_rates) / statistics.median(bare_rates)
    print(f"  median: seqkit {statistics.median(seqkit_rates):.0f} tok/s, bare {statistics.median(bare_rates):.0f} "
          f"tok/s, ratio {ratio:.3f} (framework overhead {100 * (1 - ratio):.1f}%)")
    return 0
