"""Recurrent cells for what the fused kernels cannot do: Elman, Jordan, LSTM, GRU and LayerNorm-LSTM.

Every cell splits a time step in two: :meth:`RecurrentCell.project_input` computes the input-to-hidden part for
all time steps at once (one large matrix product), and :meth:`RecurrentCell.step` does the recurrent part of one
step. :func:`seqkit.nn.cell_rnn.time_loop` drives any cell over a sequence; :class:`seqkit.nn.CellRNN` stacks them.

The LSTM, GRU and Elman cells use PyTorch's gate order and parameter names (``weight_ih``, ``weight_hh``,
``bias_ih``, ``bias_hh``), so weights copied from ``nn.LSTM``/``nn.GRU``/``nn.RNN`` reproduce them exactly.

Cost against the fused kernels (forward+backward on CPU, batch 32 x length 70, input 256, hidden 256, 2 layers;
``seqkit bench layers``, outputs in ``docs/nn.md``): the eager cell loop is 2.4-3.1x ``nn.LSTM`` and 2.1-2.2x
``nn.GRU``; the compiled loop is 1.05-1.19x and 0.94-1.03x, after a first call that compiles for 2-3 minutes
(126-180 s measured). Use a cell for what the fused kernels lack (Jordan feedback, layer norm, per-step hooks,
custom gates), not for speed.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

State = Tensor | tuple[Tensor, Tensor]


class RecurrentCell(nn.Module):
    """Base class of the cells: one time step ``x_t (B, I)``, state -> output ``(B, O)``, new state.

    Subclasses set ``input_size``, ``hidden_size``, ``output_size`` (what each step emits) and implement
    :meth:`project_input`, :meth:`step` and, for a non-tensor state, :meth:`initial_state`.
    """

    input_size: int
    hidden_size: int
    output_size: int

    def initial_state(self, batch_size: int, like: Tensor) -> State:
        """Zero state for ``batch_size`` sequences, on ``like``'s device and dtype: ``(B, H)``."""
        return like.new_zeros(batch_size, self.hidden_size)

    def project_input(self, inputs: Tensor) -> Tensor:
        """Input-to-hidden part for every step at once: ``(B, T, I)`` -> ``(B, T, G)`` (``(B, I)`` also works)."""
        return F.linear(inputs, self.weight_ih, self.bias_ih)

    def step(self, projected: Tensor, state: State) -> tuple[Tensor, State]:
        """One step from the projected input ``(B, G)``: returns the output ``(B, O)`` and the new state."""
        raise NotImplementedError

    def forward(self, x: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """One step from a raw input ``x`` ``(B, I)``: returns the output ``(B, O)`` and the new state."""
        if state is None:
            state = self.initial_state(x.shape[0], x)
        return self.step(self.project_input(x), state)

    def _init_uniform(self) -> None:
        # PyTorch's RNN initialisation, U(-1/sqrt(H), 1/sqrt(H)), so cells and fused layers start alike.
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)


class _GatedCell(RecurrentCell):
    """A cell with PyTorch's parameters for ``G = gates``: ``weight_ih`` ``(G*H, I)``, ``weight_hh`` ``(G*H, H)``,
    ``bias_ih`` and ``bias_hh`` ``(G*H,)``; output and state size ``H``."""

    gates: int

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.output_size = input_size, hidden_size, hidden_size
        size = self.gates * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(size, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(size)) if bias else None
        self.bias_hh = nn.Parameter(torch.empty(size)) if bias else None
        self._init_uniform()


class ElmanCell(_GatedCell):
    """Elman (simple) RNN: ``h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)``; output and state ``(B, H)``.

    Args:
        input_size: ``I``.
        hidden_size: ``H``.
        bias: Learn ``b_ih`` and ``b_hh``.
        nonlinearity: ``tanh`` (as ``nn.RNN``'s default) or ``relu``.
    """

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: Literal["tanh", "relu"] = "tanh") -> None:
        super().__init__(input_size, hidden_size, bias)
        self.nonlinearity = nonlinearity

    def step(self, projected: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        pre = projected + F.linear(state, self.weight_hh, self.bias_hh)
        h = torch.tanh(pre) if self.nonlinearity == "tanh" else torch.relu(pre)
        return h, h


class JordanCell(RecurrentCell):
    """Jordan RNN: the previous *output* is fed back instead of the hidden state.

    ``h_t = tanh(W_ih x_t + b_ih + W_oh y_{t-1} + b_oh)``, ``y_t = act(W_ho h_t + b_ho)``. The state is ``y_t``
    ``(B, O)``, and so is the output.

    Args:
        input_size: ``I``.
        hidden_size: ``H``, the internal layer.
        output_size: ``O``; default ``H``.
        bias: Learn the biases.
        output_activation: ``tanh`` (keeps the feedback bounded), ``sigmoid`` or ``identity``.
    """

    def __init__(self, input_size: int, hidden_size: int, output_size: int | None = None, bias: bool = True,
                 output_activation: Literal["tanh", "sigmoid", "identity"] = "tanh") -> None:
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.output_size = output_size or hidden_size
        self.output_activation = output_activation
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size))
        self.bias_ih = nn.Parameter(torch.empty(hidden_size)) if bias else None
        self.weight_oh = nn.Parameter(torch.empty(hidden_size, self.output_size))  # output feedback
        self.bias_oh = nn.Parameter(torch.empty(hidden_size)) if bias else None
        self.weight_ho = nn.Parameter(torch.empty(self.output_size, hidden_size))
        self.bias_ho = nn.Parameter(torch.empty(self.output_size)) if bias else None
        self._init_uniform()

    def initial_state(self, batch_size: int, like: Tensor) -> Tensor:
        """Zero previous output ``(B, O)``."""
        return like.new_zeros(batch_size, self.output_size)

    def step(self, projected: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        hidden = torch.tanh(projected + F.linear(state, self.weight_oh, self.bias_oh))
        y = F.linear(hidden, self.weight_ho, self.bias_ho)
        if self.output_activation == "tanh":
            y = torch.tanh(y)
        elif self.output_activation == "sigmoid":
            y = torch.sigmoid(y)
        return y, y


class LSTMCell(_GatedCell):
    """LSTM with ``nn.LSTM``'s gates ``(i, f, g, o)``; state ``(h, c)``, each ``(B, H)``; output ``h``.

    Args:
        input_size: ``I``.
        hidden_size: ``H``.
        bias: Learn ``b_ih`` and ``b_hh``.
    """

    gates = 4

    def initial_state(self, batch_size: int, like: Tensor) -> tuple[Tensor, Tensor]:
        """Zero ``(h, c)``, each ``(B, H)``."""
        zeros = like.new_zeros(batch_size, self.hidden_size)
        return zeros, zeros

    def step(self, projected: Tensor, state: tuple[Tensor, Tensor]) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        h, c = state
        i, f, g, o = (projected + F.linear(h, self.weight_hh, self.bias_hh)).chunk(4, dim=-1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, (h, c)


class GRUCell(_GatedCell):
    """GRU with ``nn.GRU``'s gates ``(r, z, n)``; output and state ``(B, H)``.

    ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``, ``h' = (1 - z) * n + z * h``, as in ``nn.GRU``.
    """

    gates = 3

    def step(self, projected: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        i_r, i_z, i_n = projected.chunk(3, dim=-1)
        h_r, h_z, h_n = F.linear(state, self.weight_hh, self.bias_hh).chunk(3, dim=-1)
        r = torch.sigmoid(i_r + h_r)
        z = torch.sigmoid(i_z + h_z)
        n = torch.tanh(i_n + r * h_n)
        h = n + z * (state - n)
        return h, h


class LayerNormLSTMCell(RecurrentCell):
    """LSTM with layer normalisation (Ba, Kiros and Hinton, 2016); state ``(h, c)``, each ``(B, H)``.

    ``gates = LN(W_ih x_t) + LN(W_hh h_{t-1})`` (the norms' shifts act as the bias), ``c_t = f c + i g``,
    ``h_t = o * tanh(LN(c_t))``. No fused kernel exists for it.
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.output_size = input_size, hidden_size, hidden_size
        self.weight_ih = nn.Parameter(torch.empty(4 * hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(4 * hidden_size, hidden_size))
        bound = 1.0 / math.sqrt(hidden_size)
        nn.init.uniform_(self.weight_ih, -bound, bound)
        nn.init.uniform_(self.weight_hh, -bound, bound)
        self.norm_ih = nn.LayerNorm(4 * hidden_size)
        self.norm_hh = nn.LayerNorm(4 * hidden_size)
        self.norm_c = nn.LayerNorm(hidden_size)

    initial_state = LSTMCell.initial_state

    def project_input(self, inputs: Tensor) -> Tensor:
        return self.norm_ih(F.linear(inputs, self.weight_ih))

    def step(self, projected: Tensor, state: tuple[Tensor, Tensor]) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        h, c = state
        i, f, g, o = (projected + self.norm_hh(F.linear(h, self.weight_hh))).chunk(4, dim=-1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(self.norm_c(c))
        return h, (h, c)


#: Cell classes by name, for :class:`seqkit.nn.CellRNN` ``cell="..."``.
CELLS: dict[str, type[RecurrentCell]] = {
    "elman": ElmanCell,
    "rnn": ElmanCell,
    "jordan": JordanCell,
    "lstm": LSTMCell,
    "gru": GRUCell,
    "layernorm_lstm": LayerNormLSTMCell,
}
