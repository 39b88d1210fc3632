"""The base of the task modules: hyperparameters, optimiser factories and old checkpoints' weight names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, fields, is_dataclass, replace
from typing import Any, ClassVar, TypeVar

import lightning as L
import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import Tensor

from seqkit.data.info import DataInfo, DataNeed, check_needs
from seqkit.distributed import every_rank, own_share, rank_and_size
from seqkit.errors import ConfigError

Config = TypeVar("Config")


def as_config(default: Config, value: Config | Mapping[str, Any]) -> Config:
    """A settings group as its dataclass, whether given as one (recipes, Python) or as a dict (saved hparams, whose
    missing fields keep the ``default`` group's values). Groups inside the group (``network.encoder``) are read the
    same way; an unknown key is refused in one line."""
    if not isinstance(value, Mapping):
        return value
    known = {f.name: f for f in fields(default)}
    unknown = sorted(set(value) - set(known))
    if unknown:
        from difflib import get_close_matches

        close = get_close_matches(unknown[0], list(known), n=1)
        hint = f"; did you mean `{close[0]}`?" if close else f"; known: {', '.join(known)}."
        raise ConfigError(f"{type(default).__name__} has no setting `{unknown[0]}`{hint}")
    given = {}
    for name, item in value.items():
        inner = getattr(default, name)
        given[name] = as_config(inner, item) if is_dataclass(inner) and isinstance(item, Mapping) else item
    return replace(default, **given)


class TaskModule(L.LightningModule):
    """A LightningModule holding a ``network``: saves its arguments as plain data, builds the recipe's optimiser.

    Subclasses call ``super().__init__(optimizer, lr_scheduler, **resolved)`` first. Their arguments are saved as
    hyperparameters (the factories left out; settings groups as dicts, so that checkpoints load with
    ``weights_only=True`` and ``hparams.yaml`` stays plain YAML), ``resolved`` in place of the arguments of the same
    names (e.g. a group given in part, completed). A task whose class names a ``default_network`` has its
    ``network`` argument completed from it and read back as :attr:`network_config`. ``configure_optimizers`` builds
    the recipe's optimizer (default Adam, lr 1e-3) and scheduler, which follows ``monitor``.
    """

    #: Metric and mode the seqkit CLI's checkpointing (and plateau schedulers) follow.
    monitor: ClassVar[tuple[str, str]] = ("val_loss", "min")
    #: Old state-dict prefixes and their new names (e.g. ``{"encoder.": "network.encoder."}``): checkpoints and
    #: folders written before the weights moved load unchanged.
    legacy_keys: ClassVar[dict[str, str]] = {}
    #: The defaults of the ``network`` settings group, for a task that has one: a ``network`` given in part (a dict,
    #: as saved hparams hold it) is completed from them.
    default_network: ClassVar[Any] = None

    def __init__(self, optimizer: OptimizerCallable | None = None,
                 lr_scheduler: LRSchedulerCallable | None = None, **resolved: Any) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["optimizer", "lr_scheduler"])  # the subclasses' arguments too
        if self.default_network is not None:
            resolved.setdefault("network", as_config(self.default_network, self.hparams["network"]))
        #: The ``network`` settings group as its dataclass, the one the task builds its network from (``None`` for
        #: a task without the group).
        self.network_config = resolved.get("network")
        self.hparams.update(resolved)
        for name, value in self.hparams.items():
            if is_dataclass(value) and not isinstance(value, type):
                self.hparams[name] = asdict(value)
        self.optimizer_factory = optimizer
        self.scheduler_factory = lr_scheduler
        if self.legacy_keys:
            self.register_load_state_dict_pre_hook(self._rename_legacy_keys)

    @classmethod
    def upgrade_hparams(cls, hparams: dict[str, Any]) -> dict[str, Any]:
        """``hparams`` saved by an older seqkit with its renamed settings under their present names, before flat
        settings are folded into the groups (:func:`seqkit.pretrained.building.fold_groups`). Nothing by default;
        a task whose settings were renamed, not just moved into a group, overrides it."""
        return hparams

    #: The data this task was given with :meth:`attach_data` (items it leaves NOT_GIVEN come from the DataModule).
    _given_data: DataInfo = DataInfo()
    #: The data in force: the DataModule's ``data_info()`` updated with the given one (set in ``setup``).
    _data: DataInfo = DataInfo()

    def data_needs(self) -> list[DataNeed]:
        """The :class:`~seqkit.data.DataInfo` items this task, with its settings, reads, and for what; checked
        when training, validation or testing starts (default: none)."""
        return []

    def attach_data(self, info: DataInfo) -> TaskModule:
        """Give the task what it reads from the data besides the batches (tokenizers, ``bptt``, references...);
        items ``info`` leaves NOT_GIVEN still come from the Trainer's DataModule when it has ``data_info()``.
        Returns the task."""
        self._given_data = info
        self._data = self._given_data
        return self

    @property
    def data_info(self) -> DataInfo:
        """The :class:`~seqkit.data.DataInfo` in force (complete once the Trainer has called ``setup``)."""
        return self._data

    def setup(self, stage: str) -> None:
        """Take the DataModule's ``data_info()`` (when it has one), update it with :meth:`attach_data`'s, and
        raise a one-line :class:`~seqkit.errors.DataError` when an item :meth:`data_needs` names for ``stage``
        is missing."""
        datamodule = getattr(self._trainer, "datamodule", None) if self._trainer is not None else None
        provider = getattr(datamodule, "data_info", None)
        provided = provider() if callable(provider) else DataInfo()
        self._data = provided.updated(self._given_data)
        check_needs(type(self).__name__, self._data, self.data_needs(), stage)

    def forward(self, *inputs: Tensor) -> Any:
        """The network's outputs (see its ``forward`` for the inputs' and outputs' shapes)."""
        return self.network(*inputs)

    def _rename_legacy_keys(self, module, state_dict: dict, prefix: str, *args) -> None:
        for key in [key for key in state_dict if key.startswith(prefix)]:
            name = key[len(prefix):]
            old = next((old for old in self.legacy_keys if name.startswith(old)), None)
            if old is not None:
                state_dict[prefix + self.legacy_keys[old] + name[len(old):]] = state_dict.pop(key)

    def param_groups(self) -> list[dict] | None:
        """Parameter groups with their own learning rate (``{"params": [...], "lr_scale": s}``: the recipe's rate
        times ``s``; a scheduler then scales each group from there), or ``None`` for one rate for all."""
        return None

    def configure_optimizers(self):
        """The recipe's optimizer (without one, Adam with lr 1e-3) and scheduler, in Lightning's format;
        ``ReduceLROnPlateau``-style schedulers follow the ``monitor`` metric."""
        # A None default, not a class: jsonargparse would carry a default class's init_args over to the one a
        # recipe names.
        groups = self.param_groups()
        params = self.parameters() if groups is None else [
            {k: v for k, v in group.items() if k != "lr_scale"} for group in groups]
        optimizer = self.optimizer_factory(params) if self.optimizer_factory else torch.optim.Adam(params, lr=1e-3)
        for group, settings in zip(optimizer.param_groups, groups or [], strict=False):
            group["lr"] *= settings.get("lr_scale", 1.0)
        if self.scheduler_factory is None:
            return optimizer
        scheduler = {"scheduler": self.scheduler_factory(optimizer), "interval": "epoch", "monitor": self.monitor[0]}
        return {"optimizer": optimizer, "lr_scheduler": scheduler}


class CarriedStates:
    """Mixed into a task that reads a token stream in chunks: ``_states`` (a dict the task creates) holds each
    split's recurrent state, carried from one chunk to the next and dropped when the split's epoch starts.

    The carried training state belongs to the run's position in the stream, so checkpoints keep it (every rank's:
    under DDP each rank reads its own rows) and a resumed run continues with it. It is kept in the parameters'
    dtype and device whatever the precision it was computed in (a ``bf16-mixed`` run resumes in ``32-true``).
    Lightning does not call ``on_train_epoch_start`` when it resumes mid-epoch, so the restored state is used as is.
    """

    _states: dict[str, Any]

    def carried(self, split: str, ids: Tensor) -> Any:
        """The state carried in ``split`` (its batch on the second last axis), or None where it does not fit the
        batch ``ids`` ``(B, T)`` (the first chunk, or a last, smaller batch)."""
        state = first = self._states.get(split)
        while isinstance(first, tuple | list):  # per layer, (h, c): any of its tensors tells the batch size
            first = first[0]
        if first is None or first.shape[-2] != ids.shape[0]:
            return None
        return _convert(state, self.device, self.dtype)

    def on_train_epoch_start(self) -> None:
        self._states["train"] = None

    def on_validation_epoch_start(self) -> None:
        self._states["val"] = None

    def on_test_epoch_start(self) -> None:
        self._states["test"] = None

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        train = self._states.get("train")
        checkpoint["seqkit_train_states"] = every_rank(None if train is None else _convert(train, "cpu", self.dtype))

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        if "seqkit_train_states" in checkpoint:
            self._states["train"] = own_share(checkpoint["seqkit_train_states"])
        elif rank_and_size()[1] == 1:  # a checkpoint from before every rank's state was kept: one process's
            self._states["train"] = checkpoint.get("seqkit_train_state")


def _convert(state: Any, device: torch.device | str, dtype: torch.dtype) -> Any:
    """``state`` (tensors nested in lists and tuples) on ``device``, floating tensors in ``dtype``."""
    if isinstance(state, Tensor):
        return state.to(device=device, dtype=dtype if state.is_floating_point() else state.dtype)
    if isinstance(state, list | tuple):
        return type(state)(_convert(item, device, dtype) for item in state)
    return state
