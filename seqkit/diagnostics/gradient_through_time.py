"""Vanishing gradients, shown: ``||dL/dh_t||`` for Elman, LSTM and GRU on the adding problem.

The adding problem (Hochreiter and Schmidhuber, 1997): each step gives a value in ``[0, 1)`` and a marker; two steps
are marked, the first within the first tenth of the sequence, the second in its second half; the target at the last
step is the sum of the two marked values. Predicting the mean (1.0) gives a mean squared error of about 0.167; doing
better needs information carried across at least half the sequence.

Each model is trained briefly on CPU, and the mean gradient norm of the loss with respect to its hidden state at
every step is measured on a fixed batch at initialisation and after training
(:func:`seqkit.nn.gradient_norms_through_time`). Run::

    seqkit grad-plot --out docs/img/gradient_through_time.png
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
import torch.nn.functional as F
from jsonargparse.typing import NonNegativeInt, PositiveFloat, PositiveInt
from torch import Tensor, nn

from seqkit.nn.gradients import gradient_norms_through_time

_LAYERS = {"elman": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
_NAMES = {"elman": "Elman", "lstm": "LSTM", "gru": "GRU"}


def adding_batch(batch: int, length: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Inputs ``(B, T, 2)`` (value, marker) and targets ``(B,)`` of the adding problem."""
    values = torch.rand(batch, length, generator=generator)
    markers = torch.zeros(batch, length)
    rows = torch.arange(batch)
    markers[rows, torch.randint(0, max(1, length // 10), (batch,), generator=generator)] = 1.0
    markers[rows, torch.randint(length // 2, length, (batch,), generator=generator)] = 1.0
    return torch.stack([values, markers], dim=-1), (values * markers).sum(1)


class AddingModel(nn.Module):
    """A one-layer fused RNN and a linear read-out of its last output: ``(B, T, 2) -> (B,)``."""

    def __init__(self, cell: str, hidden_size: int) -> None:
        super().__init__()
        self.rnn = _LAYERS[cell](2, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, inputs: Tensor) -> Tensor:
        outputs, _ = self.rnn(inputs)
        return self.head(outputs[:, -1]).squeeze(-1)


def grad_plot(*, out: Path = Path("docs/img/gradient_through_time.png"), length: PositiveInt = 50,
              steps: NonNegativeInt = 2000, hidden_size: PositiveInt = 64, batch: PositiveInt = 64,
              eval_batch: PositiveInt = 512, lr: PositiveFloat = 3e-3, cells: str = "elman,lstm,gru", seed: int = 0,
              threads: PositiveInt = 1) -> int:
    """Train Elman, LSTM and GRU briefly on the adding problem and plot the gradient of the loss with respect to the
    hidden state at every time step (log scale), at initialisation and after training.

    Args:
        out: PNG to write
        length: sequence length T
        steps: training steps per model
        hidden_size: hidden size
        batch: training batch size
        eval_batch: batch the gradients are measured on
        lr: Adam learning rate
        cells: comma-separated: elman, lstm, gru
        seed: random seed
        threads: torch threads (1: tiny models gain nothing from more, and a busy machine makes multi-threaded runs
            much slower)
    """
    from seqkit.diagnostics.plotting import plot_gradient_norms

    torch.set_num_threads(threads)
    eval_inputs, eval_targets = adding_batch(eval_batch, length, torch.Generator().manual_seed(10_000))
    at_init: dict[str, Tensor] = {}
    trained: dict[str, Tensor] = {}
    print(f"adding problem, T={length}, hidden {hidden_size}, {steps} Adam steps of batch "
          f"{batch} (MSE of always predicting 1.0: ~0.167)")
    for cell in cells.split(","):
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed + 1)
        model = AddingModel(cell, hidden_size)

        def eval_loss(model: AddingModel = model) -> Tensor:
            return F.mse_loss(model(eval_inputs), eval_targets)

        curve0 = gradient_norms_through_time(model, eval_loss)["rnn"]
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        start = time.perf_counter()
        for _ in range(steps):
            inputs, targets = adding_batch(batch, length, generator)
            loss = F.mse_loss(model(inputs), targets)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)  # the usual guard against exploding gradients
            optimizer.step()
        with torch.no_grad():
            mse = float(eval_loss())
        curve1 = gradient_norms_through_time(model, eval_loss)["rnn"]
        label = f"{_NAMES[cell]} (eval MSE {mse:.3f})"
        at_init[_NAMES[cell]] = curve0
        trained[label] = curve1
        print(f"{_NAMES[cell]:<6} trained in {time.perf_counter() - start:5.1f} s, eval MSE {mse:.4f}; "
              f"||dL/dh_t|| at t=1 / t=T: init {curve0[0]:.1e} / {curve0[-1]:.1e}, "
              f"trained {curve1[0]:.1e} / {curve1[-1]:.1e}", flush=True)
    path = plot_gradient_norms(
        {"at initialisation": at_init, f"after {steps} training steps": trained},
        out,
        title=f"Gradient of the loss w.r.t. the hidden state h_t, adding problem, T={length}",
    )
    print(f"wrote {path}")
    return 0

