"""minGRU / minLSTM: the parallel scan equals the step-by-step recurrence, with state, padding and gradients."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from seqkit.nn.parallel_scan import MinGRU, MinLSTM


def g(x):
    return torch.where(x >= 0, x + 0.5, torch.sigmoid(x))


def sequential(layer, x, state, lengths=None):
    """The paper's recurrence, one step at a time in linear space (float64 reference)."""
    directions = 2 if layer.bidirectional else 1
    batch, steps, _ = x.shape
    lengths = torch.full((batch,), steps) if lengths is None else lengths
    finals = []
    for index, linear in enumerate(layer.layers):
        projected = linear(x).chunk(directions, dim=-1)
        outs = []
        for direction in range(directions):
            rows, last = [], []
            for b in range(batch):
                hb = state[index * directions + direction, b]
                cells = [torch.zeros(layer.hidden_size, dtype=x.dtype)] * steps
                order = range(int(lengths[b])) if direction == 0 else reversed(range(int(lengths[b])))
                for t in order:
                    p = projected[direction][b, t]
                    if isinstance(layer, MinGRU):
                        k, c = p.chunk(2)
                        z = torch.sigmoid(k)
                        hb = (1 - z) * hb + z * g(c)
                    else:
                        kf, ki, c = p.chunk(3)
                        f, i = torch.sigmoid(kf), torch.sigmoid(ki)
                        hb = f / (f + i) * hb + i / (f + i) * g(c)
                    cells[t] = hb
                rows.append(torch.stack(cells))
                last.append(hb)
            outs.append(torch.stack(rows))
            finals.append(torch.stack(last))
        x = torch.cat(outs, dim=-1)
    return x, torch.stack(finals)


@pytest.mark.parametrize("cls", [MinGRU, MinLSTM])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_parallel_scan_equals_the_recurrence_with_state_and_padding(cls, bidirectional):
    torch.manual_seed(0)
    layer = cls(5, 4, num_layers=2, bidirectional=bidirectional).double()
    x = torch.randn(3, 7, 5, dtype=torch.float64)
    directions = 2 if bidirectional else 1
    state = torch.randn(2 * directions, 3, 4, dtype=torch.float64)  # non-zero, either sign
    lengths = torch.tensor([7, 4, 1])
    out, final = layer(x, state, lengths)
    ref_out, ref_final = sequential(layer, x, state, lengths)
    torch.testing.assert_close(out, ref_out, rtol=1e-9, atol=1e-10)
    torch.testing.assert_close(final, ref_final, rtol=1e-9, atol=1e-10)
    assert out[1, 4:].abs().sum() == 0 and out[2, 1:].abs().sum() == 0  # padding outputs zero


@pytest.mark.parametrize("cls", [MinGRU, MinLSTM])
def test_gradients_match_the_recurrence(cls):
    torch.manual_seed(1)
    layer = cls(3, 4).double()
    x = torch.randn(2, 6, 3, dtype=torch.float64, requires_grad=True)
    state = torch.randn(1, 2, 4, dtype=torch.float64, requires_grad=True)
    weights = torch.randn(2, 6, 4, dtype=torch.float64)
    grads = torch.autograd.grad((layer(x, state)[0] * weights).sum(), [x, state, *layer.parameters()])
    ref = torch.autograd.grad((sequential(layer, x, state)[0] * weights).sum(), [x, state, *layer.parameters()])
    for mine, theirs in zip(grads, ref):
        torch.testing.assert_close(mine, theirs, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("cls", [MinGRU, MinLSTM])
def test_one_step_at_a_time_carries_the_state_like_the_whole_sequence(cls):
    """Generation and truncated BPTT: chunks (down to single steps) fed with the carried state give the same."""
    torch.manual_seed(2)
    layer = cls(3, 5, num_layers=2).eval()
    x = torch.randn(2, 9, 3)
    whole, final = layer(x)
    state, steps = None, []
    for t in range(9):
        out, state = layer(x[:, t : t + 1], state)
        steps.append(out)
    torch.testing.assert_close(torch.cat(steps, dim=1), whole, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(state, final, rtol=1e-5, atol=1e-6)


def test_a_sequence_gives_the_same_result_alone_or_padded_in_a_batch():
    torch.manual_seed(3)
    layer = MinGRU(4, 6, bidirectional=True).eval()
    x = torch.randn(2, 8, 4)
    batch_out, batch_final = layer(x, lengths=torch.tensor([8, 5]))
    alone_out, alone_final = layer(x[1:, :5])
    torch.testing.assert_close(batch_out[1, :5], alone_out[0])
    torch.testing.assert_close(batch_final[:, 1], alone_final[:, 0])


def test_long_sequences_stay_finite():
    layer = MinLSTM(8, 8)
    out, _ = layer(torch.randn(2, 2000, 8) * 5)
    assert torch.isfinite(out).all()
    F.mse_loss(out, torch.zeros_like(out)).backward()
    assert all(torch.isfinite(p.grad).all() for p in layer.parameters())
