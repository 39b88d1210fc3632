"""Training a neural history compressor on a token stream (character-level language modeling).

Both levels train together: the lower net on every next-token prediction, the higher net on the surprises the lower
net currently makes. Evaluation reports the whole system's bits per token, the lower net's alone, and the share of
tokens passed up.
"""

from __future__ import annotations

import math

import torch
from lightning.pytorch.cli import OptimizerCallable
from torch import Tensor
from torchmetrics import MeanMetric

from seqkit.models.history_compressor import (
    HistoryCompressor,
    HistoryCompressorConfig,
    higher_loss,
    lower_loss,
    system_bits,
)
from seqkit.tasks.base import CarriedStates, TaskModule

#: The network's default settings.
DEFAULT_NETWORK = HistoryCompressorConfig()


class HistoryCompressorLM(CarriedStates, TaskModule):
    """A :class:`~seqkit.models.history_compressor.HistoryCompressor` on a
    :class:`~seqkit.data.LanguageModelingDataModule` stream (batches ``input_ids``/``target_ids`` ``(B, T)``).

    The lower net's state is carried across chunks of the stream (truncated BPTT); the higher net restarts at every
    chunk, so it links surprises at most ``bptt`` steps apart. Logged per split: ``{split}_bpc`` (the whole system,
    bits per token), ``{split}_lower_bpc`` (the lower net alone), ``{split}_passed`` (share of tokens passed up) and
    ``{split}_loss`` (the system's nats per token; the checkpoint metric).

    Args:
        vocab_size: From the DataModule.
        network: The two nets' sizes, :class:`~seqkit.models.history_compressor.HistoryCompressorConfig`
            (``model.init_args.network``).
        pad_id: From the DataModule (unused: streams have no padding).
        optimizer: Optimizer factory; default Adam, lr 1e-3.
    """

    #: Checkpoints and folders written when the network was ``model``.
    legacy_keys = {"model.": "network."}
    default_network = DEFAULT_NETWORK

    def __init__(self, vocab_size: int, network: HistoryCompressorConfig = DEFAULT_NETWORK, pad_id: int = 0,
                 optimizer: OptimizerCallable | None = None) -> None:
        super().__init__(optimizer)
        self.network = HistoryCompressor(vocab_size, self.network_config)
        self._states: dict[str, tuple[Tensor, Tensor] | None] = {}
        for split in ("val", "test"):
            for name in ("bits", "lower_bits", "passed"):
                setattr(self, f"{split}_{name}", MeanMetric())

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        ids, targets = batch["input_ids"], batch["target_ids"]
        logits, hidden, passed, state = self.network.lower_outputs(ids, targets, self.carried("train", ids))
        self._states["train"] = (state[0].detach(), state[1].detach())
        low = lower_loss(logits, targets)
        # The higher net learns from the surprises; its input is the lower net's state, not its gradient path.
        high = higher_loss(logits.detach(), self.network.higher(targets, passed, hidden.detach()), targets, passed)
        self.log("train_lower_loss", low, prog_bar=True)
        self.log("train_higher_loss", high)
        self.log("train_passed", passed.float().mean(), prog_bar=True)
        return low + high

    def _evaluate(self, split: str, batch: dict[str, Tensor]) -> None:
        ids, targets = batch["input_ids"], batch["target_ids"]
        logits, hidden, passed, state = self.network.lower_outputs(ids, targets, self.carried(split, ids))
        self._states[split] = state
        bits = system_bits(logits, self.network.higher(targets, passed, hidden), targets)
        lower = torch.nn.functional.cross_entropy(logits.transpose(1, 2), targets, reduction="none") / math.log(2)
        weight = targets.numel()
        getattr(self, f"{split}_bits").update(bits.mean(), weight)
        getattr(self, f"{split}_lower_bits").update(lower.mean(), weight)
        getattr(self, f"{split}_passed").update(passed.float().mean(), weight)

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self._evaluate("val", batch)

    def test_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self._evaluate("test", batch)

    def _log_epoch(self, split: str) -> None:
        bits = getattr(self, f"{split}_bits").compute()
        self.log(f"{split}_loss", bits * math.log(2), prog_bar=True)
        self.log(f"{split}_bpc", bits, prog_bar=True)
        self.log(f"{split}_lower_bpc", getattr(self, f"{split}_lower_bits").compute())
        self.log(f"{split}_passed", getattr(self, f"{split}_passed").compute(), prog_bar=True)
        for name in ("bits", "lower_bits", "passed"):
            getattr(self, f"{split}_{name}").reset()

    def on_validation_epoch_end(self) -> None:
        self._log_epoch("val")

    def on_test_epoch_end(self) -> None:
        self._log_epoch("test")


from seqkit.registry import TaskDeclaration, register_task  # noqa: E402 - the declaration closes the module

register_task(TaskDeclaration(
    HistoryCompressorLM, pipeline_tag="text-generation", tags=("language-model", "history-compressor"),
    data_links=("vocab_size", "pad_id"),
))
