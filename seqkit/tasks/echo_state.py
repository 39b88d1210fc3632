"""Echo-state models: a text classifier whose readout is solved in closed form, and a next-token model whose softmax
readout is trained by gradient descent. The reservoir is fixed in both.

The classifier's training is one pass over the data: ``training_step`` adds each batch to the readout's normal
equations (manual optimisation, no optimizer, no gradients); the ridge system is solved before anything is evaluated.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from lightning.pytorch.cli import OptimizerCallable
from torch import Tensor
from torch.nn.parallel import DistributedDataParallel
from torchmetrics import MeanMetric

from seqkit.distributed import every_rank, own_share
from seqkit.errors import CheckpointError
from seqkit.models.echo_state import (
    EchoStateClassifierConfig,
    EchoStateClassifierNet,
    EchoStateLMConfig,
    EchoStateLMNet,
)
from seqkit.tasks.base import CarriedStates, TaskModule
from seqkit.tasks.classifier_steps import ClassifierSteps

#: The readout's normal-equation sums (state-dict names): each rank's own until they are added up.
READOUT_SUMS = [f"network.readout.{name}" for name in ("gram", "cross", "count")]
CLASSIFIER_NETWORK = EchoStateClassifierConfig()
DEFAULT_LM_NETWORK = EchoStateLMConfig()


class EchoStateClassifier(ClassifierSteps, TaskModule):
    """A :class:`~seqkit.models.echo_state.EchoStateClassifierNet` trained by ridge regression on one-hot labels.

    Each training epoch starts the normal equations afresh (the reservoir's features do not change between epochs,
    so one epoch is all a fit needs); the readout is solved, summed across processes under DDP, before validation or
    testing. ``val_loss``/``test_loss`` are the cross-entropy of the softmax of the regression scores: comparable
    between echo-state runs, not a calibrated probability.

    Args:
        vocab_size, num_classes, pad_id, label_names: From the DataModule (the seqkit CLI links them).
        network: :class:`~seqkit.models.echo_state.EchoStateClassifierConfig`: the ``reservoir`` group and the
            ridge penalty ``alpha``; a dict is read as one.
    """

    legacy_keys = {"net.": "network."}  # checkpoints written when it was ``net``
    default_network = CLASSIFIER_NETWORK

    def __init__(self, vocab_size: int, num_classes: int, pad_id: int = 0,
                 network: EchoStateClassifierConfig = CLASSIFIER_NETWORK,
                 label_names: list[str] | None = None) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.network = EchoStateClassifierNet(vocab_size, num_classes, self.network_config, pad_id)
        # DDP wraps only a module with a parameter that could take a gradient: the readout is the part this task
        # fits (solved, never stepped). Its normal-equation sums are each rank's own until solve() adds them up, so
        # DDP must not copy rank zero's over them before every step as it does with buffers.
        self.network.readout.linear.requires_grad_(True)
        DistributedDataParallel._set_params_and_buffers_to_ignore_for_model(self, READOUT_SUMS)
        self.setup_metrics(num_classes)
        self._unsolved = False

    def configure_optimizers(self) -> None:
        return None  # the readout is solved, not stepped

    def on_train_epoch_start(self) -> None:
        self.network.readout.reset()

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        with torch.no_grad():
            features = self.network.features(*self.model_inputs(batch))
            self.network.readout.accumulate_classes(features, batch["labels"])
        self._unsolved = True
        self.log("rows_accumulated", self.network.readout.count.float(), prog_bar=True, reduce_fx="max")

    def solve(self) -> None:
        """Solve the readout from the normal equations accumulated so far (summed over processes)."""
        readout = self.network.readout
        if self.trainer.world_size > 1:
            for name in ("gram", "cross", "count"):
                setattr(readout, name, self.trainer.strategy.reduce(getattr(readout, name), reduce_op="sum"))
        readout.solve()
        self._unsolved = False

    # A checkpoint written in the middle of the pass keeps the sums (under DDP every rank's: they differ until
    # solve() adds them up), so a resumed run solves from everything seen.
    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["seqkit_readout_unsolved"] = self._unsolved
        if self._unsolved and self.trainer.world_size > 1:
            readout = self.network.readout
            checkpoint["seqkit_readout_sums"] = every_rank([readout.gram, readout.cross, readout.count])

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self._unsolved = bool(checkpoint.get("seqkit_readout_unsolved", False))
        saved = checkpoint.get("seqkit_readout_sums")
        sums = own_share(saved)
        if saved is not None and sums is None and self._trainer is not None:  # resuming, on another process count
            raise CheckpointError(f"This echo-state fit was cut short on {len(saved)} processes, each holding its own "
                                  f"part of the sums: resume it on {len(saved)} processes (or start it again).")
        if sums is not None:
            checkpoint["state_dict"].update(zip(READOUT_SUMS, sums, strict=True))

    # Lightning validates before on_train_epoch_end, so the solve happens when evaluation starts.
    def on_validation_epoch_start(self) -> None:
        if self._unsolved:
            self.solve()

    def on_train_epoch_end(self) -> None:
        if self._unsolved:
            self.solve()


class EchoStateLM(CarriedStates, TaskModule):
    """Next-token echo-state model on a :class:`~seqkit.data.LanguageModelingDataModule` stream: fixed random token
    vectors drive a fixed reservoir, and a linear softmax readout ``(N -> V)`` is trained by gradient descent on the
    cross-entropy (a softmax readout gives the calibrated probabilities perplexity needs, which a ridge fit to
    one-hot targets does not). The reservoir state is carried across chunks of the stream.

    Logs ``train_loss``, ``{val,test}_loss`` (nats per token) and ``{val,test}_ppl``.

    Args:
        vocab_size: From the DataModule.
        network: Token vectors and reservoir, :class:`~seqkit.models.echo_state.EchoStateLMConfig`
            (``model.init_args.network.reservoir``).
        pad_id: From the DataModule (unused: streams have no padding).
        optimizer: Optimizer factory for the readout; default Adam, lr 1e-3.
    """

    #: Checkpoints written when the task held the token vectors, reservoir and readout itself.
    legacy_keys = {name: f"network.{name}" for name in ("embedding", "reservoir.", "readout.")}
    default_network = DEFAULT_LM_NETWORK

    def __init__(self, vocab_size: int, network: EchoStateLMConfig = DEFAULT_LM_NETWORK, pad_id: int = 0,
                 optimizer: OptimizerCallable | None = None) -> None:
        super().__init__(optimizer)
        self.network = EchoStateLMNet(vocab_size, self.network_config)
        self._states: dict[str, Tensor | None] = {}
        self.val_nll, self.test_nll = MeanMetric(), MeanMetric()

    def forward(self, ids: Tensor, state: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Next-token logits ``(B, T, V)`` for ids ``(B, T)`` and the final reservoir state ``(B, N)``."""
        return self.network(ids, state)

    def _nll(self, stage: str, batch: dict[str, Tensor]) -> Tensor:
        ids, targets = batch["input_ids"], batch["target_ids"]
        logits, self._states[stage] = self(ids, self.carried(stage, ids))
        return F.cross_entropy(logits.flatten(0, 1), targets.flatten())

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        loss = self._nll("train", batch)
        self.log("train_loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self.val_nll.update(self._nll("val", batch), batch["target_ids"].numel())

    def test_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self.test_nll.update(self._nll("test", batch), batch["target_ids"].numel())

    def _log_epoch(self, split: str, metric: MeanMetric) -> None:
        nll = metric.compute()
        metric.reset()
        self.log(f"{split}_loss", nll, prog_bar=True)
        self.log(f"{split}_ppl", torch.exp(nll), prog_bar=True)

    def on_validation_epoch_end(self) -> None:
        self._log_epoch("val", self.val_nll)

    def on_test_epoch_end(self) -> None:
        self._log_epoch("test", self.test_nll)


from seqkit.registry import TaskDeclaration, register_task  # noqa: E402 - the declaration closes the module

register_task(TaskDeclaration(
    EchoStateClassifier, pipeline_tag="text-classification", tags=("text-classification", "echo-state-network"),
    data_links=("vocab_size", "num_classes", "pad_id", "label_names"),
))

register_task(TaskDeclaration(
    EchoStateLM, pipeline_tag="text-generation", tags=("language-model", "echo-state-network"),
    data_links=("vocab_size", "pad_id"),
))
