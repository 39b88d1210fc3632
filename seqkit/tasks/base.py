"""The base of the task modules: hyperparameters, optimiser factories and old checkpoints' weight names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, is_dataclass, replace
from typing import Any, ClassVar, TypeVar

import lightning as L
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import Tensor

from seqkit.errors import DataError
from seqkit.tasks.optim import configure_optimization

Config = TypeVar("Config")


def as_config(default: Config, value: Config | Mapping[str, Any]) -> Config:
    """A settings group as its dataclass, whether given as one (recipes, Python) or as a dict (saved hparams, whose
    missing fields keep the ``default`` group's values)."""
    return replace(default, **value) if isinstance(value, Mapping) else value


class TaskModule(L.LightningModule):
    """A LightningModule holding a ``network``: saves its arguments as plain data, builds the recipe's optimiser.

    Subclasses call ``super().__init__(optimizer, lr_scheduler, **resolved)`` first. Their arguments are saved as
    hyperparameters (the factories left out; settings groups as dicts, so that checkpoints load with
    ``weights_only=True`` and ``hparams.yaml`` stays plain YAML), ``resolved`` in place of the arguments of the same
    names (e.g. a group given in part, completed); ``configure_optimizers`` builds the recipe's optimizer (default
    Adam, lr 1e-3) and scheduler, which follows ``monitor``.
    """

    #: Metric and mode the seqkit CLI's checkpointing (and plateau schedulers) follow.
    monitor: ClassVar[tuple[str, str]] = ("val_loss", "min")
    #: Old state-dict prefixes and their new names (e.g. ``{"encoder.": "network.encoder."}``): checkpoints and
    #: folders written before the weights moved load unchanged.
    legacy_keys: ClassVar[dict[str, str]] = {}

    def __init__(self, optimizer: OptimizerCallable | None = None,
                 lr_scheduler: LRSchedulerCallable | None = None, **resolved: Any) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["optimizer", "lr_scheduler"])  # the subclasses' arguments too
        self.hparams.update(resolved)
        for name, value in self.hparams.items():
            if is_dataclass(value) and not isinstance(value, type):
                self.hparams[name] = asdict(value)
        self.optimizer_factory = optimizer
        self.scheduler_factory = lr_scheduler
        if self.legacy_keys:
            self.register_load_state_dict_pre_hook(self._rename_legacy_keys)

    def data_tokenizer(self, needed_for: str) -> Any:
        """The DataModule's tokenizer, which ``needed_for`` (an option) needs when training starts."""
        tokenizer = getattr(self.trainer.datamodule, "tokenizer", None)
        if tokenizer is None:
            raise DataError(f"{needed_for} needs a DataModule with a tokenizer; without one, load the weights yourself "
                            "before training.")
        return tokenizer

    def forward(self, *inputs: Tensor) -> Any:
        """The network's outputs (see its ``forward`` for the inputs' and outputs' shapes)."""
        return self.network(*inputs)

    def _rename_legacy_keys(self, module, state_dict: dict, prefix: str, *args) -> None:
        for key in [key for key in state_dict if key.startswith(prefix)]:
            name = key[len(prefix):]
            old = next((old for old in self.legacy_keys if name.startswith(old)), None)
            if old is not None:
                state_dict[prefix + self.legacy_keys[old] + name[len(old):]] = state_dict.pop(key)

    def configure_optimizers(self):
        return configure_optimization(self, self.optimizer_factory, self.scheduler_factory)


class CarriedStates:
    """Mixed into a task that reads a token stream in chunks: ``_states`` (a dict the task creates) holds each
    split's recurrent state, carried from one chunk to the next and dropped when the split's epoch starts."""

    _states: dict[str, Any]

    def carried(self, split: str, ids: Tensor) -> Any:
        """The state carried in ``split`` (its batch on the second last axis), or None where it does not fit the
        batch ``ids`` ``(B, T)`` (the first chunk, or a last, smaller batch)."""
        state = self._states.get(split)
        first = state[0] if isinstance(state, tuple) else state
        return state if first is not None and first.shape[-2] == ids.shape[0] else None

    def on_train_epoch_start(self) -> None:
        self._states["train"] = None

    def on_validation_epoch_start(self) -> None:
        self._states["val"] = None

    def on_test_epoch_start(self) -> None:
        self._states["test"] = None
