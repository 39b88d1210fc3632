"""Cells and CellRNN: equivalence with the fused kernels (outputs and gradients), masking, compile wiring."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from torch.testing import assert_close

from seqkit.nn import CellRNN, ElmanCell, GRUCell, JordanCell, LayerNormLSTMCell, LSTMCell, time_loop, weight_drop
from seqkit.nn.cell_rnn import fused_parameters

FUSED = [
    (nn.LSTM, {}),
    (nn.GRU, {}),
    (nn.RNN, {}),
    (nn.RNN, {"nonlinearity": "relu"}),
]


def _flat(state):
    return torch.cat([s.flatten() for s in state]) if isinstance(state, tuple) else state.flatten()


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize(("layer", "options"), FUSED, ids=["lstm", "gru", "rnn_tanh", "rnn_relu"])
def test_cell_rnn_reproduces_fused_outputs_and_gradients(layer, options, bidirectional):
    torch.manual_seed(0)
    fused = layer(5, 6, num_layers=2, batch_first=True, bidirectional=bidirectional, **options).double()
    cells = CellRNN.from_fused(fused)
    directions = 2 if bidirectional else 1
    x = torch.randn(3, 7, 5, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(2 * directions, 3, 6, dtype=torch.float64)
    state = (h0, torch.randn_like(h0)) if layer is nn.LSTM else h0

    out_f, final_f = fused(x, state)
    out_c, final_c = cells(x, state=state)
    assert_close(out_c, out_f)
    assert_close(_flat(final_c), _flat(final_f))

    weights = torch.randn_like(out_f)
    grads_f = torch.autograd.grad((out_f * weights).sum() + _flat(final_f).sum(), [x, *fused.parameters()])
    mapping = fused_parameters(fused, cells)
    names = list(mapping)
    grads_c = torch.autograd.grad((out_c * weights).sum() + _flat(final_c).sum(),
                                  [x, *(cells.get_parameter(n) for n in names)])
    assert_close(grads_c[0], grads_f[0])
    fused_index = {id(p): i for i, p in enumerate(fused.parameters())}
    for name, grad in zip(names, grads_c[1:]):
        assert_close(grad, grads_f[1 + fused_index[id(mapping[name])]], msg=name)


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("layer", [nn.LSTM, nn.GRU, nn.RNN])
def test_cell_rnn_with_lengths_matches_packed_fused(layer, bidirectional):
    torch.manual_seed(1)
    fused = layer(4, 5, num_layers=2, batch_first=True, bidirectional=bidirectional).double()
    cells = CellRNN.from_fused(fused)
    x = torch.randn(4, 6, 4, dtype=torch.float64)
    lengths = torch.tensor([6, 2, 4, 1])
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out_p, final_p = fused(packed)
    out_p, _ = pad_packed_sequence(out_p, batch_first=True, total_length=6)
    out_c, final_c = cells(x, lengths)
    assert_close(out_c, out_p)
    assert_close(_flat(final_c), _flat(final_p))


@pytest.mark.parametrize(
    ("cell", "reference"), [(LSTMCell, nn.LSTMCell), (GRUCell, nn.GRUCell), (ElmanCell, nn.RNNCell)]
)
def test_single_step_matches_torch_cells(cell, reference):
    torch.manual_seed(2)
    ref = reference(3, 4)
    ours = cell(3, 4)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(2, 3)
    h = torch.randn(2, 4)
    if reference is nn.LSTMCell:
        c = torch.randn(2, 4)
        out, (h1, c1) = ours(x, (h, c))
        h_ref, c_ref = ref(x, (h, c))
        assert_close(c1, c_ref)
    else:
        out, h1 = ours(x, h)
        h_ref = ref(x, h)
    assert_close(out, h_ref)
    assert_close(h1, h_ref)


def test_jordan_cell_feeds_back_its_output():
    torch.manual_seed(3)
    cell = JordanCell(3, 5, output_size=2)
    x = torch.randn(4, 3, 3)
    outputs, final = time_loop(cell, x)
    assert outputs.shape == (4, 3, 2) and final.shape == (4, 2)
    y = torch.zeros(4, 2)
    for t in range(3):  # the recurrence written out
        hidden = torch.tanh(x[:, t] @ cell.weight_ih.T + cell.bias_ih + y @ cell.weight_oh.T + cell.bias_oh)
        y = torch.tanh(hidden @ cell.weight_ho.T + cell.bias_ho)
        assert_close(outputs[:, t], y)
    assert_close(final, y)


def test_layernorm_lstm_cell_step_and_gradients():
    torch.manual_seed(4)
    cell = LayerNormLSTMCell(3, 4)
    x = torch.randn(2, 3)
    h, c = torch.randn(2, 4), torch.randn(2, 4)
    out, (h1, c1) = cell(x, (h, c))
    gates = cell.norm_ih(x @ cell.weight_ih.T) + cell.norm_hh(h @ cell.weight_hh.T)
    i, f, g, o = gates.chunk(4, -1)
    c_ref = f.sigmoid() * c + i.sigmoid() * g.tanh()
    assert_close(c1, c_ref)
    assert_close(h1, o.sigmoid() * cell.norm_c(c_ref).tanh())
    model = CellRNN("layernorm_lstm", 3, 4, num_layers=2, bidirectional=True)
    outputs, (hn, cn) = model(torch.randn(2, 5, 3), torch.tensor([5, 2]))
    assert outputs.shape == (2, 5, 8) and hn.shape == cn.shape == (4, 2, 4)
    outputs.sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.parametrize("cell", ["elman", "jordan", "lstm", "gru", "layernorm_lstm"])
def test_more_padding_changes_nothing(cell):
    torch.manual_seed(5)
    model = CellRNN(cell, 3, 4, num_layers=2, bidirectional=True).eval()
    x = torch.randn(3, 5, 3)
    lengths = torch.tensor([5, 3, 1])
    out, final = model(x, lengths)
    padded = torch.cat([x, torch.randn(3, 4, 3)], dim=1)  # garbage in the extra padding
    out2, final2 = model(padded, lengths)
    assert_close(out2[:, :5], out)
    assert (out2[:, 5:] == 0).all() and (out[1, 3:] == 0).all()
    assert_close(_flat(final2), _flat(final))


def test_compile_flag_wires_through_torch_compile(monkeypatch):
    calls = []
    real_compile = torch.compile

    def spy(fn, **options):
        calls.append(options)
        return real_compile(fn, **options)

    monkeypatch.setattr(torch, "compile", spy)
    torch.manual_seed(6)
    eager = CellRNN("gru", 3, 4)
    compiled = CellRNN("gru", 3, 4, compile=True, compile_options={"backend": "eager"})
    compiled.load_state_dict(eager.state_dict())
    x = torch.randn(2, 3, 3)
    assert_close(compiled(x)[0], eager(x)[0])
    compiled(x)
    assert calls == [{"backend": "eager"}]  # compiled once, reused


def test_weight_drop_on_cells_uses_one_mask_per_forward():
    model = CellRNN("lstm", 3, 4)
    weight_drop(model.cells[0], 0.5)
    parametrization = model.cells[0].parametrizations.weight_hh[0]
    calls = []
    parametrization.register_forward_hook(lambda *args: calls.append(1))
    model(torch.randn(2, 6, 3))
    assert len(calls) == 1
