"""Echo-state text classifier: the reservoir is fixed, the readout is solved in closed form.

Training is one pass over the data: ``training_step`` adds each batch to the readout's normal equations (manual
optimisation, no optimizer, no gradients); the ridge system is solved before anything is evaluated.
"""

from __future__ import annotations

import lightning as L
import torch
from torch import Tensor

from seqkit.models.echo_state import EchoStateClassifierNet
from seqkit.tasks.classifier_steps import ClassifierSteps


class EchoStateClassifier(ClassifierSteps, L.LightningModule):
    """A :class:`~seqkit.models.echo_state.EchoStateClassifierNet` trained by ridge regression on one-hot labels.

    Each training epoch starts the normal equations afresh (the reservoir's features do not change between epochs,
    so one epoch is all a fit needs); the readout is solved, summed across processes under DDP, before validation or
    testing. ``val_loss``/``test_loss`` are the cross-entropy of the softmax of the regression scores: comparable
    between echo-state runs, not a calibrated probability.

    Args:
        vocab_size, num_classes, pad_id, label_names: From the DataModule (the seqkit CLI links them).
        embedding_dim, reservoir_size, spectral_radius, leak_rate, input_scaling, density, bias_scaling, alpha,
            seed: See :class:`~seqkit.models.echo_state.EchoStateClassifierNet`.
    """

    monitor = ("val_acc", "max")

    def __init__(
        self,
        vocab_size: int,
        num_classes: int,
        pad_id: int = 0,
        embedding_dim: int = 64,
        reservoir_size: int = 500,
        spectral_radius: float = 0.9,
        leak_rate: float = 0.5,
        input_scaling: float = 0.5,
        density: float = 0.1,
        bias_scaling: float = 0.1,
        alpha: float = 1.0,
        seed: int = 0,
        label_names: list[str] | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.automatic_optimization = False
        self.net = EchoStateClassifierNet(vocab_size, num_classes, pad_id, embedding_dim, reservoir_size,
                                          spectral_radius, leak_rate, input_scaling, density, bias_scaling, alpha, seed)
        self.setup_metrics(num_classes)
        self._unsolved = False

    def model_inputs(self, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        return batch["input_ids"], batch["input_lengths"]

    def forward(self, input_ids: Tensor, input_lengths: Tensor) -> Tensor:
        """Class scores ``(B, C)`` for token ids ``(B, T)`` with lengths ``(B,)``."""
        return self.net(input_ids, input_lengths)

    def configure_optimizers(self) -> None:
        return None  # the readout is solved, not stepped

    def on_train_epoch_start(self) -> None:
        self.net.readout.reset()

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        with torch.no_grad():
            features = self.net.features(*self.model_inputs(batch))
            self.net.readout.accumulate_classes(features, batch["labels"])
        self._unsolved = True
        self.log("rows_accumulated", self.net.readout.count.float(), prog_bar=True, reduce_fx="max")

    def solve(self) -> None:
        """Solve the readout from the normal equations accumulated so far (summed over processes)."""
        readout = self.net.readout
        if self.trainer.world_size > 1:
            for name in ("gram", "cross", "count"):
                setattr(readout, name, self.trainer.strategy.reduce(getattr(readout, name), reduce_op="sum"))
        readout.solve()
        self._unsolved = False

    # Lightning validates before on_train_epoch_end, so the solve happens when evaluation starts.
    def on_validation_epoch_start(self) -> None:
        if self._unsolved:
            self.solve()

    def on_train_epoch_end(self) -> None:
        if self._unsolved:
            self.solve()
