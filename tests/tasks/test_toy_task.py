"""A task added in one place: this file defines a toy task (a network settings group with a group inside it, a
LightningModule on :class:`~seqkit.tasks.base.TaskModule`, a DataModule of plain tensors and a predictor),
declares it with one :func:`~seqkit.registry.register_task` call, and runs ``seqkit fit``, ``seqkit.load`` and
``seqkit publish --dry_run`` on it. Nothing else in seqkit names it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import lightning as L
import pytest
import torch
import yaml
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

import seqkit
import seqkit.tasks
from seqkit.cli import main
from seqkit.inference.predictor import Predictor
from seqkit.registry import TaskDeclaration, declarations, register_task
from seqkit.tasks.base import TaskModule, as_config


@dataclass
class ToyEncoder:
    """The recurrent part of the toy network.

    Args:
        num_layers: Stacked GRU layers.
    """

    num_layers: int = 1


@dataclass
class ToyNetwork:
    """The toy network's settings.

    Args:
        hidden_size: Embedding and hidden size ``H``.
        encoder: The recurrent encoder's settings.
    """

    hidden_size: int = 8
    encoder: ToyEncoder = field(default_factory=ToyEncoder)


class ToyTask(TaskModule):
    """Predicts the next symbol of a sequence: embedding, GRU, linear readout.

    Args:
        num_symbols: Symbols in the data (from the DataModule).
        network: The network's settings.
    """

    def __init__(self, num_symbols: int, network: ToyNetwork | None = None, optimizer=None) -> None:
        network = as_config(ToyNetwork(), network or ToyNetwork())
        super().__init__(optimizer, network=network)
        size = network.hidden_size
        self.network = nn.ModuleDict({
            "embed": nn.Embedding(num_symbols, size),
            "rnn": nn.GRU(size, size, num_layers=network.encoder.num_layers, batch_first=True),
            "out": nn.Linear(size, num_symbols),
        })

    def forward(self, ids: Tensor) -> Tensor:
        """``ids`` ``(B, T)`` -> next-symbol logits ``(B, T, V)``."""
        hidden, _ = self.network["rnn"](self.network["embed"](ids))
        return self.network["out"](hidden)

    def _loss(self, batch: list[Tensor]) -> Tensor:
        (ids,) = batch
        logits = self(ids[:, :-1])
        return nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), ids[:, 1:].reshape(-1))

    def training_step(self, batch: list[Tensor], batch_idx: int) -> Tensor:
        loss = self._loss(batch)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch: list[Tensor], batch_idx: int) -> None:
        self.log("val_loss", self._loss(batch))


class ToyData(L.LightningDataModule):
    """Sequences counting up modulo ``num_symbols``, as plain tensors.

    Args:
        num_symbols: Symbols ``V``.
        rows: Sequences per split.
    """

    def __init__(self, num_symbols: int = 5, rows: int = 16) -> None:
        super().__init__()
        self.num_symbols = num_symbols
        # Another task's data link (LanguageModel's): a link into an argument the chosen model lacks is skipped.
        self.vocab_size = num_symbols
        starts = torch.arange(rows).unsqueeze(1)
        self.ids = (starts + torch.arange(6)) % num_symbols  # (rows, 6)

    def train_dataloader(self) -> DataLoader:
        return DataLoader(TensorDataset(self.ids), batch_size=4, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(TensorDataset(self.ids), batch_size=8)


class ToyPredictor(Predictor):
    """What ``seqkit.load`` returns for the toy task."""

    @torch.no_grad()
    def next_symbol(self, ids: list[int]) -> int:
        return int(self.module(torch.tensor([ids])).argmax(-1)[0, -1])


register_task(TaskDeclaration(
    ToyTask, pipeline_tag="text-generation", tags=("toy",), tokenizer=False,
    predictor=f"{__name__}:ToyPredictor", data_links=("num_symbols",),
))


@pytest.fixture()
def recipe(tmp_path: Path) -> Path:
    path = tmp_path / "toy.yaml"
    path.write_text(yaml.safe_dump({
        "model": {"class_path": f"{__name__}.ToyTask",
                  "init_args": {"network": {"hidden_size": 6, "encoder": {"num_layers": 2}}}},
        "data": {"class_path": f"{__name__}.ToyData"},
        "trainer": {"max_epochs": 2, "accelerator": "cpu", "enable_progress_bar": False},
    }))
    return path


@pytest.mark.slow
def test_a_task_declared_in_one_file_trains_loads_and_publishes(recipe, tmp_path, runs_dir, capsys):
    run = tmp_path / "run"
    assert main(["fit", "--config", str(recipe), "--run_dir", str(run)]) == 0
    assert (run / "checkpoints" / "best.ckpt").is_file()

    predictor = seqkit.load(run)
    assert isinstance(predictor, ToyPredictor) and isinstance(predictor.module, ToyTask)
    assert predictor.module.hparams["num_symbols"] == 5  # linked from the data, as declared
    assert predictor.module.network["rnn"].num_layers == 2 and predictor.module.network["embed"].embedding_dim == 6
    assert 0 <= predictor.next_symbol([0, 1, 2]) < 5

    out = tmp_path / "published"
    assert main(["publish", str(run), "--repo_id", "someone/toy", "--dry_run", "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["task"].endswith("ToyTask")
    assert "toy" in (out / "README.md").read_text()
    assert isinstance(seqkit.load(out), ToyPredictor)  # the published folder loads too (no tokenizer declared)


@pytest.mark.parametrize(("option", "hint"), [
    ("--model.init_args.hidden_size", "model.init_args.network.hidden_size"),
    ("--model.init_args.num_layers", "model.init_args.network.encoder.num_layers"),
])
def test_a_flat_setting_points_to_its_place_in_the_task_groups(option, hint, recipe, capsys):
    assert main(["fit", "--config", str(recipe), option, "3", "--print_config"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"did you mean `{hint}`?" in err[0]


def test_seqkit_tasks_are_declared_and_public():
    own = {str(d.class_path).rsplit(".", 1)[-1] for d in declarations() if str(d.class_path).startswith("seqkit.")}
    assert own == set(seqkit.tasks.__all__)
    assert own <= set(seqkit.__all__) and all(getattr(seqkit, name) is getattr(seqkit.tasks, name) for name in own)
