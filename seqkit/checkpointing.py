"""Crash-safe checkpoints for ``seqkit fit``: atomic writes, mid-epoch ``last.ckpt`` and exact resume.

- :class:`AtomicCheckpointIO` writes each checkpoint to a temporary file in the same folder, ``fsync``s it and
  renames it over the old one (``os.replace``), so a kill while saving leaves the previous checkpoint intact.
- :class:`RunCheckpoint` keeps ``best.ckpt`` (the model's metric) and ``last.ckpt``, which it also writes every
  ``last_every_n_steps`` training steps so a killed run loses little work.
- :class:`ResumeRandomState` stores every rank's random generators in every checkpoint and restores each rank's own
  right before the first batch of a resumed run, so dropout continues as if the run had never stopped. With the
  training loader's position (:mod:`seqkit.data.resumable`) and every rank's carried recurrent state
  (:class:`seqkit.tasks.base.CarriedStates`), a run resumed after ``kill -9`` ends with the same weights as an
  uninterrupted one, on one process or several (on the same number of them).
"""

from __future__ import annotations

import os
import random
import re
import tempfile
import warnings
import zipfile
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.utilities import rank_zero_warn

from seqkit.distributed import every_rank, own_share
from seqkit.errors import CheckpointError


def _fsync_folder(folder: Path) -> None:
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:  # not possible everywhere (Windows); the rename itself is still atomic
        return
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_error(error: BaseException) -> OSError | None:
    """The :class:`OSError` behind ``error``: torch's zip writer reports a write the disk refused (full, quota) as
    ``RuntimeError: ... unexpected pos``, with the file's own error as its context."""
    seen: BaseException | None = error
    while seen is not None and not isinstance(seen, OSError):
        seen = seen.__cause__ or seen.__context__
    return seen


def atomic_torch_save(obj: Any, path: str | Path) -> None:
    """``torch.save`` to ``path`` so that readers see the old file or the complete new one, never a partial one.
    A write the storage refuses raises its :class:`OSError` (not torch's ``unexpected pos``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes the file private; checkpoints follow the umask
        with os.fdopen(handle, "wb") as file:
            try:
                torch.save(obj, file)
            except RuntimeError as error:
                cause = _write_error(error)
                if cause is None:
                    raise
                raise cause from None
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def remove_partial_checkpoints(folder: str | Path) -> None:
    """Delete temporary files a killed save left behind."""
    for leftover in Path(folder).glob(".*.ckpt.*.tmp"):
        leftover.unlink(missing_ok=True)


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's ``TorchCheckpointIO`` with atomic, fsynced writes of local files (remote paths as before)."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None) -> None:
        if storage_options is not None or "://" in str(path):
            return super().save_checkpoint(checkpoint, path, storage_options)
        try:
            atomic_torch_save(checkpoint, path)
        except OSError as error:  # full disk, read-only folder...: the previous checkpoint is still there
            reason = error.strerror or type(error).__name__
            raise CheckpointError(
                f"Could not write checkpoint {path} ({reason}); the previous checkpoint is intact. Free space "
                "or fix the folder, then resume with --ckpt_path last --run_dir RUN."
            ) from None
        return None


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """``torch.load(path, weights_only=True)`` on the CPU, with one-line :class:`CheckpointError`s.

    Tensors and plain containers only: a file holding other objects (a pickle that could run code) is refused, and
    the advice to load it with ``weights_only=False`` is never given. Both the zip format and the older (legacy)
    format of ``torch.save`` are read.
    """
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"Checkpoint {path} is a folder, not a .ckpt file.")
    if not path.is_file():
        raise CheckpointError(f"Checkpoint {path} does not exist.")
    try:
        with warnings.catch_warnings():  # torch's notes on pickle protocols of a file about to be refused
            warnings.simplefilter("ignore")
            checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=zipfile.is_zipfile(path))
    except Exception as error:
        if re.search(r"unsupported global|unsupported class|global .* is blocked", str(error), re.IGNORECASE):
            raise CheckpointError(
                f"Checkpoint {path} holds objects other than tensors and plain values; seqkit does not load it "
                "(nothing loaded from a file may run code). Use a checkpoint written by seqkit fit."
            ) from None
        raise CheckpointError(
            f"Checkpoint {path} cannot be read: it is damaged, truncated or not a PyTorch checkpoint. Use another "
            "checkpoint of the run (e.g. checkpoints/best.ckpt) or train again."
        ) from None
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise CheckpointError(f"{path} is not a Lightning checkpoint (no state_dict).")
    return checkpoint


def check_checkpoint(path: str | Path) -> None:
    """Raise :class:`CheckpointError` unless ``path`` reads as a checkpoint with ``torch.load(weights_only=True)``."""
    read_checkpoint(path)


class RunCheckpoint(ModelCheckpoint):
    """``ModelCheckpoint`` that also writes ``last.ckpt`` every ``last_every_n_steps`` training steps, and at the last
    step of a run stopped in the middle of an epoch (``max_steps``, ``max_time``, ``trainer.should_stop``).

    The best checkpoint is still chosen at validation time and ``last.ckpt`` still written at every epoch end; the
    step-based saves only add mid-epoch resume points (never on an epoch's last batch: validation comes next). An
    epoch that a stop cut short keeps the ``last.ckpt`` of its last step, which says where in the epoch the run
    stood: the epoch-end save would record the epoch as done, and a resume would skip the rest of it. A model
    that takes no optimizer step (the echo-state classifier solves its readout) is saved too.
    """

    def __init__(self, *args: Any, last_every_n_steps: int | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("save_last", True)
        super().__init__(*args, **kwargs)
        self.last_every_n_steps = last_every_n_steps
        self._keep_last = False

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_train_start(trainer, pl_module)
        if trainer.global_step == 0 and not any(o.param_groups for o in trainer.optimizers):  # none, or a mock one
            # A model that takes no optimizer step (an echo-state readout is solved) stays at global step 0, which
            # ModelCheckpoint reads as "already saved at this step": it would never write best.ckpt.
            self._last_global_step_saved = -1

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)
        if not self.save_last or trainer.fit_loop.epoch_loop.batch_progress.is_last_batch:
            return
        every = self.last_every_n_steps
        if not (every and trainer.global_step % every == 0) and not _stops_after_this_step(trainer):
            return
        if self._should_skip_saving_checkpoint(trainer):
            return
        saved_at = self._last_global_step_saved
        self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))
        # ModelCheckpoint saves at most once per step: a validation at this same step must still write best.ckpt.
        self._last_global_step_saved = saved_at

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._keep_last = _epoch_cut_short(trainer)
        try:
            super().on_train_epoch_end(trainer, pl_module)
            # Validating every N steps, ModelCheckpoint saves only after validations: an epoch whose last step is not
            # one of them would end with a last.ckpt up to N steps old.
            if self.save_last and not self._should_skip_saving_checkpoint(trainer):
                self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))
        finally:
            self._keep_last = False

    def _save_last_checkpoint(self, trainer: L.Trainer, monitor_candidates: dict[str, Any]) -> None:
        if not self._keep_last:
            super()._save_last_checkpoint(trainer, monitor_candidates)


def _stops_after_this_step(trainer: L.Trainer) -> bool:
    """Whether training ends after the step that just ran: ``max_steps`` reached, or a stop requested (the
    ``Timer`` of ``max_time`` and early stopping set ``trainer.should_stop``, the same on every rank)."""
    return trainer.should_stop or 0 <= trainer.max_steps <= trainer.global_step


def _epoch_cut_short(trainer: L.Trainer) -> bool:
    """Whether the epoch now ending stopped before its last batch."""
    done = trainer.fit_loop.epoch_loop.batch_progress.current.processed
    return done < trainer.num_training_batches


class ResumeRandomState(L.Callback):
    """Saves every rank's torch, CUDA, Python and NumPy random states in checkpoints; restores each rank's own before
    the first training batch after a resume (not at load time: the sanity check and data set-up run in between).

    Resuming on a different number of processes cannot continue every rank's generators: each rank then starts
    from rank zero's, with a warning.
    """

    def __init__(self) -> None:
        self._pending: dict[str, Any] | None = None

    def state_dict(self) -> dict[str, Any]:
        return {"ranks": every_rank(random_state())}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if "ranks" not in state_dict:  # written before every rank's state was kept: one process's
            self._pending = state_dict
            return
        self._pending = own_share(state_dict["ranks"])
        if self._pending is None:
            rank_zero_warn(f"This run was saved by {len(state_dict['ranks'])} processes: every rank continues from "
                           "rank zero's random state (a resume is exact on the same number of processes).")
            self._pending = state_dict["ranks"][0]

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any,
                             batch_idx: int) -> None:
        state, self._pending = self._pending, None
        if state is not None:
            set_random_state(state)


def random_state() -> dict[str, Any]:
    """This process's torch, Python, NumPy and (when in use) current CUDA device's random states, as tensors and
    plain values (a checkpoint holding them loads with ``weights_only=True``)."""
    name, keys, position, has_gauss, cached = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "python": random.getstate(),
        "numpy": [name, torch.from_numpy(keys.astype(np.int64)), position, has_gauss, cached],
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def set_random_state(state: dict[str, Any]) -> None:
    """Restore what :func:`random_state` returned (``cuda``: one device's state, or every device's in the format
    of checkpoints written before each rank kept its own)."""
    torch.set_rng_state(state["torch"])
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, position, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), position, has_gauss, cached))
    cuda = state.get("cuda")
    if cuda is None or not torch.cuda.is_available():
        return
    if isinstance(cuda, torch.Tensor):
        torch.cuda.set_rng_state(cuda)
    elif len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)
