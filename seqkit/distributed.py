"""What the processes of one distributed run agree on, beyond what Lightning synchronises itself.

- :func:`launched_as_rank_zero`: whether this process is global rank zero, read from the launcher's environment
  before any Trainer or process group exists (only rank zero creates and locks a run folder).
- :class:`FollowRankZeroRunDir`: the other ranks take rank zero's run folder once the processes are connected.
- :func:`gather_objects`, :func:`every_rank` / :func:`own_share` and :func:`ranks_where`: small collectives on the
  process group Lightning set up (plain Python objects gathered to every rank; state that differs between ranks
  saved in a checkpoint and read back by each rank; the ranks on which a condition holds). Outside a distributed
  run they return what one process would.
- :func:`leave_process_group`: the process group is destroyed as the process ends, not left to the interpreter.
"""

from __future__ import annotations

import os
from typing import Any

import lightning as L
import torch
import torch.distributed as dist


def _external_environment() -> Any:
    """The cluster environment that started this process, when one did (torchrun, SLURM's srun, LSF, MPI), in
    Lightning's order of detection; ``None`` when Lightning starts the processes itself."""
    from lightning.fabric.plugins.environments import (
        LSFEnvironment,
        MPIEnvironment,
        SLURMEnvironment,
        TorchElasticEnvironment,
    )

    for environment in (TorchElasticEnvironment, SLURMEnvironment, LSFEnvironment, MPIEnvironment):
        if environment.detect():
            return environment()
    return None


def strategy_for_launcher(strategy: Any) -> Any:
    """``strategy``, or plain DDP in place of a spawning one (``ddp_spawn``, ``ddp_fork``, ``ddp_notebook``, with
    or without ``_find_unused_parameters_true``) when torchrun or SLURM already started every process: spawning
    more from each of them would give two processes each rank."""
    if not isinstance(strategy, str) or _external_environment() is None:
        return strategy
    for start in ("_spawn", "_fork", "_notebook"):
        if strategy.startswith("ddp" + start):
            return "ddp" + strategy[len("ddp" + start):]
    return strategy


def launched_as_rank_zero() -> bool:
    """Whether the launcher made this process global rank zero.

    Read in Lightning's own order of cluster environments: torchrun (``RANK``), SLURM (``SLURM_PROCID``, under
    ``srun``), LSF and MPI; otherwise Lightning starts the processes itself and rank zero is the process started by
    hand on node 0 (``NODE_RANK`` unset or 0) before it starts its local children (``LOCAL_RANK`` 1, 2...).
    ``ddp_spawn``/``ddp_notebook`` workers are started later from rank zero's process, which counts as rank zero.
    """
    environment = _external_environment()
    if environment is not None:
        return environment.global_rank() == 0
    node = int(os.environ.get("NODE_RANK", os.environ.get("GROUP_RANK", 0)))
    return node == 0 and int(os.environ.get("LOCAL_RANK", 0)) == 0


def distributed() -> bool:
    """Whether a process group with more than one process is running."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank_and_size() -> tuple[int, int]:
    """``(global rank, world size)`` of the running process group; ``(0, 1)`` without one."""
    return (dist.get_rank(), dist.get_world_size()) if distributed() else (0, 1)


def gather_objects(value: Any) -> list[Any]:
    """Every rank's ``value``, in rank order, on every rank (``[value]`` in one process). A collective call: every
    rank must make it. Tensors inside ``value`` should be on the CPU (they are pickled)."""
    if not distributed():
        return [value]
    gathered: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, value)
    return gathered


def to_cpu(value: Any) -> Any:
    """``value`` with every tensor in it (nested in lists, tuples and dicts) moved to the CPU."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, list | tuple):
        return type(value)(to_cpu(item) for item in value)
    if isinstance(value, dict):
        return {key: to_cpu(item) for key, item in value.items()}
    return value


def every_rank(value: Any) -> list[Any]:
    """Every rank's ``value`` (tensors moved to the CPU), in rank order: what a checkpoint, written by rank zero
    alone, must hold of state that differs between ranks (random generators, carried recurrent states). A
    collective call: Lightning builds a checkpoint's contents on every rank."""
    return gather_objects(to_cpu(value))


def own_share(values: list[Any] | None) -> Any:
    """This rank's entry of a list :func:`every_rank` wrote; ``None`` when there is none for it (no list, or one
    written by a different number of processes)."""
    rank, size = rank_and_size()
    return values[rank] if isinstance(values, list) and len(values) == size else None


def from_rank_zero(value: float, device: torch.device | str = "cpu") -> float:
    """Rank zero's ``value`` on every rank (a collective call): for decisions read from a rank's own clock, which
    would otherwise set a different learning rate on each rank."""
    if not distributed():
        return value
    if dist.get_backend() == "nccl":
        device = torch.device("cuda", torch.cuda.current_device())
    tensor = torch.tensor([value], dtype=torch.float64, device=device)
    dist.broadcast(tensor, src=0)
    return float(tensor.item())


def ranks_where(condition: bool, device: torch.device | str = "cpu") -> list[int]:
    """The ranks on which ``condition`` holds, known to every rank (a collective call)."""
    if not distributed():
        return [0] if condition else []
    if dist.get_backend() == "nccl":  # NCCL collectives take CUDA tensors
        device = torch.device("cuda", torch.cuda.current_device())
    flags = torch.zeros(dist.get_world_size(), device=device)
    flags[dist.get_rank()] = float(condition)
    dist.all_reduce(flags)
    return [rank for rank, flag in enumerate(flags.tolist()) if flag]


def leave_process_group() -> None:
    """Destroys the default process group when this process joined one: called once, as the process ends.
    Left to the interpreter's shutdown, the backend's threads can outlive it and abort a run that succeeded
    (``terminate called without an active exception``, exit by SIGABRT)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


class FollowRankZeroRunDir(L.Callback):
    """Makes every rank's ``trainer.default_root_dir`` rank zero's, as soon as the process group exists (``setup``).

    Rank zero names a new run folder itself (a timestamp); a rank that could not derive the same name alone (no
    ``--run_dir``, no job id) held a placeholder until now. Lightning's loggers and checkpoints already take their
    folders from rank zero (``trainer.log_dir`` and ``ModelCheckpoint.dirpath`` are broadcast); this callback does
    the same for the root folder that callbacks and user code read.
    """

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        chosen = trainer.strategy.broadcast(trainer.default_root_dir)
        if chosen != trainer.default_root_dir:
            trainer._default_root_dir = chosen  # Trainer has no setter; the attribute is what the property reads
