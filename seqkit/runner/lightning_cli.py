"""seqkit's LightningCLI: the run folder, data-to-model links, checks before any data is loaded, default loggers
and checkpointing, and the subcommands' summaries."""

from __future__ import annotations

import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI, _InstantiatorFn
from lightning.pytorch.utilities import rank_zero_info, rank_zero_only

from seqkit.checkpointing import check_checkpoint, remove_partial_checkpoints
from seqkit.errors import ConfigError
from seqkit.hyperparameters import check_ranges
from seqkit.pretrained.building import check_model_size, check_recipe_size
from seqkit.recipe_hub import expand_config_args
from seqkit.runner.declared import data_links, parser_links, run_recipe_checks
from seqkit.runner.messages import first_problem, seqkit_cause
from seqkit.runner.run_folder import RunFolder
from seqkit.runner.trainer_setup import trainer_kwargs
from seqkit.runs import RUN_DIR_ENV
from seqkit.safe_config import load_yaml, secure_parsing
from seqkit.threads import check_cpu_precision, check_threads, set_threads


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

#: ``--ckpt_path`` values that are not files (Lightning resolves them).
_NAMED_CHECKPOINTS = ("last", "best", "hpc", "registry")


class SeqkitCLI(LightningCLI):
    """LightningCLI with seqkit's conventions.

    - Model and data are chosen by ``class_path`` in the recipe (any LightningModule / LightningDataModule).
    - What a task declares it takes from the data (``vocab_size``, ``pad_id``, ``num_classes``...; see
      :mod:`seqkit.registry`) flows from the DataModule into the model when both have it.
    - Every run gets its own directory (``--run_dir`` to choose it) with the resolved config, TensorBoard and CSV
      logs, checkpoints (best by the model's ``monitor`` metric, and last) and the tokenizer.
    - ``--test_after_fit true`` evaluates the best checkpoint on the test split when training ends.
    - Data modules shard their own batches across ranks, so the Trainer's distributed sampler is off.
    """

    def __init__(self, args: list[str] | None = None, **kwargs: Any) -> None:
        self.run_dir: Path | None = None
        self.run_folder = RunFolder()
        inherited = os.environ.get(RUN_DIR_ENV)
        secure_parsing()  # before any config file or class path is read
        try:
            super().__init__(
                L.LightningModule, L.LightningDataModule, subclass_mode_model=True, subclass_mode_data=True,
                auto_configure_optimizers=False, trainer_defaults={"use_distributed_sampler": False},
                parser_kwargs={"default_env": False}, args=args, **kwargs,
            )
        except BaseException:
            trainer = getattr(self, "trainer", None)
            self.run_folder.discard(trained=trainer is not None and trainer.global_step > 0)
            raise
        finally:  # the folder was this run's: a later run in the same process must get its own
            self.run_folder.release()
            if inherited is None:
                os.environ.pop(RUN_DIR_ENV, None)

    def init_parser(self, **kwargs: Any) -> LightningArgumentParser:
        # A mistake in a recipe or an option raises instead of printing the whole usage (~55 lines) before the
        # one line that matters; run_lightning_cli prints that line.
        return super().init_parser(**{"exit_on_error": False, **kwargs})

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        for source, target in parser_links():
            parser.link_arguments(f"data.{source}", f"model.init_args.{target}", apply_on="instantiate")
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

    def _resuming(self) -> bool:
        return self.subcommand == "fit" and bool(self._section(self.config).get("ckpt_path"))

    def _parse_ckpt_path(self) -> None:
        """seqkit's checks before anything is built or written, then Lightning's reading of the checkpoint's
        hyperparameters: the run folder asked for (:meth:`RunFolder.check`), value ranges, the model's size, the
        task's own checks of the recipe, an explicit ``--ckpt_path`` (a readable plain checkpoint), then the
        folder is claimed (:meth:`RunFolder.claim`)."""
        subcommand = self.config.get("subcommand")
        if not subcommand:
            return super()._parse_ckpt_path()
        config = self.config[subcommand]
        ckpt_path = config.get("ckpt_path")
        self.run_folder.check(subcommand, config)
        dumped = load_yaml(self._parser(subcommand).dump(config, skip_none=False, format="yaml"))
        check_ranges(dumped)
        # A model far beyond the parameter limit is refused before the data is loaded (exactly again when built).
        check_recipe_size(dumped.get("model"), data_links(dumped.get("model")), config.get("max_parameters"))
        if not ckpt_path:  # a file the recipe names that the task cannot read is found before the data is loaded
            run_recipe_checks(dumped.get("model"))
        if ckpt_path and ckpt_path not in _NAMED_CHECKPOINTS and "://" not in str(ckpt_path):
            check_checkpoint(ckpt_path)
        self.run_folder.claim(subcommand, config, dumped)
        return super()._parse_ckpt_path()

    def instantiate_trainer(self, **kwargs: Any) -> L.Trainer:
        section, trainer_config = self._section(self.config), self._section(self.config_init)["trainer"]
        devices = trainer_config.get("devices")
        check_cpu_precision(self.model, trainer_config.get("precision"), trainer_config.get("accelerator"))
        trainable = sum(p.numel() for p in self.model.parameters() if p.requires_grad)
        rank_zero_info(set_threads(section.get("threads"), trainable,
                                   processes=devices if isinstance(devices, int) and devices > 1 else 1))
        # SaveConfigCallback makes a collective call unless it may overwrite, so every rank must take the same path
        # through it. seqkit's own checks keep a run's config.yaml: a new folder is fresh, a folder holding a run is
        # refused unless resumed, and a resume writes config-resume.yaml beside it.
        self.save_config_kwargs = {**self.save_config_kwargs, "overwrite": True}
        self.run_dir = self.run_folder.make(self.subcommand, section)
        if self._resuming() and (self.run_dir / "config.yaml").is_file():  # the run's own config stays as it was
            self.save_config_kwargs = {**self.save_config_kwargs, "config_filename": "config-resume.yaml"}
        # DDP processes that Lightning launches inherit the environment: they must use the same folder.
        os.environ[RUN_DIR_ENV] = str(self.run_dir)
        defaults = trainer_kwargs(self.model, trainer_config, str(self.run_dir), self.subcommand,
                                  resuming=self._resuming(),
                                  last_every_n_steps=section.get("checkpoint_every_n_steps") or None)
        return super().instantiate_trainer(**{**kwargs, **defaults,
                                              "default_root_dir": kwargs.get("default_root_dir", str(self.run_dir))})

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
            raise ConfigError(first_problem(str(error), args[0])) from None
        except Exception as error:  # jsonargparse wraps what a model's __init__ raises: report seqkit's own error
            cause = seqkit_cause(error)
            if cause is None:
                raise
            raise cause from None
