"""The Trainer a seqkit command gets unless the recipe says otherwise: loggers, checkpoints, guards and safe
checkpoint writing in the run folder, and the strategy the launcher allows."""

from __future__ import annotations

import os
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint, ModelSummary
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from lightning.pytorch.plugins.io import CheckpointIO
from lightning.pytorch.utilities import rank_zero_info

from seqkit.callbacks.summary import ParameterSummary
from seqkit.checkpointing import AtomicCheckpointIO, ResumeRandomState, RunCheckpoint
from seqkit.distributed import FollowRankZeroRunDir, launched_as_rank_zero, strategy_for_launcher
from seqkit.guards import StopOnNonFiniteLoss
from seqkit.prediction_files import PredictionFiles
from seqkit.runner.run_folder import continue_csv_log


def _as_list(value: Any) -> list:
    return list(value) if isinstance(value, list | tuple) else ([] if value is None else [value])


def trainer_kwargs(model: L.LightningModule, trainer_config: dict, run_dir: str, subcommand: str | None, *,
                   resuming: bool, last_every_n_steps: int | None) -> dict[str, Any]:
    """Keyword arguments for the Trainer of ``subcommand`` writing into ``run_dir``, beside the recipe's own.

    - TensorBoard and CSV logs (a resumed run appends to its ``metrics.csv``) unless the recipe sets a logger;
    - ``fit``: a stop on a non-finite loss, the random state saved with checkpoints, a parameter summary, the best
      checkpoint by the model's ``monitor`` metric and the last one (also every ``last_every_n_steps`` steps),
      checkpoints written to a temporary file and renamed;
    - ``predict``: the outputs written into the run folder.
    """
    kwargs: dict[str, Any] = {"default_root_dir": run_dir}
    strategy = trainer_config.get("strategy")
    if strategy_for_launcher(strategy) != strategy:
        kwargs["strategy"] = strategy_for_launcher(strategy)
        rank_zero_info(f"The launcher started every process: strategy {kwargs['strategy']} rather than {strategy}.")
    callbacks = [*_as_list(trainer_config.get("callbacks")), FollowRankZeroRunDir()]
    if trainer_config.get("logger") in (None, True):
        csv_logger = CSVLogger(run_dir, name="", version="")
        if resuming and launched_as_rank_zero():
            continue_csv_log(csv_logger)
        kwargs["logger"] = [TensorBoardLogger(run_dir, name="", version="", default_hp_metric=False), csv_logger]
    if subcommand == "predict":
        callbacks.append(PredictionFiles())
    if subcommand == "fit":
        callbacks += [StopOnNonFiniteLoss(), ResumeRandomState()]
        if trainer_config.get("enable_model_summary") is not False and not any(
                isinstance(c, ModelSummary) for c in callbacks):
            callbacks.append(ParameterSummary())
        if not any(isinstance(c, ModelCheckpoint) for c in callbacks):  # best by the model's metric, and last
            monitor, mode = getattr(model, "monitor", (None, "min"))
            callbacks.append(RunCheckpoint(
                dirpath=os.path.join(run_dir, "checkpoints"), filename="best", monitor=monitor, mode=mode,
                save_last=True, auto_insert_metric_name=False,
                # A resumed run keeps one best.ckpt (replaced only when its restored best score improves) rather
                # than adding best-v1.ckpt beside a stale best.ckpt that find_checkpoint would pick.
                enable_version_counter=False, last_every_n_steps=last_every_n_steps,
            ))
        plugins = _as_list(trainer_config.get("plugins"))
        if not any(isinstance(p, CheckpointIO) for p in plugins):  # a kill while saving keeps the old file
            kwargs["plugins"] = [*plugins, AtomicCheckpointIO()]
    kwargs["callbacks"] = callbacks
    return kwargs
