"""seqkit's LightningCLI: run directories, data-to-model links, default loggers and checkpointing."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import warnings
from dataclasses import fields
from pathlib import Path
from typing import Any

# Lightning calls jsonargparse APIs that jsonargparse deprecates; the warnings are about Lightning, not the recipe.
os.environ.setdefault("JSONARGPARSE_DEPRECATION_WARNINGS", "off")

import lightning as L  # noqa: E402
from lightning.pytorch.callbacks import ModelCheckpoint, ModelSummary  # noqa: E402
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI, _InstantiatorFn  # noqa: E402
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger  # noqa: E402
from lightning.pytorch.plugins.io import CheckpointIO  # noqa: E402
from lightning.pytorch.utilities import rank_zero_info, rank_zero_only  # noqa: E402

from seqkit import settings  # noqa: E402
from seqkit.callbacks.summary import ParameterSummary  # noqa: E402
from seqkit.checkpointing import (  # noqa: E402
    AtomicCheckpointIO,
    ResumeRandomState,
    RunCheckpoint,
    check_checkpoint,
    remove_partial_checkpoints,
)
from seqkit.data.options import Batching, Splits  # noqa: E402
from seqkit.distributed import FollowRankZeroRunDir, launched_as_rank_zero, strategy_for_launcher  # noqa: E402
from seqkit.errors import CheckpointError, ConfigError, SeqkitError  # noqa: E402
from seqkit.guards import StopOnNonFiniteLoss  # noqa: E402
from seqkit.hyperparameters import check_ranges  # noqa: E402
from seqkit.models.echo_state import ReservoirConfig  # noqa: E402
from seqkit.models.lm_encoder import read_lm_checkpoint  # noqa: E402
from seqkit.nn import EncoderConfig  # noqa: E402
from seqkit.prediction_files import PredictionFiles  # noqa: E402
from seqkit.pretrained.building import check_model_size, check_recipe_size  # noqa: E402
from seqkit.recipe_hub import expand_config_args  # noqa: E402
from seqkit.runs import (  # noqa: E402
    PENDING,
    RUN_DIR_ENV,
    RunLock,
    check_creatable,
    check_resume_settings,
    create_run_dir,
    holds_a_run,
    inherited_run_dir,
    job_id,
    job_run_dir,
)
from seqkit.safe_config import import_refusal, load_yaml, secure_parsing  # noqa: E402
from seqkit.threads import check_cpu_precision, check_threads, set_threads  # noqa: E402


class _SizeCheckedInstantiator:
    """Builds the model on the meta device first: a size no machine holds is refused before any memory is taken.
    A class rather than a closure, so that ``ddp_spawn`` can pickle what refers to it."""

    def __init__(self, cli: Any, inner: Any) -> None:
        self.cli, self.inner = cli, inner

    def __call__(self, class_type: type, *args: Any, applied_instantiation_links: dict, **kwargs: Any) -> Any:
        check_model_size(class_type, args, kwargs, self.cli._section(self.cli.config).get("max_parameters"))
        return self.inner(class_type, *args, applied_instantiation_links=applied_instantiation_links, **kwargs)


class _DropTips(logging.Filter):
    """Drops Lightning's advertising tips from the log; real messages pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Tip:" not in record.getMessage()


logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(_DropTips())
# The run directory is new; the CSV logger's "not empty" warning is about the config and tokenizer we put there.
warnings.filterwarnings("ignore", message="Experiment logs directory .* exists and is not empty")
# seqkit uses ThroughputMonitor for tokens/s; FLOPs are not counted for recurrent models.
warnings.filterwarnings("ignore", message="When using the `ThroughputMonitor`, you need to define a `flops_per_batch`")
# Evaluating a checkpoint does not need the callbacks that wrote it.
warnings.filterwarnings("ignore", message="Be aware that when using `ckpt_path`, callbacks used to create")

#: Values only the data knows, passed from the DataModule to the model when both have them.
DATA_TO_MODEL_LINKS = (
    "vocab_size", "pad_id", "num_classes", "src_vocab_size", "tgt_vocab_size", "label_names",
    # forecasting: channels, window and the train statistics that scale new data
    "num_inputs", "num_targets", "lookback", "horizon", "series_spec",
    # speech: feature width and settings, the training statistics of global normalisation
    "num_features", "audio_features", "feature_stats",
)


class SeqkitCLI(LightningCLI):
    """LightningCLI with seqkit's conventions.

    - Model and data are chosen by ``class_path`` in the recipe (any LightningModule / LightningDataModule).
    - ``vocab_size``, ``pad_id``, ``num_classes``... flow from the DataModule into the model when both define them.
    - Every run gets its own directory (``--run_dir`` to choose it) with the resolved config, TensorBoard and CSV
      logs, checkpoints (best by the model's ``monitor`` metric, and last) and the tokenizer.
    - ``--test_after_fit true`` evaluates the best checkpoint on the test split when training ends.
    - Data modules shard their own batches across ranks, so the Trainer's distributed sampler is off.
    """

    def __init__(self, args: list[str] | None = None, **kwargs: Any) -> None:
        self.run_dir: Path | None = None
        #: A run folder this process created (removed again if the command fails before writing a checkpoint).
        self._new_run_dir: Path | None = None
        self._named_run_dir = False  # whether seqkit named that folder (rather than --run_dir)
        self._lock: RunLock | None = None
        inherited = os.environ.get(RUN_DIR_ENV)
        secure_parsing()  # before any config file or class path is read
        try:
            super().__init__(
                L.LightningModule,
                L.LightningDataModule,
                subclass_mode_model=True,
                subclass_mode_data=True,
                auto_configure_optimizers=False,
                trainer_defaults={"use_distributed_sampler": False},
                parser_kwargs={"default_env": False},
                args=args,
                **kwargs,
            )
        except BaseException:
            self._discard_new_run_dir()
            raise
        finally:  # the folder was this run's: a later run in the same process must get its own
            if self._lock is not None:
                self._lock.release()
            if inherited is None:
                os.environ.pop(RUN_DIR_ENV, None)

    def _discard_new_run_dir(self) -> None:
        """Remove the run folder this process created when the command failed before training began (or before
        any checkpoint): a failed command leaves nothing behind."""
        folder = self._new_run_dir
        if folder is None or not folder.is_dir() or any(folder.glob("checkpoints/*.ckpt")):
            return
        trainer = getattr(self, "trainer", None)
        if trainer is not None and trainer.global_step > 0:  # it trained: its logs tell what went wrong
            return
        if rank_zero_only.rank == 0:
            import shutil

            shutil.rmtree(folder, ignore_errors=True)
            if self._named_run_dir:  # seqkit chose the name: an evaluation (RUN/test/) or recipe folder left empty
                with contextlib.suppress(OSError):
                    folder.parent.rmdir()

    def init_parser(self, **kwargs: Any) -> LightningArgumentParser:
        # A mistake in a recipe or an option raises instead of printing the whole usage (~55 lines) before the
        # one line that matters; run_lightning_cli prints that line.
        return super().init_parser(**{"exit_on_error": False, **kwargs})

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        for name in DATA_TO_MODEL_LINKS:
            parser.link_arguments(f"data.{name}", f"model.init_args.{name}", apply_on="instantiate")
        parser.add_argument("--run_dir", type=str | None, default=None,
                            help="Folder for this run (default: a new runs/<recipe>/<time> folder).")
        parser.add_argument("--test_after_fit", type=bool, default=False,
                            help="After fit, evaluate the best checkpoint on the test split.")
        parser.add_argument("--threads", type=int | None, default=None,
                            help="CPU threads per process (default: one per free core, one for a model under 0.5M "
                                 "trainable parameters; OMP_NUM_THREADS, when set, is kept).")
        parser.add_argument("--checkpoint_every_n_steps", type=int, default=500,
                            help="Also write checkpoints/last.ckpt every N training steps, so `--ckpt_path last "
                                 "--run_dir RUN` resumes a killed run mid-epoch; 0: only at epoch ends.")
        parser.add_argument("--max_parameters", type=float | None, default=None,
                            help="Refuse a model with more parameters (default 2e9, or SEQKIT_MAX_PARAMETERS); "
                                 "counted on the meta device before any memory is taken.")

    def _add_instantiators(self) -> None:
        super()._add_instantiators()
        size_checked = _SizeCheckedInstantiator(self, _InstantiatorFn(cli=self, key="model"))
        self.parser.add_instantiator(size_checked, L.LightningModule, subclasses=True, prepend=True)

    def before_instantiate_classes(self) -> None:
        check_threads(self._section(self.config).get("threads"))  # before any data or model work

    def _section(self, config: Any) -> Any:
        """The config of the running subcommand (the whole config when built with ``run=False``)."""
        return config[self.subcommand] if self.subcommand else config

    # ------------------------------------------------------------------ run directory
    def _run_name(self, config: Any) -> str:
        """``<task>/<recipe>`` from the config file (``recipes/lm/tiny.yaml`` -> ``lm/tiny``), so runs of recipes that
        share a file name (``lm/tiny``, ``translation/tiny``) never share a folder."""
        files = config.get("config") or []
        if files:
            path = Path(str(getattr(files[-1], "absolute", files[-1]))).resolve()
            if path.name == "config.yaml" and holds_a_run(path.parent):  # retraining from a run's own config
                return "/".join(path.parent.parent.parts[-2:])
            return f"{path.parent.name}/{path.stem}" if path.parent.name else path.stem
        class_path = (config.get("model") or {}).get("class_path", "model")
        return class_path.rsplit(".", 1)[-1].lower()

    def _evaluated_run(self, config: Any) -> Path | None:
        """The run folder whose checkpoint ``validate``/``test``/``predict`` evaluates, if the checkpoint is in one."""
        ckpt_path = config.get("ckpt_path")
        if self.subcommand == "fit" or not ckpt_path or not Path(ckpt_path).is_file():
            return None
        path = Path(ckpt_path).resolve()
        run = path.parent.parent if path.parent.name == "checkpoints" else path.parent
        return run if (run / "config.yaml").is_file() else None

    def _resuming(self) -> bool:
        return self.subcommand == "fit" and bool(self._section(self.config).get("ckpt_path"))

    def _make_run_dir(self) -> Path:
        # Called once data and model exist, so a bad recipe fails before any folder is created.
        config = self._section(self.config)
        explicit = config.get("run_dir")
        inherited = inherited_run_dir()
        if config.get("ckpt_path") == "last" and not (explicit or inherited or job_id()):
            raise CheckpointError("--ckpt_path last resumes a run: give its folder with --run_dir RUN_DIR.")
        evaluated = None
        if self.subcommand != "fit" and inherited is None:
            # Evaluating never writes over a run's own files: results go to a new RUN/<subcommand>/<time> folder
            # of the evaluated run (or of the --run_dir given, when that already holds a run).
            evaluated = Path(explicit) if explicit and holds_a_run(Path(explicit)) else (
                None if explicit else self._evaluated_run(config))
        # SaveConfigCallback makes a collective call unless it may overwrite, so every rank must take the same path
        # through it. seqkit's own checks keep a run's config.yaml: a new folder is fresh, a folder holding a run is
        # refused unless resumed, and a resume writes config-resume.yaml beside it.
        self.save_config_kwargs = {**self.save_config_kwargs, "overwrite": True}
        if inherited is None and not launched_as_rank_zero():  # rank zero creates, locks and writes the folder
            return self._follow_run_dir(config, explicit, evaluated)
        try:
            if inherited is not None:
                run_dir = inherited
            elif evaluated is not None:
                run_dir = self._new_run_dir = create_run_dir(self.subcommand, root=evaluated)
                self._named_run_dir = True
            elif explicit:
                run_dir = Path(explicit)
                if not run_dir.exists():
                    self._new_run_dir = run_dir
            else:
                run_dir = self._new_run_dir = create_run_dir(self._run_name(config))
                self._named_run_dir = True
            run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:  # read-only, a file in the way, full disk...
            raise CheckpointError(
                f"Run folder {error.filename or explicit} cannot be created or written ({error.strerror}); choose "
                "another --run_dir (or SEQKIT_RUNS_DIR)."
            ) from None
        if self.subcommand == "fit" and inherited is None:  # one training process per folder at a time
            self._lock_run_dir(run_dir)
        if self._resuming() and (run_dir / "config.yaml").is_file():  # the run's own config stays as it was
            self.save_config_kwargs = {**self.save_config_kwargs, "config_filename": "config-resume.yaml"}
        # DDP processes that Lightning launches inherit the environment: they must use the same folder.
        os.environ[RUN_DIR_ENV] = str(run_dir)
        return run_dir

    def _follow_run_dir(self, config: Any, explicit: str | None, evaluated: Path | None) -> Path:
        """The run folder of a rank other than zero, which creates nothing: the folder given or the job's, else a
        name that :class:`FollowRankZeroRunDir` replaces with rank zero's choice once the processes connect."""
        if explicit and evaluated is None:
            return Path(explicit)
        name, root = (self.subcommand, evaluated) if evaluated is not None else (self._run_name(config), None)
        return job_run_dir(name, root) or (root or settings.runs_dir()) / name / PENDING

    def _parse_ckpt_path(self) -> None:
        """seqkit's checks before anything is built or written, then Lightning's reading of the checkpoint's
        hyperparameters.

        - ``fit --run_dir RUN`` on a folder that already holds a run needs ``--ckpt_path`` (resume) or a new folder;
        - an explicit ``--ckpt_path`` must be a readable plain checkpoint (one line otherwise, never a traceback);
        - a resume must keep the run's model and tokenizer settings (compared with ``RUN/config.yaml``).
        """
        subcommand = self.config.get("subcommand")
        if not subcommand:
            return super()._parse_ckpt_path()
        config = self.config[subcommand]
        ckpt_path = config.get("ckpt_path")
        explicit = config.get("run_dir")
        inherited = inherited_run_dir()
        run_dir = inherited if inherited is not None else (Path(explicit) if explicit else None)
        if subcommand == "fit" and ckpt_path == "last" and run_dir is None and not job_id():
            raise CheckpointError("--ckpt_path last resumes a run: give its folder with --run_dir RUN_DIR.")
        if subcommand == "fit" and inherited is None and run_dir is not None and not ckpt_path:
            if run_dir.exists() and not run_dir.is_dir():
                raise CheckpointError(f"--run_dir {run_dir} is a file, not a folder.")
            if run_dir.is_dir() and holds_a_run(run_dir):
                raise CheckpointError(
                    f"{run_dir} already holds a run; resume it with --ckpt_path last, or train into a new --run_dir."
                )
        dumped = load_yaml(self._parser(subcommand).dump(config, skip_none=False, format="yaml"))
        check_ranges(dumped)
        # A model far beyond the parameter limit is refused before the data is loaded (exactly again when built).
        check_recipe_size(dumped.get("model"), DATA_TO_MODEL_LINKS, config.get("max_parameters"))
        pretrained_lm = ((dumped.get("model") or {}).get("init_args") or {}).get("pretrained_lm")
        if pretrained_lm and not ckpt_path:  # a bad language model is found before the data is loaded
            read_lm_checkpoint(pretrained_lm)
        if ckpt_path and ckpt_path not in ("last", "best", "hpc", "registry") and "://" not in str(ckpt_path):
            check_checkpoint(ckpt_path)
        if subcommand == "fit" and inherited is None and run_dir is not None and launched_as_rank_zero():
            self._lock_run_dir(run_dir)  # before the folder is checked or anything is loaded into it
        elif inherited is None and run_dir is None:
            check_creatable(settings.runs_dir())  # found now, not after the data is loaded
        if subcommand == "fit" and ckpt_path and run_dir is not None and run_dir.is_dir():
            check_resume_settings(run_dir, dumped)
        return super()._parse_ckpt_path()

    def _lock_run_dir(self, run_dir: Path) -> None:
        """Create ``run_dir`` if needed and hold its lock for the rest of the command (one ``fit`` per folder)."""
        if self._lock is not None:
            return
        try:
            if not run_dir.exists():
                self._new_run_dir = run_dir
            run_dir.mkdir(parents=True, exist_ok=True)
            lock = RunLock(run_dir)
            lock.acquire()
        except OSError as error:  # read-only, a file in the way, full disk...
            raise CheckpointError(
                f"Run folder {error.filename or run_dir} cannot be created or written ({error.strerror}); choose "
                "another --run_dir (or SEQKIT_RUNS_DIR)."
            ) from None
        self._lock = lock

    def instantiate_trainer(self, **kwargs: Any) -> L.Trainer:
        trainer_config = self._section(self.config_init)["trainer"]
        devices = trainer_config.get("devices")
        check_cpu_precision(self.model, trainer_config.get("precision"), trainer_config.get("accelerator"))
        trainable = sum(p.numel() for p in self.model.parameters() if p.requires_grad)
        rank_zero_info(set_threads(self._section(self.config).get("threads"), trainable,
                                   processes=devices if isinstance(devices, int) and devices > 1 else 1))
        strategy = trainer_config.get("strategy")
        if strategy_for_launcher(strategy) != strategy:
            kwargs["strategy"] = strategy_for_launcher(strategy)
            rank_zero_info(f"The launcher started every process: strategy {kwargs['strategy']} rather than {strategy}.")
        self.run_dir = self._make_run_dir()
        run_dir = str(self.run_dir)
        kwargs.setdefault("default_root_dir", run_dir)
        given = trainer_config.get("callbacks") or []
        callbacks = [*(given if isinstance(given, list) else [given]), FollowRankZeroRunDir()]
        if trainer_config.get("logger") in (None, True):
            csv_logger = CSVLogger(run_dir, name="", version="")
            if self._resuming() and launched_as_rank_zero():
                continue_csv_log(csv_logger)
            kwargs["logger"] = [TensorBoardLogger(run_dir, name="", version="", default_hp_metric=False), csv_logger]
        if self.subcommand == "predict":
            callbacks.append(PredictionFiles())
        if self.subcommand == "fit":
            callbacks += [StopOnNonFiniteLoss(), ResumeRandomState()]
            if trainer_config.get("enable_model_summary") is not False and not any(
                    isinstance(c, ModelSummary) for c in callbacks):
                callbacks.append(ParameterSummary())
            if not any(isinstance(c, ModelCheckpoint) for c in callbacks):  # best by the model's metric, and last
                monitor, mode = getattr(self.model, "monitor", (None, "min"))
                callbacks.append(RunCheckpoint(
                    dirpath=os.path.join(run_dir, "checkpoints"), filename="best", monitor=monitor, mode=mode,
                    save_last=True, auto_insert_metric_name=False,
                    # A resumed run keeps one best.ckpt (replaced only when its restored best score improves) rather
                    # than adding best-v1.ckpt beside a stale best.ckpt that find_checkpoint would pick.
                    enable_version_counter=False,
                    last_every_n_steps=self._section(self.config).get("checkpoint_every_n_steps") or None,
                ))
            plugins = trainer_config.get("plugins") or []
            plugins = list(plugins) if isinstance(plugins, list | tuple) else [plugins]
            if not any(isinstance(p, CheckpointIO) for p in plugins):  # a kill while saving keeps the old file
                kwargs["plugins"] = [*plugins, AtomicCheckpointIO()]
        kwargs["callbacks"] = callbacks
        return super().instantiate_trainer(**kwargs)

    # ------------------------------------------------------------------ subcommands
    def before_fit(self) -> None:
        """Resolve ``--ckpt_path last`` to the run's ``checkpoints/last.ckpt`` and check the checkpoint first.

        Resuming reads the checkpoint with ``weights_only=True`` unless ``--weights_only false`` is given.
        """
        config = self._section(self.config_init)
        ckpt_path = config.get("ckpt_path")
        if not ckpt_path:
            return
        checkpoints = Path(self.run_dir) / "checkpoints"
        remove_partial_checkpoints(checkpoints)
        if ckpt_path == "last":
            last = checkpoints / "last.ckpt"
            if not last.is_file():
                rank_zero_info(f"No {last} yet: training {self.run_dir} from the start.")
                config["ckpt_path"] = None
                return
            config["ckpt_path"] = ckpt_path = str(last)
        check_checkpoint(ckpt_path)
        if config.get("weights_only") is None:
            config["weights_only"] = True
        rank_zero_info(f"Resuming {self.run_dir} from {ckpt_path}")

    def predict(self, **kwargs: Any) -> None:
        """``trainer.predict``; :class:`~seqkit.prediction_files.PredictionFiles` writes the outputs into the run
        directory (``predictions.jsonl``, one line per example, or the data module's own files such as forecasts)."""
        self.trainer.predict(**kwargs)

    # ------------------------------------------------------------------ after each subcommand
    def after_fit(self) -> None:
        if self._section(self.config).get("test_after_fit"):
            checkpoint = self.trainer.checkpoint_callback
            ckpt = "best" if checkpoint is not None and checkpoint.best_model_path else None
            self.trainer.test(self.model, datamodule=self.datamodule, ckpt_path=ckpt)
        self._summary()

    def after_validate(self) -> None:
        self._summary()

    def after_test(self) -> None:
        self._summary()

    @rank_zero_only
    def _summary(self) -> None:
        metrics = {k: float(v) for k, v in sorted(self.trainer.callback_metrics.items()) if v.numel() == 1}
        lines = [f"Run directory: {self.run_dir}"]
        checkpoint = self.trainer.checkpoint_callback
        if self.subcommand == "fit" and checkpoint is not None and checkpoint.best_model_path:
            lines.append(f"Best checkpoint: {checkpoint.best_model_path}")
        elif self.subcommand == "fit" and checkpoint is not None and checkpoint.last_model_path:
            lines.append(f"No best checkpoint: validation never ran (training ended before the first validation), "
                         f"so commands on this run use {checkpoint.last_model_path}.")
        if metrics:
            lines.append("Metrics: " + ", ".join(f"{k}={v:.4f}" for k, v in metrics.items()))
        print("\n".join(lines), flush=True)


def run_lightning_cli(args: list[str]) -> SeqkitCLI:
    """Run one LightningCLI subcommand (``args[0]`` is ``fit``, ``validate``, ``test`` or ``predict``)."""
    # From the console script, let LightningCLI read sys.argv itself: DDP relaunches this same command line.
    from_command_line = list(args) == sys.argv[1:]
    args = expand_config_args(list(args))  # shipped recipes by name: --config sentiment/sst2
    if from_command_line:
        sys.argv[1:] = args
    from jsonargparse import ArgumentError

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="LightningCLI's args parameter")
        try:
            return SeqkitCLI(args=None if from_command_line else list(args))
        except ArgumentError as error:
            raise ConfigError(_first_problem(str(error), args[0])) from None
        except Exception as error:  # jsonargparse wraps what a model's __init__ raises: report seqkit's own error
            cause = _seqkit_cause(error)
            if cause is None:
                raise
            raise cause from None


def _seqkit_cause(error: BaseException) -> SeqkitError | None:
    """The :class:`SeqkitError` that ``error`` was raised from (directly or through a chain of wrappers, or in a
    ``ddp_spawn``/``ddp_notebook`` worker process, which passes it on as text)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, SeqkitError):
            return current
        worker = _worker_error(current)
        if worker is not None:
            return worker
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _worker_error(error: BaseException) -> SeqkitError | None:
    """The seqkit error a worker process raised, when ``error`` is torch.multiprocessing's report of it (the last
    line of its traceback: ``seqkit.<module>.<Error>: message``)."""
    if type(error).__name__ != "ProcessRaisedException":
        return None
    last = str(error).strip().splitlines()[-1] if str(error).strip() else ""
    match = re.match(r"(seqkit(?:\.\w+)*)\.(\w+): (.*)", last)
    if match is None:
        return None
    import importlib

    kind = getattr(importlib.import_module(match.group(1)), match.group(2), None)
    if not (isinstance(kind, type) and issubclass(kind, SeqkitError)):
        return None
    return SeqkitError(match.group(3))


def _first_problem(message: str, subcommand: str) -> str:
    """The line of a jsonargparse error that names the problem, with the option it is about (the error explains
    every type the value could have had over a dozen lines)."""
    path: list[str] = []
    detail = None
    skip = ("Does not validate", "Subtypes:", "Errors:", "Given value", "Expected a <class 'NoneType'>",
            "Problem with given class_path")
    for raw in message.splitlines():
        line = raw.strip().lstrip("- ").strip()
        if not line or line.startswith(skip):
            continue
        match = re.match(r'Parser key "([^"]+)":\s*(.*)', line)
        if match:
            path.append(match.group(1))
            line = match.group(2)
            if not line or line.startswith(skip):
                continue
        detail = detail or line
    denied = re.match(r"Importing '([^']+)' is not allowed", detail or "")
    detail = import_refusal(denied.group(1)) if denied else detail
    text = f"{'.'.join(path)}: {detail}" if path and detail else (detail or "invalid configuration")
    moved = re.match(r"Option '(\w+)' is not accepted", detail or "")
    if moved and path and path[0] in _GROUPED:
        where = _GROUPED[path[0]].get(moved.group(1))
        if where:
            return f"{text}; did you mean `{path[0]}.init_args.{where}`? (see `seqkit {subcommand} --help`)."
    return f"{text} (see `seqkit {subcommand} --help`)."


#: Settings that older recipes gave one by one and that now sit in a group: where each went, for the hint.
_GROUPED: dict[str, dict[str, str]] = {
    "data": {**{f.name: f"batching.{f.name}" for f in fields(Batching)},
             **{f.name: f"splits.{f.name}" for f in fields(Splits)},
             "train_split": "splits.train", "val_split": "splits.validation", "test_split": "splits.test"},
    "model": {**{f.name: f"reservoir.{f.name}" for f in fields(ReservoirConfig)},
              **{f.name: f"encoder.{f.name}" for f in fields(EncoderConfig)}},
}


def continue_csv_log(logger: CSVLogger) -> None:
    """Make a resumed run append to its ``metrics.csv`` (Lightning's CSV writer would start the file afresh)."""
    if rank_zero_only.rank != 0:
        return
    path = Path(logger.log_dir) / "metrics.csv"
    if not path.is_file():
        return
    import csv

    saved = path.read_bytes()
    with path.open(newline="") as handle:
        header = next(csv.reader(handle), [])
    writer = logger.experiment  # created now: it deletes an existing metrics.csv, which is put back at once
    path.write_bytes(saved)
    writer.metrics_keys = list(header)
