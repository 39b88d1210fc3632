"""The ``seqkit`` command line.

``seqkit fit|validate|test|predict`` are LightningCLI subcommands (``--config``, ``--print_config``, dotted
overrides, every ``--trainer.*`` option). Other commands (``seqkit bench ...``) are dispatched to their modules.
Heavy libraries are imported only once a command needs them, so ``seqkit --help`` answers at once.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

LIGHTNING_COMMANDS = ("fit", "validate", "test", "predict")

#: Other commands: name -> (module with a ``main(argv)`` function, one-line description).
COMMANDS: dict[str, tuple[str, str]] = {
    "bench": ("seqkit.bench", "speed benchmarks (seqkit bench --help lists them)"),
    "data": ("seqkit.commands.data", "show where a recipe's data comes from; pull it from the Hub for offline use"),
    "classify": ("seqkit.commands.classify", "label texts or a .jsonl/.txt file with a trained classifier"),
    "explain": ("seqkit.commands.explain", "a review model's attention, or a tree model's sentiment of every phrase"),
    "generate": ("seqkit.commands.generate", "continue a prompt with a trained language model"),
    "grad-plot": ("seqkit.diagnostics.gradient_through_time", "plot dL/dh_t through time: Elman vs LSTM vs GRU"),
    "translate": ("seqkit.commands.translate", "translate lines of text with a trained translation model"),
    "publish": ("seqkit.commands.publish", "upload a trained run to the HuggingFace Hub (or --dry-run a folder)"),
    "export": ("seqkit.commands.export", "export a trained model: seqkit export onnx --checkpoint RUN OUT.onnx"),
    "recipes": ("seqkit.commands.recipes", "list the shipped recipes (seqkit fit --config sentiment/sst2 runs one)"),
}

HELP = """\
usage: seqkit COMMAND [options]

Recurrent sequence models for NLP on PyTorch Lightning.

Training and evaluation (LightningCLI; `seqkit fit --help` for every option):
  fit        train a model:            seqkit fit --config sentiment/sst2   (seqkit recipes lists them)
  validate   evaluate on validation:   seqkit validate --config RUN/config.yaml --ckpt_path RUN/checkpoints/best.ckpt
  test       evaluate on test:         seqkit test --config RUN/config.yaml --ckpt_path RUN/checkpoints/best.ckpt
  predict    run predict_step on data: seqkit predict --config RUN/config.yaml --ckpt_path ...

  Common options: --print_config, --trainer.devices N, --trainer.strategy ddp, --trainer.precision bf16-mixed,
  --trainer.max_epochs N, --run_dir DIR, --test_after_fit true, and any dotted override (--model.init_args.x 1).

Other commands:
{commands}

Environment: SEQKIT_DATA_DIR (local data root, read before the Hub), SEQKIT_RUNS_DIR (default ./runs),
SEQKIT_CACHE_DIR; HF_ENDPOINT, HF_HOME and HF_HUB_OFFLINE=1 (cached Hub data only) as for the HuggingFace clients.
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``seqkit`` console script."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        commands = "\n".join(f"  {name:<10} {text}" for name, (_, text) in COMMANDS.items())
        print(HELP.format(commands=commands))
        return 0
    if args[0] in ("-V", "--version"):
        from seqkit import __version__

        print(f"seqkit {__version__}")
        return 0
    from seqkit.hub_access import bound_waits

    bound_waits()  # before anything imports huggingface_hub, which reads its timeouts once
    from seqkit.console import quiet_libraries
    from seqkit.errors import SeqkitError

    quiet_libraries()
    try:
        if args[0] in LIGHTNING_COMMANDS:
            from seqkit.runner import run_lightning_cli

            run_lightning_cli(args)
            return 0
        if args[0] in COMMANDS:
            module = importlib.import_module(COMMANDS[args[0]][0])
            return int(module.main(args[1:]) or 0)
    except SeqkitError as error:
        print(f"seqkit: error: {error}", file=sys.stderr)
        return 2
    print(f"seqkit: unknown command {args[0]!r}; run `seqkit --help` for the list.", file=sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
