"""Crash-safe checkpoints for ``seqkit fit``: atomic writes, mid-epoch ``last.ckpt`` and exact resume.

- :class:`AtomicCheckpointIO` writes each checkpoint to a temporary file in the same folder, ``fsync``s it and
  renames it over the old one (``os.replace``), so a kill while saving leaves the previous checkpoint intact.
- :class:`RunCheckpoint` keeps ``best.ckpt`` (the model's metric) and ``last.ckpt``, which it also writes every
  ``last_every_n_steps`` training steps so a killed run loses little work.
- :class:`ResumeRandomState` stores the random generators' states in every checkpoint and restores them right
  before the first batch of a resumed run, so dropout continues as if the run had never stopped. With the training
  loader's position (:mod:`seqkit.data.resumable`) and the language model's carried state, a run resumed after
  ``kill -9`` ends with the same weights as an uninterrupted one (on one process).
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


def atomic_torch_save(obj: Any, path: str | Path) -> None:
    """``torch.save`` to ``path`` so that readers see the old file or the complete new one, never a partial one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes the file private; checkpoints follow the umask
        with os.fdopen(handle, "wb") as file:
            torch.save(obj, file)
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
                f"Could not write checkpoint {path} ({reason}); the previous checkpoint is intact. Free the space "
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
    """``ModelCheckpoint`` that also writes ``last.ckpt`` every ``last_every_n_steps`` training steps.

    The best checkpoint is still chosen at validation time and ``last.ckpt`` still written at every epoch end; the
    step-based saves only add mid-epoch resume points (never on an epoch's last batch: validation comes next).
    """

    def __init__(self, *args: Any, last_every_n_steps: int | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("save_last", True)
        super().__init__(*args, **kwargs)
        self.last_every_n_steps = last_every_n_steps

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)
        every = self.last_every_n_steps
        if not every or not self.save_last or trainer.global_step % every:
            return
        if trainer.fit_loop.epoch_loop.batch_progress.is_last_batch or self._should_skip_saving_checkpoint(trainer):
            return
        saved_at = self._last_global_step_saved
        self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))
        # ModelCheckpoint saves at most once per step: a validation at this same step must still write best.ckpt.
        self._last_global_step_saved = saved_at

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_train_epoch_end(trainer, pl_module)
        # Validating every N steps, ModelCheckpoint saves only after validations: an epoch whose last step is not one
        # of them (or a run stopped by max_time) would end with a last.ckpt up to N steps old.
        if self.save_last and not self._should_skip_saving_checkpoint(trainer):
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))


class ResumeRandomState(L.Callback):
    """Saves the torch, CUDA, Python and NumPy random states in checkpoints; restores them before the first
    training batch after a resume (not at load time: the sanity check and data set-up run in between)."""

    def __init__(self) -> None:
        self._pending: dict[str, Any] | None = None

    def state_dict(self) -> dict[str, Any]:
        name, keys, position, has_gauss, cached = np.random.get_state()
        state = {
            "torch": torch.get_rng_state(),
            "python": random.getstate(),
            "numpy": [name, torch.from_numpy(keys.astype(np.int64)), position, has_gauss, cached],
        }
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._pending = state_dict

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any,
                             batch_idx: int) -> None:
        state, self._pending = self._pending, None
        if state is None:
            return
        torch.set_rng_state(state["torch"])
        version, internal, gauss = state["python"]
        random.setstate((version, tuple(internal), gauss))
        name, keys, position, has_gauss, cached = state["numpy"]
        np.random.set_state((name, keys.numpy().astype(np.uint32), position, has_gauss, cached))
        if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(state["cuda"])
