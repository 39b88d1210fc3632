"""Hopfield network, BAM and the modern continuous Hopfield update."""

from __future__ import annotations

import pytest
import torch

from seqkit.models.hopfield import BAM, HopfieldNetwork, ModernHopfield, capacity_estimate, measure_capacity


def bipolar(*shape: int, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 2, shape, generator=generator).float() * 2 - 1


def corrupt(patterns: torch.Tensor, flips: int, seed: int = 1) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    noisy = patterns.clone()
    for row in noisy:
        row[torch.randperm(len(row), generator=generator)[:flips]] *= -1
    return noisy


def test_hebbian_weights_are_symmetric_with_zero_diagonal():
    network = HopfieldNetwork(20)
    network.store(bipolar(3, 20))
    assert torch.equal(network.weight, network.weight.T)
    assert torch.count_nonzero(network.weight.diagonal()) == 0


@pytest.mark.parametrize("mode", ["async", "sync"])
def test_stored_patterns_are_fixed_points(mode):
    patterns = bipolar(5, 100)  # load 0.05, well under capacity
    network = HopfieldNetwork(100)
    network.store(patterns)
    assert torch.equal(network.step_sync(patterns), patterns)
    final, energies = network.recall(patterns, mode)
    assert torch.equal(final, patterns) and len(energies) == 2  # one step, nothing changed


@pytest.mark.parametrize("mode", ["async", "sync"])
def test_recall_from_corrupted_patterns(mode):
    patterns = bipolar(5, 100)
    network = HopfieldNetwork(100)
    network.store(patterns)
    noisy = corrupt(patterns, flips=15)
    assert not torch.equal(noisy, patterns)
    final, _ = network.recall(noisy, mode, generator=torch.Generator().manual_seed(0))
    assert torch.equal(final, patterns)


def test_energy_never_increases_under_asynchronous_updates():
    network = HopfieldNetwork(60)
    network.store(bipolar(12, 60))  # loaded past capacity: many spurious minima, long descents
    states = bipolar(16, 60, seed=5)
    generator = torch.Generator().manual_seed(0)
    for _ in range(5):  # unit by unit, not only sweep by sweep
        for unit in torch.randperm(60, generator=generator).tolist():
            before = network.energy(states)
            states[:, unit] = torch.where(states @ network.weight[:, unit] >= 0, 1.0, -1.0)
            assert bool((network.energy(states) <= before + 1e-5).all())
    _, energies = network.recall(bipolar(16, 60, seed=6), "async", generator=generator)
    assert bool((energies[1:] <= energies[:-1] + 1e-5).all()) and len(energies) > 2


def test_synchronous_updates_can_oscillate_where_asynchronous_ones_settle():
    # Two units coupled negatively: in lockstep (+1, +1) -> (-1, -1) -> (+1, +1), a 2-cycle.
    network = HopfieldNetwork(2)
    network.store(torch.tensor([[1.0, -1.0]]))
    start = torch.tensor([[1.0, 1.0]])
    assert torch.equal(network.step_sync(start), -start)
    assert torch.equal(network.step_sync(network.step_sync(start)), start)
    settled, _ = network.recall(start, "async", generator=torch.Generator().manual_seed(0))
    assert torch.equal(network.step_sync(settled), settled)


def test_capacity_is_near_0138_n():
    points = measure_capacity(100, [6, 10, 14, 18, 24, 30], trials=3)
    errors = [p.bit_error for p in points]
    assert errors[0] == 0.0 and errors[-1] > 0.1  # retrieval at low load, collapse at 0.3 N
    assert 0.10 <= capacity_estimate(points) <= 0.20  # finite-size networks sit a little above 0.138


def test_bad_input_is_refused_clearly():
    network = HopfieldNetwork(4)
    with pytest.raises(ValueError, match="-1 and \\+1"):
        network.store(torch.zeros(1, 4))
    with pytest.raises(ValueError, match="shape"):
        network.recall(torch.ones(1, 5))


def test_bam_recalls_pairs_in_both_directions_from_noise():
    x, y = bipolar(4, 80, seed=2), bipolar(4, 40, seed=3)
    bam = BAM(80, 40)
    bam.store(x, y)
    got_x, got_y = bam.recall(x=corrupt(x, 10))
    assert torch.equal(got_x, x) and torch.equal(got_y, y)
    got_x, got_y = bam.recall(y=corrupt(y, 5))
    assert torch.equal(got_x, x) and torch.equal(got_y, y)
    assert bool((bam.energy(x, y) < bam.energy(corrupt(x, 10), y)).all())


def test_modern_hopfield_retrieves_many_continuous_patterns_in_one_step():
    torch.manual_seed(0)
    stored = torch.randn(1, 200, 32)  # 200 patterns in 32 dimensions: far past a binary network's 0.138 * 32
    layer = ModernHopfield(32, beta=8.0)
    queries = stored + 0.1 * torch.randn_like(stored)
    retrieved = layer(queries, stored)
    nearest = torch.cdist(retrieved, stored).argmin(-1)
    assert torch.equal(nearest, torch.arange(200)[None])
    assert torch.allclose(retrieved, stored, atol=1e-2)


def test_modern_hopfield_with_projections_is_masked_attention():
    torch.manual_seed(0)
    layer = ModernHopfield(8, projections=True)
    queries, stored = torch.randn(2, 3, 8), torch.randn(2, 5, 8)
    mask = torch.tensor([[True] * 5, [True, True, False, False, False]])
    out = layer(queries, stored, mask)
    assert out.shape == (2, 3, 8)
    changed = stored.clone()
    changed[1, 2:] = 100.0  # padding must not matter
    assert torch.allclose(layer(queries, changed, mask), out)
    out.sum().backward()
    assert layer.query.weight.grad is not None
