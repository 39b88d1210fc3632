"""The GradientThroughTime Lightning callback, the plot, and the grad-plot command."""

from __future__ import annotations

import lightning as L
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from seqkit.callbacks import GradientThroughTime
from seqkit.cli import main
from seqkit.diagnostics import plot_gradient_norms
from seqkit.nn import RecurrentEncoder

PNG = b"\x89PNG\r\n\x1a\n"


class Tiny(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = RecurrentEncoder(20, 4, 5, 1, "gru", dropout=0.1)
        self.head = nn.Linear(5, 2)

    def training_step(self, batch, batch_idx):
        ids, lengths, labels = batch
        _, final = self.encoder(ids, lengths)
        loss = F.cross_entropy(self.head(self.encoder.last_hidden(final)), labels)
        self.log("train_loss", loss)
        return {"loss": loss}

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def _loader() -> DataLoader:
    torch.manual_seed(0)
    lengths = torch.randint(3, 9, (16,))
    ids = torch.randint(1, 20, (16, 8)) * (torch.arange(8) < lengths[:, None])
    return DataLoader(TensorDataset(ids, lengths, torch.randint(0, 2, (16,))), batch_size=4)


def test_measure_restores_mode_and_logging():
    module = Tiny()
    callback = GradientThroughTime()
    batch = next(iter(_loader()))
    norms = callback.measure(module, batch)
    assert norms["encoder.rnn"].shape == (8,)
    assert module.training and "log" not in module.__dict__ and "log_dict" not in module.__dict__
    custom = GradientThroughTime(loss_fn=lambda m, b: m.encoder(b[0], b[1])[0].sum())
    assert custom.measure(module, batch)["encoder.rnn"].shape == (8,)


@pytest.mark.slow
def test_callback_logs_and_plots_during_fit(tmp_path):
    plot = tmp_path / "gtt.png"
    callback = GradientThroughTime(every_n_steps=2, plot_path=plot)
    trainer = L.Trainer(
        max_steps=4, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, callbacks=[callback], default_root_dir=tmp_path,
    )
    trainer.fit(Tiny(), _loader())
    assert [step for step, _ in callback.history] == [2, 4]
    assert "grad_through_time/encoder.rnn/first" in trainer.callback_metrics
    assert "grad_through_time/encoder.rnn/log10_ratio" in trainer.callback_metrics
    assert plot.read_bytes().startswith(PNG)


def test_plot_gradient_norms_writes_a_png(tmp_path):
    path = plot_gradient_norms(
        {"a": {"x": torch.tensor([1e-6, 1e-3, 1.0]), "y": [0.0, 0.5, 1.0]}, "b": {"z": [1.0, 2.0]}},
        tmp_path / "sub" / "plot.png", title="t",
    )
    assert path.read_bytes().startswith(PNG)


def test_grad_plot_command_runs_small(tmp_path, capsys):
    out = tmp_path / "g.png"
    assert main(["grad-plot", "--out", str(out), "--steps", "3", "--length", "10", "--hidden_size", "8",
                 "--eval_batch", "16"]) == 0
    assert out.read_bytes().startswith(PNG)
    printed = capsys.readouterr().out
    assert "Elman" in printed and "LSTM" in printed and "GRU" in printed
