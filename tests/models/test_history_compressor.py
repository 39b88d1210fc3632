"""Neural history compressor: what is passed up, and the bits-per-token accounting."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from seqkit.models.history_compressor import (
    HigherNet,
    HistoryCompressor,
    HistoryCompressorConfig,
    higher_loss,
    lower_loss,
    surprises,
    system_bits,
)


def synthetic_stream(length: int = 400, seed: int = 0) -> torch.Tensor:
    """Runs ``0 1 2 3 4 5`` (predictable after their first token) each started by a random token from 6..9."""
    generator = torch.Generator().manual_seed(seed)
    pieces = []
    while sum(map(len, pieces)) < length:
        pieces.append(torch.cat([torch.randint(6, 10, (1,), generator=generator), torch.arange(6)]))
    return torch.cat(pieces)[:length]


def test_predictable_parts_are_not_passed_up():
    torch.manual_seed(0)
    stream = synthetic_stream()
    ids, targets = stream[None, :-1], stream[None, 1:]
    model = HistoryCompressor(10, HistoryCompressorConfig(lower_size=32, higher_size=32))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(150):
        logits, hidden, passed, _ = model.lower_outputs(ids, targets)
        upper = model.higher(targets, passed, hidden.detach())
        loss = lower_loss(logits, targets) + higher_loss(logits.detach(), upper, targets, passed)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        bits, passed, _ = model.bits(ids, targets)
    random_start = targets >= 6  # the only unpredictable tokens: 1 in 7
    inside_runs = (targets >= 1) & (targets <= 5)
    assert not bool(passed[inside_runs].any())  # 1..5 follow from the token before: never passed up
    assert bool(passed[random_start].float().mean() > 0.5)  # a random token is mostly passed up
    assert passed.float().mean() < 0.2
    # Coding the random tokens (2 bits each, 1 in 7) and the run starts (about free) costs ~ 2/7 bit per token.
    assert bits.mean() < 0.6


def test_bits_are_a_proper_distribution():
    torch.manual_seed(0)
    vocab = 5
    lower, higher = torch.randn(2, 3, vocab), torch.randn(2, 3, vocab)
    total = torch.zeros(2, 3)
    for token in range(vocab):  # sum over every possible next token of 2^-bits
        total += 2 ** -system_bits(lower, higher, torch.full((2, 3), token))
    assert torch.allclose(total, torch.ones(2, 3), atol=1e-5)


def test_bits_with_the_lower_nets_own_distribution_are_the_lower_nets_bits():
    torch.manual_seed(0)
    lower, targets = torch.randn(2, 7, 6), torch.randint(0, 6, (2, 7))
    bits = system_bits(lower, lower.clone(), targets)  # q = the lower distribution renormalised without its argmax
    expected = F.cross_entropy(lower.transpose(1, 2), targets, reduction="none") / math.log(2)
    assert torch.allclose(bits, expected, atol=1e-5)


def test_bits_accounting_by_hand():
    lower = torch.log(torch.tensor([[[0.7, 0.2, 0.1], [0.5, 0.25, 0.25]]]))
    higher = torch.log(torch.tensor([[[0.3, 0.6, 0.1], [0.9, 0.05, 0.05]]]))
    targets = torch.tensor([[0, 2]])  # step 0: predicted (argmax 0); step 1: surprise (argmax 0, true 2)
    bits = system_bits(lower, higher, targets)
    assert torch.equal(surprises(lower, targets), torch.tensor([[False, True]]))
    # step 1: flag "wrong" costs -log2(0.5); q without token 0 is (0.05, 0.05) / 0.1 -> 0.5 for token 2.
    assert torch.allclose(bits, torch.tensor([[-math.log2(0.7), 1.0 + 1.0]]), atol=1e-5)


def test_higher_net_sees_only_the_surprises_before_each_step():
    torch.manual_seed(0)
    net = HigherNet(8, 16, 4)
    targets = torch.randint(0, 8, (1, 10))
    passed = torch.zeros(1, 10, dtype=torch.bool)
    passed[0, [2, 6]] = True
    lower_hidden = torch.zeros(1, 10, 4)
    out = net(targets, passed, lower_hidden)
    changed = targets.clone()
    changed[0, [0, 1, 3, 4, 5, 7, 8, 9]] = (changed[0, [0, 1, 3, 4, 5, 7, 8, 9]] + 1) % 8  # not passed up
    assert torch.allclose(net(changed, passed, lower_hidden), out)  # unseen tokens change nothing
    changed = targets.clone()
    changed[0, 6] = (changed[0, 6] + 1) % 8  # a surprise: matters only after it is passed up
    after = net(changed, passed, lower_hidden)
    assert torch.allclose(after[:, :7], out[:, :7]) and not torch.allclose(after[:, 7:], out[:, 7:])
