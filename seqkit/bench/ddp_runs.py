"""The runs behind ``seqkit bench ddp``, made by every process of a distributed launch (and by one process alone).

Each task family is a tiny version of one of its recipes, trained and evaluated through the ``seqkit`` CLI itself
(``seqkit.cli.main``, several runs in one process: the process group is set up once). In ``train`` mode (under
torchrun, several processes) a family is trained for two epochs, trained again but stopped in the middle of its
second epoch (``--trainer.max_steps``) and resumed (``--ckpt_path last``), tested, and (where the task predicts)
predicted from. In ``evaluate`` mode (one process) the same checkpoint is tested again.
:class:`~seqkit.bench.ddp_probe.Probe` records on every rank what the comparisons need: a digest of the weights
after training, the examples each rank evaluated.

Run by :mod:`seqkit.bench.ddp`: ``python -m seqkit.bench.ddp_runs --mode train --out DIR`` under torchrun.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from seqkit.bench.ddp_probe import Probe as Probe  # --trainer.callbacks+=seqkit.bench.ddp_runs.Probe
from seqkit.bench.ddp_probe import last_metrics, newest_run, output_files, read_probe, run_folders
from seqkit.cli import main as seqkit_main
from seqkit.distributed import leave_process_group, rank_and_size

TINY = ["--trainer.num_sanity_val_steps", "0", "--trainer.enable_progress_bar", "false",
        "--trainer.enable_model_summary", "false", "--trainer.log_every_n_steps", "1", "--threads", "1"]


@dataclass(frozen=True)
class Family:
    """A task family as ``seqkit bench ddp`` runs it: a shipped recipe made tiny by ``overrides``.

    Args:
        name: The row of the table.
        recipe: The recipe (``task/name``).
        overrides: Options that shrink it (rows, sizes) and add the callbacks under test.
        resume: Whether the stop-and-resume comparison applies (a model fitted in one pass without optimizer
            steps has no step to stop at).
        predict: Whether ``seqkit predict`` is run too (its file must hold each test row once).
        after: A family whose trained run this one starts from; ``overrides`` may name it as ``{after}``.
        strategy: The DDP strategy of the training runs.
    """

    name: str
    recipe: str
    overrides: tuple[str, ...] = ()
    resume: bool = True
    predict: bool = False
    after: str | None = None
    strategy: str = "ddp"


def _rows(train: int, validation: int, test: int) -> tuple[str, ...]:
    prefix = "--data.init_args.splits.max_rows"
    return (f"{prefix}.train", str(train), f"{prefix}.validation", str(validation), f"{prefix}.test", str(test))


FAMILIES: tuple[Family, ...] = (
    Family("sentiment (BiGRU classifier)", "sentiment/sst2_tiny", _rows(320, 64, 101), predict=True),
    Family("sentiment + TimeBudgetDecay", "sentiment/sst2_tiny", (
        *_rows(320, 64, 101), "--trainer.max_time", "00:00:10:00", "--trainer.max_epochs", "1",
        "--trainer.callbacks+=seqkit.callbacks.TimeBudgetDecay", "--trainer.callbacks.decay_fraction", "1.0"),
        resume=False),
    Family("language model + NT-ASGD", "lm/tiny", (
        *_rows(240, 40, 40), "--data.init_args.batching.batch_size", "8",
        "--data.init_args.batching.eval_batch_size", "5", "--trainer.callbacks+=seqkit.callbacks.NTASGD",
        "--trainer.callbacks.nonmono", "1")),
    Family("translation (attention seq2seq)", "translation/tiny", (
        *_rows(256, 40, 41), "--trainer.max_epochs", "2", "--model.init_args.beam_size", "2")),
    Family("reviews (HAN)", "reviews/tiny", _rows(128, 30, 31)),
    Family("trees (Tree-LSTM)", "trees/sst5", (
        *_rows(200, 40, 41), "--trainer.max_epochs", "2", "--model.init_args.network.embedding_dim", "32",
        "--model.init_args.network.hidden_size", "32")),
    Family("forecasting (LSTM)", "forecasting/etth1_lstm", (
        "--data.init_args.splits.max_rows.train", "256", "--data.init_args.splits.max_rows.validation", "64",
        "--data.init_args.splits.max_rows.test", "65", "--data.init_args.lookback", "24",
        "--data.init_args.horizon", "12", "--model.init_args.network.hidden_size", "16", "--trainer.max_epochs", "2"),
        predict=True),
    Family("CNN + BiLSTM classifier", "sentiment/sst2_cnn_lstm", (
        *_rows(320, 64, 101), "--trainer.max_epochs", "2", "--data.init_args.batching.batch_size", "32",
        "--model.init_args.network.embedding_dim", "32", "--model.init_args.network.channels", "16",
        "--model.init_args.network.hidden_size", "16")),
    Family("character-CNN language model", "lm/ptb_char_cnn", (
        *_rows(300, 60, 60), "--trainer.max_epochs", "2", "--data.init_args.batching.batch_size", "8",
        "--data.init_args.batching.eval_batch_size", "5", "--model.init_args.network.filters",
        "{1: 8, 2: 8, 3: 8}", "--model.init_args.network.hidden_size", "32")),
    Family("echo-state classifier", "esn/sst2", (
        *_rows(320, 64, 101), "--model.init_args.network.reservoir.reservoir_size", "100"), resume=False),
    Family("echo-state language model", "esn/ptb", (
        *_rows(300, 60, 60), "--trainer.max_epochs", "2", "--data.init_args.batching.batch_size", "8",
        "--data.init_args.batching.eval_batch_size", "5",
        "--model.init_args.network.reservoir.reservoir_size", "100")),
    Family("history compressor", "compressor/ptb_chars", (
        *_rows(120, 30, 30), "--trainer.max_epochs", "2", "--data.init_args.batching.batch_size", "4",
        "--data.init_args.batching.eval_batch_size", "5", "--data.init_args.bptt", "64",
        "--model.init_args.network.lower_size", "32", "--model.init_args.network.higher_size", "32")),
    Family("spoken digits (speech classifier)", "speech/fsdd_digits", (
        *_rows(256, 40, 41), "--trainer.max_epochs", "2", "--model.init_args.network.hidden_size", "16",
        "--model.init_args.network.num_layers", "1"), predict=True),
    Family("connected digits (CTC recogniser)", "speech/fsdd_connected", (
        "--data.init_args.composition.train_utterances", "128", "--data.init_args.composition.eval_utterances", "41",
        "--data.init_args.composition.max_words", "3", "--trainer.max_epochs", "2",
        "--model.init_args.network.hidden_size", "16", "--model.init_args.network.num_layers", "1")),
    Family("ULMFiT fine-tuning + GradualUnfreezing", "sentiment/sst2_tiny", (
        *_rows(320, 64, 101), "--model.init_args.pretrained_lm", "{after}/checkpoints/last.ckpt",
        "--data.init_args.tokenizer.path", "{after}/tokenizer", "--model.init_args.layer_lr_decay", "2.6",
        "--trainer.callbacks+=seqkit.callbacks.GradualUnfreezing", "--trainer.callbacks.every", "2",
        "--trainer.callbacks.interval", "step"),
        after="language model + NT-ASGD", strategy="ddp_find_unused_parameters_true"),
)


# ---------------------------------------------------------------------------------------------- the runs of a family
#: The fully trained run of each family trained in this process (a later family may start from one).
TRAINED: dict[str, Path] = {}


@dataclass
class Runs:
    """One family's runs in one launch, and how to make them.

    Args:
        family: The family.
        folder: Its folder of runs (``<out>/<family>``).
        devices, nodes: Processes per node and nodes of this launch (1 and 1 in ``evaluate`` mode).
        accelerator: ``cpu`` or ``gpu``.
        strategy: The DDP strategy, instead of the family's.
        unnamed: Train without ``--run_dir``: rank zero names the run folder, the other ranks learn it.
        resume: Stop and resume too (where the family can).
    """

    family: Family
    folder: Path
    devices: int = 1
    nodes: int = 1
    accelerator: str = "cpu"
    strategy: str | None = None
    unnamed: bool = False
    resume: bool = True
    result: dict[str, Any] = field(default_factory=dict)

    def devices_options(self) -> list[str]:
        options = ["--trainer.accelerator", self.accelerator, "--trainer.devices", str(self.devices),
                   "--trainer.num_nodes", str(self.nodes)]
        one = self.devices * self.nodes == 1  # a run's own config may name a DDP strategy: one process needs none
        return [*options, "--trainer.strategy", "auto" if one else self.strategy or self.family.strategy]

    def seqkit(self, command: str, *args: str) -> None:
        code = seqkit_main([command, *args])
        if code:
            raise RuntimeError(f"seqkit {command} exited with {code}")

    def fit(self, run: str, *extra: str, named: bool = True) -> Path:
        """``seqkit fit`` of the family's recipe into ``<folder>/<run>`` (or, not ``named``, into the folder rank zero
        names under ``SEQKIT_RUNS_DIR``)."""
        trained = str(TRAINED.get(self.family.after, "")) if self.family.after else ""
        options = [option.replace("{after}", trained) for option in self.family.overrides]
        folder = self.folder / run
        where = ["--run_dir", str(folder)] if named else []
        self.seqkit("fit", "--config", self.family.recipe, *where, *TINY, *self.devices_options(), *options,
                    "--trainer.callbacks+=seqkit.bench.ddp_probe.Probe", *extra)
        return folder if named else newest_run(self.family.recipe)

    def evaluate(self, command: str, trained: Path, checkpoint: Path) -> Path:
        """``seqkit test`` / ``predict`` of ``checkpoint`` with the run's own configuration (its probe included)
        into ``<folder>/<command>-<processes>``."""
        folder = self.folder / f"{command}-{self.devices * self.nodes}"
        self.seqkit(command, "--config", str(trained / "config.yaml"), "--ckpt_path", str(checkpoint), "--run_dir",
                    str(folder), *TINY, *self.devices_options())
        return folder

    def train(self) -> None:
        """Fit and test (``--test_after_fit``), stop and resume, predict; record what each rank saw."""
        full = TRAINED[self.family.name] = self.fit("full", "--test_after_fit", "true", named=not self.unnamed)
        checkpoint = full / "checkpoints" / "best.ckpt"  # what --test_after_fit tested
        checkpoint = checkpoint if checkpoint.is_file() else full / "checkpoints" / "last.ckpt"
        steps = torch.load(full / "checkpoints" / "last.ckpt", weights_only=True)["global_step"]
        self.record(full=str(full), steps=steps, checkpoint=str(checkpoint),
                    digests=lambda: read_probe(full, "fit")["digests"], test=lambda: last_metrics(full, "test_"),
                    test_probe=lambda: read_probe(full, "test"), files=lambda: output_files(full),
                    run_folders=lambda: run_folders(full))
        if self.family.resume and self.resume:
            self.stop_and_resume(full, "stopped")
        if self.family.predict:
            self.predict(full, checkpoint)

    def stop_and_resume(self, full: Path, run: str, request: bool = False) -> None:
        """Train again, stop in the middle of the second epoch, resume (``--ckpt_path last``). The stop is
        ``--trainer.max_steps``, or with ``request`` a stop requested by a callback (``trainer.should_stop``, as
        ``--trainer.max_time`` and early stopping do)."""
        # Every rank reads the same finished checkpoint (written before fit returned): all stop at the same step.
        steps = torch.load(full / "checkpoints" / "last.ckpt", weights_only=True)["global_step"]
        stop = steps // 2 + max(1, steps // 4)
        how = ["--trainer.callbacks+=seqkit.bench.timing.StopAfterStep", "--trainer.callbacks.step", str(stop)] \
            if request else ["--trainer.max_steps", str(stop)]
        self.fit(run, *how)
        resumed = self.fit(run, "--ckpt_path", "last")
        self.record(**{f"{run}_at": [stop, steps], f"{run}_digests": lambda: read_probe(resumed, "fit")["digests"]})

    def resume_on_one_process(self) -> None:
        """Train on this (one) process, then stop and resume, to compare."""
        full = self.fit("full-1")
        self.record(**{"full-1_digests": lambda: read_probe(full, "fit")["digests"]})
        self.stop_and_resume(full, "stopped-1", request=True)

    def test(self) -> None:
        """Test the checkpoint the processes tested, in this (one) process."""
        trained = json.loads((self.folder / "train.json").read_text())
        full, checkpoint = Path(trained["full"]), Path(trained["checkpoint"])
        folder = self.evaluate("test", full, checkpoint)
        self.record(test=lambda: last_metrics(folder, "test_"), test_probe=lambda: read_probe(folder, "test"),
                    files=lambda: output_files(folder))
        if self.family.predict:
            self.predict(full, checkpoint)

    def predict(self, full: Path, checkpoint: Path) -> None:
        folder = self.evaluate("predict", full, checkpoint)
        self.record(predict_probe=lambda: read_probe(folder, "predict"), predicted=lambda: output_files(folder))

    def record(self, **values: Any) -> None:
        """Rank zero (which wrote the files read here) records ``values``, calling those that are functions."""
        if rank_and_size()[0] == 0:
            self.result.update({key: value() if callable(value) else value for key, value in values.items()})


def slug(name: str | None) -> str:
    return "".join(c if c.isalnum() else "-" for c in (name or "").lower()).strip("-")


def run(mode: str, out: Path, families: list[str], accelerator: str = "cpu", devices: int = 1, nodes: int = 1,
        strategy: str | None = None, unnamed: bool = False, resume: list[str] | None = None,
        resume_one_process: list[str] = ()) -> None:
    """Every family's runs of ``mode`` (``train``: all processes of this launch; ``evaluate``: one process); rank
    zero writes ``<out>/<family>/<mode>.json``. A family that fails is recorded with its error; the others run."""
    for family in FAMILIES:
        if family.name not in families:
            continue
        folder = out / slug(family.name)
        if mode == "train":
            runs = Runs(family, folder, devices, nodes, accelerator, strategy, unnamed,
                        resume is None or family.name in resume)
        else:
            runs = Runs(family, folder, accelerator=accelerator)
        started = time.perf_counter()
        try:
            if mode == "train":
                runs.train()
            else:
                runs.test()
                if family.name in resume_one_process:
                    runs.resume_on_one_process()
        except Exception as error:  # noqa: BLE001 - recorded in the table; the other families still run
            runs.result["error"] = f"{type(error).__name__}: {error}"
            traceback.print_exc()
        runs.record(seconds=round(time.perf_counter() - started, 1))
        if rank_and_size()[0] == 0:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{mode}.json").write_text(json.dumps(runs.result, indent=1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("train", "evaluate"), required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--families", default=None, help="JSON list of family names (default: all)")
    parser.add_argument("--accelerator", default="cpu")
    parser.add_argument("--devices", type=int, default=1, help="processes per node (train)")
    parser.add_argument("--nodes", type=int, default=1, help="nodes (train)")
    parser.add_argument("--strategy", default=None, help="DDP strategy instead of each family's (train)")
    parser.add_argument("--unnamed", action="store_true", help="train without --run_dir (train)")
    parser.add_argument("--resume", default=None, help="JSON list of the families to stop and resume (train; "
                        "default: every family that can)")
    parser.add_argument("--resume_one_process", default="[]", help="JSON list of families also stopped and resumed "
                        "on one process (evaluate)")
    args = parser.parse_args(argv)
    families = json.loads(args.families) if args.families else [f.name for f in FAMILIES]
    run(args.mode, args.out, families, args.accelerator, args.devices, args.nodes, args.strategy, args.unnamed,
        json.loads(args.resume) if args.resume else None, json.loads(args.resume_one_process))
    leave_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
