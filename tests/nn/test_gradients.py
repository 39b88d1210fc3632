"""Gradient-through-time tracking: exact values, no side effects, lengths, cells."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.testing import assert_close

from seqkit.nn import CellRNN, HiddenGradientTracker, RecurrentEncoder, gradient_norms_through_time


def test_norms_follow_the_backpropagation_recursion():
    torch.manual_seed(0)
    model = nn.ModuleDict({"rnn": nn.RNN(3, 4, batch_first=True)}).double()
    rnn = model["rnn"]
    x = torch.randn(2, 6, 3, dtype=torch.float64)
    w = torch.randn(4, dtype=torch.float64)
    norms = gradient_norms_through_time(model, lambda: (rnn(x)[0][:, -1] @ w).sum())["rnn"]
    h = rnn(x)[0].detach()
    grad = w.expand(2, 4)
    expected = [grad.norm(dim=-1).mean()]
    for t in range(5, 0, -1):  # dL/dh_{t-1} = (dL/dh_t * tanh'(.)) W_hh
        grad = (grad * (1 - h[:, t] ** 2)) @ rnn.weight_hh_l0.detach()
        expected.append(grad.norm(dim=-1).mean())
    assert_close(norms, torch.stack(expected[::-1]))


def test_tracking_changes_no_output_and_leaves_no_trace():
    torch.manual_seed(1)
    encoder = RecurrentEncoder(20, 4, 5, 2, "lstm", True, length_mode="split")
    ids = torch.randint(1, 20, (3, 40))
    lengths = torch.tensor([40, 35, 12])
    reference, _ = encoder(ids, lengths)
    with HiddenGradientTracker(encoder) as tracker:
        assert encoder.length_mode == "pack"
        outputs, final = encoder(ids, lengths)
        loss = encoder.last_hidden(final).sum()
    assert_close(outputs, reference)
    norms = tracker.norms(loss)
    backward = tracker.norms(loss, direction=1)
    assert norms["rnn"].shape == backward["rnn"].shape == (40,)
    assert all(p.grad is None for p in encoder.parameters())
    assert "forward" not in encoder.rnn.__dict__ and encoder.length_mode == "split"
    # The forward direction's loss term sits at each sequence's last token, the backward one's at t=0.
    assert norms["rnn"][11] > 0 and backward["rnn"][0] > backward["rnn"][-1]


def test_padded_steps_are_left_out_of_the_mean():
    torch.manual_seed(2)
    model = nn.ModuleDict({"rnn": nn.GRU(3, 4, batch_first=True)})
    encoder_input = torch.randn(2, 8, 3)
    lengths = torch.tensor([8, 3])

    def loss_of(batch, batch_lengths):
        packed = nn.utils.rnn.pack_padded_sequence(batch, batch_lengths, batch_first=True, enforce_sorted=False)
        return model["rnn"](packed)[1].sum()

    both = gradient_norms_through_time(model, lambda: loss_of(encoder_input, lengths))["rnn"]
    alone = gradient_norms_through_time(model, lambda: loss_of(encoder_input[:1], lengths[:1]))["rnn"]
    assert_close(both[3:], alone[3:])


def test_cell_rnn_and_module_selection():
    torch.manual_seed(3)
    model = nn.ModuleDict({"jordan": CellRNN("jordan", 3, 4, num_layers=2), "gru": nn.GRU(3, 4, batch_first=True)})
    x = torch.randn(2, 5, 3)
    with HiddenGradientTracker(model, modules=["jordan"]) as tracker:
        loss = model["jordan"](x)[0][:, -1].sum() + model["gru"](x)[0].sum()
    norms = tracker.norms(loss)
    assert list(norms) == ["jordan"] and norms["jordan"].shape == (5,)
    assert tracker.norms(loss, layer=0)["jordan"].shape == (5,)
    assert model["jordan"].step_hook is None and "forward" not in model["jordan"].__dict__
    with pytest.raises(ValueError, match="no recurrent layer named"):
        HiddenGradientTracker(model, modules=["decoder"])
    with pytest.raises(ValueError, match="no nn.LSTM"):
        HiddenGradientTracker(nn.Linear(2, 2))
