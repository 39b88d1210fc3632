"""The shared time loop over any :class:`~seqkit.nn.cells.RecurrentCell`, and :class:`CellRNN`, a stack of cells.

Cost against the fused kernels (forward+backward on CPU, batch 32 x length 70, 256/256, 2 layers, from
``seqkit bench layers``; outputs in ``docs/nn.md``): eager loop 2.4-3.1x ``nn.LSTM`` and 2.1-2.2x ``nn.GRU``;
compiled loop 1.05-1.19x and 0.94-1.03x, after a compile of 2-3 minutes per new input shape.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils import parametrize

from seqkit.nn.cells import CELLS, ElmanCell, GRUCell, LSTMCell, RecurrentCell, State
from seqkit.nn.lengths import length_mask, reverse_padded

#: ``on_step(t, output)``: called with each step's output before masking (the tensor the next step reads).
StepHook = Callable[[int, Tensor], None]


def _where(mask: Tensor, new: State, old: State) -> State:
    if isinstance(new, tuple):
        return tuple(torch.where(mask, n, o) for n, o in zip(new, old))
    return torch.where(mask, new, old)


def time_loop(
    cell: RecurrentCell,
    inputs: Tensor,
    state: State | None = None,
    lengths: Tensor | None = None,
    reverse: bool = False,
    on_step: StepHook | None = None,
) -> tuple[Tensor, State]:
    """Run ``cell`` over a batch-first sequence.

    Args:
        cell: The cell.
        inputs: ``(B, T, I)``.
        state: Initial state (``(B, H)``, or ``(h, c)`` for LSTM cells); zeros if ``None``.
        lengths: ``(B,)`` real lengths. Past its length a sequence's state is frozen and its output is zero, so
            the final state is the one at its last real token, as with packing.
        reverse: Run from each sequence's last real token back to its first (the backward direction).
        on_step: Hook called with each step's index in loop order and its output ``(B, O)``.

    Returns:
        ``outputs`` ``(B, T, O)`` in the original time order and the final state.
    """
    batch, steps = inputs.shape[0], inputs.shape[1]
    if state is None:
        state = cell.initial_state(batch, inputs)
    if reverse:
        inputs = reverse_padded(inputs, lengths)
    projected = cell.project_input(inputs)  # one matrix product for all steps
    mask = None if lengths is None else length_mask(lengths.to(inputs.device), steps).unsqueeze(-1)  # (B, T, 1)
    outputs = []
    for t in range(steps):
        output, new_state = cell.step(projected[:, t], state)
        if on_step is not None:
            on_step(t, output)
        if mask is None:
            state = new_state
        else:
            state = _where(mask[:, t], new_state, state)
            output = output * mask[:, t]
        outputs.append(output)
    result = torch.stack(outputs, dim=1) if outputs else inputs.new_zeros(batch, 0, cell.output_size)
    if reverse:
        result = reverse_padded(result, lengths)
    return result, state


def _split_state(state: State | None, index: int) -> State | None:
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s[index] for s in state)
    return state[index]


def _stack_states(states: list[State]) -> State:
    if isinstance(states[0], tuple):
        return tuple(torch.stack([s[i] for s in states]) for i in range(len(states[0])))
    return torch.stack(states)


class CellRNN(nn.Module):
    """A stack of recurrent cells, uni- or bidirectional, with ``nn.LSTM``'s interface (batch first).

    Args:
        cell: ``elman``/``rnn``, ``jordan``, ``lstm``, ``gru``, ``layernorm_lstm``, or a
            :class:`~seqkit.nn.cells.RecurrentCell` subclass taking ``(input_size, hidden_size, **cell_options)``.
        input_size: ``I``.
        hidden_size: ``H`` of each cell.
        num_layers: Stacked layers ``L``.
        bidirectional: Add a backward direction (``D = 2``); outputs are ``D * O`` wide.
        dropout: Dropout on each layer's outputs except the last (training only), as in ``nn.LSTM``.
        compile: Run the whole forward through ``torch.compile``. The loop is unrolled, so every new
            ``(B, T)`` shape compiles again (2-3 minutes on CPU for 2 layers at length 70): for fixed shapes
            (language-model chunks), not for variable-length batches.
        compile_options: Keyword arguments for ``torch.compile`` (e.g. ``{"backend": "eager"}``).
        **cell_options: Passed to each cell (``bias``, ``nonlinearity``, ``output_size``, ...).

    ``forward(inputs (B, T, I), lengths (B,) | None, state) -> (outputs (B, T, D * O), final_state)`` with the
    state ``(L * D, B, H)`` (a pair ``(h, c)`` for LSTM cells), ordered like ``nn.LSTM``'s.

    Cost: 2.1-3.1x the fused kernel eager, about 1x compiled (see the module docstring).
    """

    def __init__(
        self,
        cell: str | type[RecurrentCell],
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        compile: bool = False,
        compile_options: dict[str, Any] | None = None,
        **cell_options: Any,
    ) -> None:
        super().__init__()
        cell_type = CELLS[cell] if isinstance(cell, str) else cell
        self.num_layers = num_layers
        self.num_directions = 2 if bidirectional else 1
        self.hidden_size = hidden_size
        self.dropout = dropout
        cells = []
        layer_input = input_size
        for _ in range(num_layers):
            for _ in range(self.num_directions):
                cells.append(cell_type(layer_input, hidden_size, **cell_options))
            layer_input = cells[-1].output_size * self.num_directions
        self.cells = nn.ModuleList(cells)
        self.output_size = layer_input
        self.compile = compile
        self.compile_options = dict(compile_options or {})
        self._compiled: Callable | None = None
        #: Set by gradient tracking: ``hook(layer, direction, t, output)``.
        self.step_hook: Callable[[int, int, int, Tensor], None] | None = None

    def forward(
        self, inputs: Tensor, lengths: Tensor | None = None, state: State | None = None
    ) -> tuple[Tensor, State]:
        """``inputs`` ``(B, T, I)``, ``lengths`` ``(B,)``, ``state`` ``(L * D, B, H)`` -> outputs, final state."""
        # cached(): a weight-dropped cell reads one mask for the whole sequence, not a new one per step.
        with parametrize.cached():
            if self.compile and self.step_hook is None:
                if self._compiled is None:
                    self._compiled = torch.compile(self._forward, **self.compile_options)
                return self._compiled(inputs, lengths, state)
            return self._forward(inputs, lengths, state)

    def _forward(self, inputs: Tensor, lengths: Tensor | None, state: State | None) -> tuple[Tensor, State]:
        finals = []
        layer_input = inputs
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.num_directions):
                index = layer * self.num_directions + direction
                hook = None
                if self.step_hook is not None:
                    hook = partial(self.step_hook, layer, direction)
                out, final = time_loop(self.cells[index], layer_input, _split_state(state, index), lengths,
                                       reverse=bool(direction), on_step=hook)
                outputs.append(out)
                finals.append(final)
            layer_input = outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=-1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, training=True)
        return layer_input, _stack_states(finals)

    @classmethod
    def from_fused(cls, rnn: nn.RNNBase, **kwargs: Any) -> CellRNN:
        """A ``CellRNN`` with a copy of the weights of a fused ``nn.LSTM``/``nn.GRU``/``nn.RNN``: same function.

        Args:
            rnn: The fused module (``proj_size`` unsupported). Its ``batch_first`` is ignored: ``CellRNN`` is
                always batch first.
            **kwargs: Other ``CellRNN`` arguments (``compile``, ...).
        """
        if getattr(rnn, "proj_size", 0):
            raise ValueError("CellRNN.from_fused does not support proj_size")
        if isinstance(rnn, nn.LSTM):
            cell, options = LSTMCell, {}
        elif isinstance(rnn, nn.GRU):
            cell, options = GRUCell, {}
        elif isinstance(rnn, nn.RNN):
            cell, options = ElmanCell, {"nonlinearity": rnn.nonlinearity}
        else:
            raise TypeError(f"expected nn.LSTM, nn.GRU or nn.RNN, got {type(rnn).__name__}")
        model = cls(cell, rnn.input_size, rnn.hidden_size, rnn.num_layers, rnn.bidirectional, rnn.dropout,
                    bias=rnn.bias, **options, **kwargs)
        reference = rnn.weight_ih_l0
        model.to(device=reference.device, dtype=reference.dtype)
        with torch.no_grad():
            for name, tensor in fused_parameters(rnn, model).items():
                model.get_parameter(name).copy_(tensor)
        return model


def fused_parameters(rnn: nn.RNNBase, cell_rnn: CellRNN) -> dict[str, Tensor]:
    """``CellRNN`` parameter name -> the matching weight of the fused ``rnn`` (read now, so parametrized weights
    such as weight drop come out as currently applied). For ``torch.func.functional_call(cell_rnn, ...)``."""
    names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if rnn.bias else [])
    mapping = {}
    for index in range(len(cell_rnn.cells)):
        layer, direction = divmod(index, cell_rnn.num_directions)
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        for name in names:
            mapping[f"cells.{index}.{name}"] = getattr(rnn, name + suffix)
    return mapping
