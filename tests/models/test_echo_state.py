"""Echo-state networks: reservoir properties and the closed-form ridge readout."""

from __future__ import annotations

import lightning as L
import pytest
import torch

from seqkit.models.echo_state import EchoStateClassifierNet, Reservoir, RidgeReadout, scaled_reservoir_weight
from seqkit.tasks.echo_state import EchoStateClassifier, EchoStateLM


@pytest.mark.parametrize("radius", [0.5, 0.95, 1.3])
def test_spectral_radius_is_as_set(radius):
    weight = scaled_reservoir_weight(200, radius, density=0.1, generator=torch.Generator().manual_seed(0))
    assert torch.linalg.eigvals(weight.double()).abs().max().item() == pytest.approx(radius, rel=1e-4)
    assert 0.05 < (weight != 0).float().mean().item() < 0.15  # sparse as asked


def test_echo_state_property_two_starts_converge():
    reservoir = Reservoir(3, 100, spectral_radius=0.9, leak_rate=0.5)
    inputs = torch.randn(1, 200, 3, generator=torch.Generator().manual_seed(1))
    a = reservoir(inputs, state=torch.ones(1, 100))
    b = reservoir(inputs, state=-torch.ones(1, 100))
    gap = (a - b).norm(dim=-1)[0]
    assert gap[0] > 1.0 and gap[-1] < 1e-4 * gap[0]  # the start is forgotten: the state echoes the input only
    assert bool((gap[50:] <= gap[:-50]).all())


def test_lengths_hold_the_state_past_the_end():
    reservoir = Reservoir(2, 20)
    inputs = torch.randn(2, 7, 2, generator=torch.Generator().manual_seed(0))  # not the global stream: order-free
    states = reservoir(inputs, torch.tensor([7, 3]))
    assert torch.equal(states[1, 3:], states[1, 2:3].expand(4, -1))
    assert torch.allclose(states[1, :3], reservoir(inputs[1:, :3])[0])


def test_ridge_solution_equals_lstsq():
    generator = torch.Generator().manual_seed(0)
    x, y = torch.randn(50, 6, generator=generator), torch.randn(50, 2, generator=generator)
    alpha = 3.0
    readout = RidgeReadout(6, 2, alpha)
    readout.accumulate(x, y)
    readout.solve()
    # Ridge as least squares: [X 1; sqrt(alpha) I 0] w = [y; 0] (bias column unpenalised).
    design = torch.cat([torch.cat([x, torch.ones(50, 1)], 1),
                        torch.cat([alpha**0.5 * torch.eye(6), torch.zeros(6, 1)], 1)]).double()
    target = torch.cat([y, torch.zeros(6, 2)]).double()
    expected = torch.linalg.lstsq(design, target).solution
    assert torch.allclose(readout.linear.weight.double(), expected[:-1].T, atol=1e-5)
    assert torch.allclose(readout.linear.bias.double(), expected[-1], atol=1e-5)
    unregularised = RidgeReadout(6, 2, alpha=0.0)
    unregularised.accumulate(x, y)
    unregularised.solve()
    plain = torch.linalg.lstsq(torch.cat([x, torch.ones(50, 1)], 1).double(), y.double()).solution
    assert torch.allclose(unregularised.linear.weight.double(), plain[:-1].T, atol=1e-5)


def test_batched_accumulation_equals_one_shot():
    generator = torch.Generator().manual_seed(0)
    x, labels = torch.randn(90, 5, generator=generator), torch.randint(0, 3, (90,), generator=generator)
    once, batched = RidgeReadout(5, 3, 0.5), RidgeReadout(5, 3, 0.5)
    once.accumulate(x, torch.nn.functional.one_hot(labels, 3).float())
    for chunk_x, chunk_y in zip(x.split(17), labels.split(17)):
        batched.accumulate_classes(chunk_x, chunk_y)
    once.solve()
    batched.solve()
    assert int(batched.count) == 90
    assert torch.allclose(once.gram, batched.gram) and torch.allclose(once.cross, batched.cross)
    assert torch.allclose(once.linear.weight, batched.linear.weight, atol=1e-6)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="leak_rate"):
        Reservoir(2, 10, leak_rate=0.0)
    with pytest.raises(RuntimeError, match="no data"):
        RidgeReadout(2, 2).solve()


class _Toy(L.LightningDataModule):
    """Sequences whose class is whether token 1 or token 2 appears in them."""

    def __init__(self) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        self.ids = torch.randint(3, 10, (256, 12), generator=generator)
        self.labels = torch.randint(0, 2, (256,), generator=generator)
        self.ids[torch.arange(256), torch.randint(0, 12, (256,), generator=generator)] = self.labels + 1

    def _loader(self):
        rows = [{"input_ids": i, "input_lengths": torch.tensor(12), "labels": y} for i, y in zip(self.ids, self.labels)]
        return torch.utils.data.DataLoader(rows, batch_size=64)

    def train_dataloader(self):
        return self._loader()

    def val_dataloader(self):
        return self._loader()


def test_lightning_fit_accumulates_and_solves(tmp_path):
    network = {"reservoir": {"reservoir_size": 100, "leak_rate": 0.3}, "alpha": 0.1}
    module = EchoStateClassifier(vocab_size=10, num_classes=2, network=network)
    trainer = L.Trainer(max_epochs=2, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, default_root_dir=tmp_path, num_sanity_val_steps=0)
    trainer.fit(module, datamodule=_Toy())
    readout = module.network.readout
    assert int(readout.count) == 256  # each epoch starts afresh
    assert trainer.callback_metrics["val_acc"] > 0.9  # a linear readout of the reservoir separates the toy classes
    assert isinstance(module.network, EchoStateClassifierNet) and readout.linear.weight.abs().sum() > 0


def test_echo_state_lm_trains_only_the_readout_and_carries_its_state():
    torch.manual_seed(0)
    model = EchoStateLM(vocab_size=12, network={"reservoir": {"embedding_dim": 8, "reservoir_size": 50}})
    trained = [name for name, p in model.named_parameters() if p.requires_grad]
    assert trained == ["network.readout.weight", "network.readout.bias"]
    stream = torch.arange(40).remainder(12)[None].repeat(2, 1)  # a cycle: predictable from the previous token
    whole, _ = model(stream)
    first, state = model(stream[:, :20])
    second, _ = model(stream[:, 20:], state)
    assert torch.allclose(torch.cat([first, second], 1), whole, atol=1e-5)  # chunking with a carried state is exact
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(100):
        logits, _ = model(stream[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), stream[:, 1:].flatten())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.5  # from ln 12 = 2.5: the readout of the reservoir state learns the cycle


def test_a_fit_without_optimizer_steps_keeps_its_best_checkpoint(tmp_path):
    from seqkit.checkpointing import RunCheckpoint

    module = EchoStateClassifier(vocab_size=10, num_classes=2,
                                 network={"reservoir": {"reservoir_size": 50}, "alpha": 0.1})
    checkpoint = RunCheckpoint(dirpath=tmp_path / "checkpoints", filename="best", monitor="val_acc", mode="max",
                               auto_insert_metric_name=False, enable_version_counter=False)
    trainer = L.Trainer(max_epochs=1, logger=False, callbacks=[checkpoint], enable_progress_bar=False,
                        enable_model_summary=False, default_root_dir=tmp_path, num_sanity_val_steps=0)
    trainer.fit(module, datamodule=_Toy())
    assert trainer.global_step == 0  # the readout is solved, never stepped
    assert checkpoint.best_model_path == str(tmp_path / "checkpoints" / "best.ckpt")
    assert (tmp_path / "checkpoints" / "best.ckpt").is_file() and (tmp_path / "checkpoints" / "last.ckpt").is_file()
