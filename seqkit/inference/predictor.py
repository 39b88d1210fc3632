"""The base of every predictor :func:`seqkit.inference.load` returns: a trained model in eval mode with its
tokenizers and the settings it was trained with."""

from __future__ import annotations

import inspect
from typing import Any

from seqkit.pretrained.folder import SeqkitModel


def default_of(cls: type, name: str) -> Any:
    """The default value of ``cls.__init__``'s parameter ``name``: settings a run did not record get the value the
    class itself would use, so no default is written twice."""
    return inspect.signature(cls).parameters[name].default


class Predictor:
    """A loaded seqkit model (eval mode): ``module``, ``tokenizer`` (and ``tokenizers`` by role), settings.

    Task-specific predictors add ``generate``, ``classify``, ``translate``, ``explain`` or ``forecast``.
    """

    def __init__(self, model: SeqkitModel) -> None:
        self.model = model
        self.module = model.module.eval()
        self.tokenizers = model.tokenizers
        self.tokenizer = model.tokenizer

    @property
    def device(self) -> Any:
        return next(self.module.parameters()).device

    def to(self, device: Any) -> Predictor:
        """Move the model to ``device`` (``"cuda"``, ``"cpu"``...); returns ``self``."""
        self.module.to(device)
        return self

    def data_setting(self, name: str, datamodule_class: type) -> Any:
        """The run's DataModule setting ``name`` (``max_length``...), else ``datamodule_class``'s default."""
        settings = self.model.data_settings().get("init_args") or {}
        return settings[name] if settings.get(name) is not None else default_of(datamodule_class, name)

    def save_pretrained(self, folder: str, **kwargs: Any) -> None:
        """Write a published folder (see :mod:`seqkit.pretrained.folder`)."""
        self.model.save_pretrained(folder, **kwargs)

    def __repr__(self) -> str:
        vocab = f", vocab={self.tokenizer.vocab_size}" if self.tokenizer is not None else ""
        return f"{type(self).__name__}({self.model.task_class_path}{vocab})"
