"""Language modelling with stateful truncated backpropagation through time.

Lightning 2.x has no truncated BPTT of its own. Here the module keeps one recurrent state per stage: each
training batch continues the previous one (:class:`~seqkit.data.language_modeling.LanguageModelingDataModule`
serves the chunks of each stream row in order), the state is carried and detached after every step, and it is
reset at the start of every epoch. Evaluation carries its state across chunks too, the standard for reported
perplexities.
"""

from __future__ import annotations

import lightning as L
import torch
from lightning.pytorch.callbacks import LearningRateMonitor, ThroughputMonitor
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import Tensor
from torchmetrics import MeanMetric

from seqkit.data.info import DataNeed, split_item
from seqkit.models.rnn_lm import LMState, RNNLanguageModel, RNNLMConfig, detach_layer_states
from seqkit.tasks.base import CarriedStates, TaskModule

#: The network's default settings (AWD-LSTM's).
DEFAULT_NETWORK = RNNLMConfig()


class LanguageModel(CarriedStates, TaskModule):
    """An RNN language model (:class:`~seqkit.models.RNNLanguageModel`) trained with truncated BPTT.

    Logs ``train_loss`` (nats per token), ``train_ppl``, ``val_loss``, ``val_ppl`` (per token) and
    ``val_word_ppl`` (per word, comparable across tokenizers), the learning rate and tokens per second.

    Reads from the data (:class:`~seqkit.data.DataInfo`): ``tokens_per_word`` of the evaluated splits, for the
    per-word perplexities (``tokens_per_word=None`` declines them), and ``bptt`` with ``scale_lr_by_length``.

    Args:
        vocab_size: Vocabulary size (from the data).
        pad_id: Padding id (from the data).
        network: The network, :class:`~seqkit.models.rnn_lm.RNNLMConfig` (``model.init_args.network``).
        ar_alpha: Activation regularisation (AWD-LSTM): ``alpha * mean(output^2)`` on the dropped last-layer output.
        tar_beta: Temporal activation regularisation: ``beta * mean((h_t - h_{t-1})^2)`` on the raw output.
        scale_lr_by_length: Scale each step's learning rate by ``chunk length / bptt`` (AWD-LSTM, with variable BPTT),
            so short chunks move the weights less.
        optimizer: Optimizer factory; default Adam (lr 1e-3). AWD-LSTM uses SGD (lr 30) with NT-ASGD
            (:class:`~seqkit.callbacks.ntasgd.NTASGD`).
        lr_scheduler: Optional scheduler factory.
    """

    #: Checkpoints and folders written when the network was ``model``.
    legacy_keys = {"model.": "network."}
    default_network = DEFAULT_NETWORK

    def __init__(
        self,
        vocab_size: int,
        pad_id: int | None = None,
        network: RNNLMConfig = DEFAULT_NETWORK,
        ar_alpha: float = 0.0,
        tar_beta: float = 0.0,
        scale_lr_by_length: bool = False,
        optimizer: OptimizerCallable | None = None,
        lr_scheduler: LRSchedulerCallable | None = None,
    ) -> None:
        super().__init__(optimizer, lr_scheduler)
        self.network = self.build_network(vocab_size, pad_id, self.network_config)
        self.ar_alpha = ar_alpha
        self.tar_beta = tar_beta
        self.scale_lr_by_length = scale_lr_by_length
        self._unscaled_lrs: list[float] | None = None
        self.val_nll = MeanMetric()
        self.test_nll = MeanMetric()
        self._states: dict[str, LMState | None] = {}

    def build_network(self, vocab_size: int, pad_id: int | None, network: RNNLMConfig) -> RNNLanguageModel:
        """The :class:`~seqkit.models.rnn_lm.RNNLanguageModel` this task trains (a subclass may give it another
        input layer)."""
        return RNNLanguageModel(vocab_size, network, pad_id)

    def data_needs(self) -> list[DataNeed]:
        needs = [DataNeed("tokens_per_word", "per-word perplexity (val_word_ppl, test_word_ppl)", optional=True)]
        if self.scale_lr_by_length:
            needs.append(DataNeed("bptt", "scale_lr_by_length", stages=("fit",)))
        return needs

    def forward(self, ids: Tensor, state: LMState | None = None) -> tuple[Tensor, LMState]:
        """Logits ``(B, T, V)`` for ids ``(B, T)`` and the state after them."""
        output, state, _ = self.network(ids, state)
        return self.network.logits(output), state

    # ------------------------------------------------------------------ steps
    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        ids, targets = batch["input_ids"], batch["target_ids"]
        output, state, raw = self.network(ids, self.carried("train", ids))
        self._states["train"] = detach_layer_states(state)
        if self.scale_lr_by_length:
            self._scale_lr(ids.shape[1])
        nll = self.network.loss(output, targets)
        loss = nll
        if self.ar_alpha:
            loss = loss + self.ar_alpha * output.pow(2).mean()
        if self.tar_beta:
            loss = loss + self.tar_beta * (raw[:, 1:] - raw[:, :-1]).pow(2).mean()
        self.log("train_loss", nll, prog_bar=True)
        self.log("train_ppl", torch.exp(nll.detach()))
        return loss

    def _scale_lr(self, length: int) -> None:
        # Runs inside the optimizer's closure, before the update reads the learning rate; restored after the step.
        bptt = self.data_info.bptt  # checked when training starts (data_needs)
        optimizer = self.optimizers(use_pl_optimizer=False)
        self._unscaled_lrs = [group["lr"] for group in optimizer.param_groups]
        for group, lr in zip(optimizer.param_groups, self._unscaled_lrs, strict=True):
            group["lr"] = lr * length / bptt

    def on_train_batch_end(self, outputs, batch, batch_idx) -> None:
        if self._unscaled_lrs is not None:
            optimizer = self.optimizers(use_pl_optimizer=False)
            for group, lr in zip(optimizer.param_groups, self._unscaled_lrs, strict=True):
                group["lr"] = lr
            self._unscaled_lrs = None

    def _evaluate(self, stage: str, batch: dict[str, Tensor], metric: MeanMetric) -> None:
        ids, targets = batch["input_ids"], batch["target_ids"]
        output, state, _ = self.network(ids, self.carried(stage, ids))
        self._states[stage] = state
        metric.update(self.network.loss(output, targets), weight=targets.numel())

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self._evaluate("val", batch, self.val_nll)

    def test_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self._evaluate("test", batch, self.test_nll)

    def _log_epoch(self, prefix: str, metric: MeanMetric, split: str) -> None:
        nll = metric.compute()  # synced over ranks: every rank holds its own rows of the stream
        metric.reset()
        self.log(f"{prefix}_loss", nll, prog_bar=True, sync_dist=False)
        self.log(f"{prefix}_ppl", torch.exp(nll), prog_bar=True)
        tokens_per_word = self._tokens_per_word(split)
        if tokens_per_word is not None:
            self.log(f"{prefix}_word_ppl", torch.exp(nll * tokens_per_word))

    def _tokens_per_word(self, split: str) -> float | None:
        """``split``'s tokens per word, or None where the data declined them (``tokens_per_word=None``)."""
        if not self.data_info.given("tokens_per_word"):
            return None
        return float(split_item(self.data_info, "tokens_per_word", split, type(self).__name__))

    def on_validation_epoch_end(self) -> None:
        self._log_epoch("val", self.val_nll, "validation")

    def on_test_epoch_end(self) -> None:
        self._log_epoch("test", self.test_nll, "test")

    # ------------------------------------------------------------------ optimisation and callbacks

    #: FLOPs are not counted for recurrent models; ``None`` tells ``ThroughputMonitor`` so (instead of a warning).
    flops_per_batch: float | None = None

    def configure_callbacks(self) -> list[L.Callback]:
        tokens_per_second = ThroughputMonitor(
            batch_size_fn=lambda batch: batch["input_ids"].shape[0], length_fn=lambda batch: batch["input_ids"].numel()
        )
        callbacks: list[L.Callback] = [tokens_per_second]
        if self._trainer is not None and self.trainer.loggers:
            # At the scheduler's interval; every logged step when a callback (TimeBudgetDecay) sets the rate.
            callbacks.append(LearningRateMonitor(logging_interval=None))
        return callbacks


from seqkit.registry import TaskDeclaration, register_task  # noqa: E402 - the declaration closes the module

register_task(TaskDeclaration(
    LanguageModel, pipeline_tag="text-generation", tags=("language-model",),
    predictor="seqkit.inference.generate:LanguageModelPredictor",
    data_links=("vocab_size", "pad_id"),
))
