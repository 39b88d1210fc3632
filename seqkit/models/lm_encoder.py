"""A trained language model's embedding and recurrent stack, reused as a classifier's encoder (ULMFiT-style).

The language model reads left to right, so on right-padded batches every real position's output is exactly what
the same text gives alone: no packing is needed, only the outputs past each length are zeroed and the final
vector is read at the last real token.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from seqkit.checkpointing import read_checkpoint
from seqkit.errors import CheckpointError
from seqkit.models.rnn_lm import RNNLanguageModel, RNNLMConfig
from seqkit.runs import find_checkpoint

#: The data-linked arguments of :class:`RNNLanguageModel` beside its :class:`RNNLMConfig`.
DATA_KEYS = ("vocab_size", "pad_id")
#: The keys of an architecture (see :func:`read_lm_checkpoint`): the data-linked sizes and the network's settings
#: (the rest of a LanguageModel's settings are about training it).
ARCHITECTURE_KEYS = (*DATA_KEYS, *(f.name for f in fields(RNNLMConfig)))
#: The weight names of the language model's network: ``network.`` since it is held as ``network``, ``model.`` before.
_PREFIXES = ("network.", "model.")


def architecture_of(hparams: dict[str, Any]) -> dict[str, Any]:
    """A LanguageModel's architecture from its saved hyperparameters: the network group (``network``) or, in a
    checkpoint written before the group, the same settings at the top level, with the data-linked sizes."""
    network = hparams.get("network")
    settings = dict(network) if isinstance(network, dict) else hparams
    architecture = {key: settings[key] for key in ARCHITECTURE_KEYS if key in settings}
    architecture.update({key: hparams[key] for key in DATA_KEYS if key in hparams})
    return architecture


def read_lm_checkpoint(path: str | Path) -> tuple[dict[str, Any], dict[str, Tensor], Path]:
    """Read a :class:`~seqkit.tasks.LanguageModel` checkpoint (run directory or ``.ckpt``) without unpickling code.

    Returns:
        ``(architecture, encoder_state, run_dir)``: the :class:`RNNLanguageModel` arguments as one flat dict
        (:data:`ARCHITECTURE_KEYS`), the weights of its embedding and recurrent layers (decoder left out), and the run
        directory (which holds ``tokenizer/``).
    """

    checkpoint_file, run_dir = find_checkpoint(path)
    try:
        checkpoint = read_checkpoint(checkpoint_file)
    except CheckpointError as error:
        raise CheckpointError(f"pretrained_lm: {error}") from None
    hparams = checkpoint.get("hyper_parameters") or {}
    state = checkpoint.get("state_dict") or {}
    prefix = next((p for p in _PREFIXES if any(key.startswith(p + "layers.") for key in state)), None)
    if prefix is None or "vocab_size" not in hparams:
        raise CheckpointError(
            f"{checkpoint_file} is not a seqkit LanguageModel checkpoint (no network.layers.* weights); "
            "pretrained_lm needs a run of recipes/lm/*.yaml."
        )
    encoder_state = {
        key.removeprefix(prefix): value for key, value in state.items()
        if key.startswith((prefix + "embedding.", prefix + "layers."))
    }
    return architecture_of(hparams), encoder_state, run_dir


class LanguageModelEncoder(nn.Module):
    """Token ids ``(B, T)`` with lengths ``(B,)`` -> outputs ``(B, T, H)`` and a final vector ``(B, H)``.

    The embedding and recurrent layers of an :class:`RNNLanguageModel` (its decoder is dropped), with the same
    interface as :class:`~seqkit.nn.RecurrentEncoder` so a classifier can pool either. Its AWD dropouts stay
    active while fine-tuning, as in ULMFiT.

    Args:
        architecture: :class:`RNNLanguageModel` arguments as one flat dict (see :func:`read_lm_checkpoint`).
    """

    def __init__(self, architecture: dict[str, Any]) -> None:
        super().__init__()
        settings = {key: value for key, value in architecture.items() if key not in DATA_KEYS}
        self.lm = RNNLanguageModel(architecture["vocab_size"], RNNLMConfig(**settings), architecture.get("pad_id"))
        self.lm.decoder = None  # the classifier needs no next-token output layer
        self.lm.adaptive = None

    @property
    def embedding(self) -> nn.Embedding:
        return self.lm.embedding

    @property
    def output_size(self) -> int:
        return self.lm.output_size

    @property
    def layers(self) -> nn.ModuleList:
        return self.lm.layers

    def forward(self, ids: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Returns ``outputs`` ``(B, T, H)`` (zero past each length) and the output at the last real token."""
        outputs, _, _ = self.lm(ids)
        lengths = lengths.to(outputs.device)
        mask = torch.arange(outputs.shape[1], device=outputs.device) < lengths[:, None]  # (B, T)
        outputs = outputs * mask.unsqueeze(-1)
        last = outputs[torch.arange(len(ids), device=outputs.device), (lengths - 1).clamp(min=0)]  # (B, H)
        return outputs, last

    def last_hidden(self, final: Tensor) -> Tensor:
        """The final vector ``(B, H)`` (what :meth:`forward` returned as its second value)."""
        return final

    def load_encoder_state(self, state: dict[str, Tensor]) -> list[str]:
        """Copy a language model's embedding and layer weights in; returns the names loaded.

        Raises :class:`CheckpointError` when a weight is missing, unexpected or of another shape.
        """
        own = self.lm.state_dict()
        wanted = {key for key in own if key.startswith(("embedding.", "layers."))}
        missing, unexpected = sorted(wanted - state.keys()), sorted(state.keys() - wanted)
        wrong = [key for key in wanted & state.keys() if own[key].shape != state[key].shape]
        if missing or unexpected or wrong:
            problem = (f"missing {missing[:3]}" if missing else f"unexpected {unexpected[:3]}" if unexpected
                       else f"shape mismatch in {wrong[:3]}")
            raise CheckpointError(f"The language model weights do not fit this encoder: {problem}.")
        self.lm.load_state_dict(state, strict=False)
        return sorted(wanted)
