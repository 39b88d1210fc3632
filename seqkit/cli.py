"""The ``seqkit`` command line.

``seqkit fit|validate|test|predict`` are LightningCLI subcommands (``--config``, ``--print_config``, dotted
overrides, every ``--trainer.*`` option). Every other command is a typed function run through jsonargparse, as
LightningCLI's own options are: its ``--help`` comes from the signature and the docstring's ``Args:``, it takes
``--config FILE`` and ``--print_config``, options are spelled with underscores (``--batch_size``), and
jsonargparse's types (``PositiveInt``, ``Literal[...]``) check values before any work. A command with subcommands
(``seqkit bench lm``) is a dict of such functions. Heavy libraries, jsonargparse included, are imported only once a
command runs, so ``seqkit --help`` answers at once.
"""

from __future__ import annotations

import errno
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import Any

from seqkit.settings import check_environment

LIGHTNING_COMMANDS = ("fit", "validate", "test", "predict")

#: Other commands: name -> ("module:attribute" of a typed function or a dict of them, one-line description).
COMMANDS: dict[str, tuple[str, str]] = {
    "bench": ("seqkit.bench:BENCHMARKS",
              "speed benchmarks (seqkit bench --help lists them)"),
    "data": ("seqkit.commands.data:COMMANDS",
             "show where a recipe's data comes from; pull it from the Hub for offline use"),
    "classify": ("seqkit.commands.classify:classify",
                 "label texts or a .jsonl/.txt file with a trained classifier"),
    "explain": ("seqkit.commands.explain:explain",
                "a review model's attention, or a tree model's sentiment of every phrase"),
    "generate": ("seqkit.commands.generate:generate",
                 "continue a prompt with a trained language model"),
    "grad-plot": ("seqkit.diagnostics.gradient_through_time:grad_plot",
                  "plot dL/dh_t through time: Elman vs LSTM vs GRU"),
    "translate": ("seqkit.commands.translate:translate",
                  "translate lines of text with a trained translation model"),
    "transcribe": ("seqkit.commands.transcribe:transcribe",
                   "the digits (words) heard in audio files, with a trained speech model"),
    "publish": ("seqkit.commands.publish:publish",
                "upload a trained run to the HuggingFace Hub (or --dry_run a folder)"),
    "export": ("seqkit.commands.export:COMMANDS",
               "export a trained model: seqkit export onnx --checkpoint RUN OUT.onnx"),
    "speedrun": ("seqkit.commands.speedrun:speedrun",
                 "a task's best model in a fixed time on this machine: seqkit speedrun lm --minutes 30"),
    "recipes": ("seqkit.commands.recipes:recipes",
                "list the shipped recipes (seqkit fit --config sentiment/sst2 runs one)"),
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
    """Entry point of the ``seqkit`` console script.

    Ctrl-C ends a command with one line and exit status 130; a reader that stops early (``seqkit generate ... |
    head``) ends it quietly with status 141, as ``SIGPIPE`` ends other Unix tools.
    """
    try:
        return _run(list(sys.argv[1:] if argv is None else argv), argv is None)
    except KeyboardInterrupt:
        print("seqkit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return 141


def _silence_stdout() -> None:
    """Point standard output at the null device: the reader is gone, and Python's final flush of what is still
    buffered would otherwise print a second error at exit."""
    import os

    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
    except (OSError, ValueError):  # no file descriptor (a replaced sys.stdout): nothing is flushed to the pipe
        pass


def _run(args: list[str], console: bool) -> int:
    """:func:`main` without its handling of interruptions (``console``: the process ends when this returns)."""
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
        check_environment()  # once, before any work: a folder variable that points at a file is named here
        if args[0] in LIGHTNING_COMMANDS or args[0] in COMMANDS:
            from seqkit.safe_config import secure_parsing

            secure_parsing()  # YAML bounded, class paths allow-listed, before any option is read
        from seqkit.recipe_hub import check_config_files

        check_config_files(args[1:])
        if args[0] in LIGHTNING_COMMANDS:
            from seqkit.runner import run_lightning_cli

            run_lightning_cli(args)
            return 0
        if args[0] in COMMANDS:
            module, attribute = COMMANDS[args[0]][0].split(":")
            target = getattr(importlib.import_module(module), attribute)
            return run_typed(target, args[1:], f"seqkit {args[0]}")
    except SeqkitError as error:
        print(f"seqkit: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        problem = storage_problem(error)
        if problem is None:
            raise
        print(f"seqkit: error: {problem}", file=sys.stderr)
        return 1
    finally:
        if console and "torch.distributed" in sys.modules:  # this process ends here: leave the process group
            from seqkit.distributed import leave_process_group

            leave_process_group()
    print(f"seqkit: unknown command {args[0]!r}; run `seqkit --help` for the list.", file=sys.stderr)
    return 2


def storage_problem(error: OSError) -> str | None:
    """One line for a write the storage refused (full disk, quota, read-only file system), else ``None``.

    Outputs and checkpoints are written to a temporary file and renamed, so the files there before are intact.
    """
    where = error.filename if error.filename is not None else "a file"
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        reason = "no space left on the device" if error.errno == errno.ENOSPC else "disk quota exceeded"
        return (f"could not write {where}: {reason}; free space (or write elsewhere) and run again. Files written "
                "before are intact.")
    if error.errno == errno.EROFS:
        return f"could not write {where}: read-only file system; write to another folder."
    return None


#: A parameter of one of these names (``list[str]``) is read from the positional arguments: ``seqkit classify "a"
#: "b"``, ``seqkit transcribe a.wav b.wav``; the value is what the positional arguments are, for the help.
POSITIONAL_LISTS = {"texts": "texts to work on (or use --input)",
                    "files": "audio files, .txt/.jsonl lists of them, or - for a list on standard input"}


def _function_parser(function: Callable[..., Any], prog: str) -> Any:
    """A jsonargparse parser for ``function``: one option per parameter (positional where it has no default),
    ``--config`` and ``--print_config``, help from the docstring."""
    import inspect  # here, not at the top: it costs more than the whole of `seqkit --help`

    from jsonargparse import ActionConfigFile, ArgumentParser

    summary = (inspect.getdoc(function) or "").split("\nArgs:")[0].strip()
    parser = ArgumentParser(prog=prog, description=summary, exit_on_error=False)
    parser.add_argument("--config", action=ActionConfigFile, help="read the options from a YAML/JSON file")
    parameters = inspect.signature(function).parameters
    skip = set(POSITIONAL_LISTS) & set(parameters)
    parser.add_function_arguments(function, as_positional=True, skip=skip)
    for name in skip:
        parser.add_argument(name, nargs="*", default=[], help=POSITIONAL_LISTS[name])
    for action in parser._actions:  # a switch that is off by default is on when given alone: --dry_run
        if action.dest in parameters and parameters[action.dest].default is False:
            action.nargs, action.const = "?", True
    return parser


def run_typed(target: Callable[..., Any] | dict[str, Callable[..., Any]], argv: list[str], prog: str) -> int:
    """Parse ``argv`` for ``target`` (a typed function, or a dict of them as subcommands) and call it.

    A bad option or value raises :class:`~seqkit.errors.ConfigError` with one line naming it, before any work.
    """
    import inspect

    from jsonargparse import ArgumentError, ArgumentParser

    from seqkit.errors import ConfigError

    if isinstance(target, dict):
        parser = ArgumentParser(prog=prog, exit_on_error=False)
        commands = parser.add_subcommands(required=True)
        for name, function in target.items():
            commands.add_subcommand(name, _function_parser(function, f"{prog} {name}"),
                                    help=(inspect.getdoc(function) or "").splitlines()[0])
    else:
        parser = _function_parser(target, prog)
    try:
        config = parser.parse_args(argv)
    except ArgumentError as error:
        from seqkit.runner.messages import first_problem  # on the error path only

        problem = first_problem(str(error), prog.removeprefix("seqkit "))
        key, colon, rest = problem.partition(": ")  # "batch_size: Not of type..." names the option as typed
        if colon and key.replace(".", "_").isidentifier():
            problem = f"--{key.rsplit('.', 1)[-1]}: {rest}"
        raise ConfigError(problem) from None
    if isinstance(target, dict):
        target, config = target[config.subcommand], config[config.subcommand]
    values = {key: value for key, value in config.as_dict().items() if key not in ("config", "__path__")}
    return int(target(**values) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
