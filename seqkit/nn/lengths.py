"""Variable-length batches: masks, in-length reversal, and fused RNN runs split at the distinct lengths.

Why the split run exists: on CPU the backward pass of a ``PackedSequence`` through ``nn.LSTM``/``nn.GRU``/``nn.RNN``
is quadratic in the sequence length (each time step's slice of the packed data back-propagates through a zero-filled
tensor of the whole packed size). Measured by ``seqkit bench layers --lengths`` (``docs/nn.md``): packing is as fast
or faster up to length ~32, then 1.3-1.8x slower than :func:`run_fused_by_length` at 64, 2-3x at 128 and 6-7x at
300. :func:`run_fused_by_length` keeps the fused kernel on padded input and stays exact: the batch is sorted by
length and the time axis is cut at each distinct length, so finished sequences leave the batch and their final
state is read at their own last token.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

State = Tensor | tuple[Tensor, Tensor]

_FUSED_FUNCTIONS = {"LSTM": torch.lstm, "GRU": torch.gru, "RNN_TANH": torch.rnn_tanh, "RNN_RELU": torch.rnn_relu}


def length_mask(lengths: Tensor, max_length: int) -> Tensor:
    """Boolean mask ``(B, T)``: ``True`` at real positions ``t < lengths[b]``."""
    return torch.arange(max_length, device=lengths.device) < lengths[:, None]


def reverse_padded(inputs: Tensor, lengths: Tensor | None) -> Tensor:
    """Reverse each sequence of ``inputs`` ``(B, T, ...)`` within its own length; padding stays where it is.

    Applying it twice gives the input back. With ``lengths=None`` the whole time axis is flipped.
    """
    if lengths is None:
        return inputs.flip(1)
    steps = torch.arange(inputs.shape[1], device=inputs.device)
    lengths = lengths.to(inputs.device)
    index = torch.where(steps < lengths[:, None], lengths[:, None] - 1 - steps, steps)  # (B, T)
    index = index.view(*index.shape, *([1] * (inputs.dim() - 2))).expand_as(inputs)
    return inputs.gather(1, index)


def _map_state(state: State, fn) -> State:
    return tuple(fn(s) for s in state) if isinstance(state, tuple) else fn(state)


def _layer_weights(rnn: nn.RNNBase, layer: int, reverse: bool) -> list[Tensor]:
    # getattr (not rnn._flat_weights) so parametrized weights, e.g. weight drop, are read fresh.
    suffix = f"_l{layer}" + ("_reverse" if reverse else "")
    names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if rnn.bias else [])
    return [getattr(rnn, name + suffix) for name in names]


def _call_fused(rnn: nn.RNNBase, inputs: Tensor, state: State, weights: list[Tensor], layers: int, dropout: float):
    fn = _FUSED_FUNCTIONS[rnn.mode]
    hx = list(state) if isinstance(state, tuple) else state
    result = fn(inputs, hx, weights, rnn.bias, layers, dropout, rnn.training, False, True)
    return (result[0], (result[1], result[2])) if isinstance(state, tuple) else (result[0], result[1])


def _run_sorted(
    rnn: nn.RNNBase, inputs: Tensor, lengths: list[int], state: State, weights: list[Tensor], layers: int,
    dropout: float,
) -> tuple[Tensor, list[State]]:
    """One direction over a batch sorted by decreasing length; the time axis is cut at each distinct length."""
    batch, max_len = inputs.shape[0], inputs.shape[1]
    bounds = sorted({n for n in lengths if n > 0})
    if not bounds:
        return inputs.new_zeros(batch, max_len, rnn.hidden_size), []
    sizes = [end - start for start, end in zip([0, *bounds[:-1]], bounds)]
    chunks = inputs[:, : bounds[-1]].split(sizes, dim=1)  # split's backward is a single cat, unlike slicing
    outputs, finals = [], []
    for chunk, end in zip(chunks, bounds):
        active = sum(1 for n in lengths if n >= end)  # sorted: the active sequences are a prefix
        out, state = _call_fused(rnn, chunk[:active], _map_state(state, lambda s, a=active: s[:, :a]), weights,
                                 layers, dropout)
        outputs.append(F.pad(out, (0, 0, 0, 0, 0, batch - active)))
        still = sum(1 for n in lengths if n > end)
        finals.append(_map_state(state, lambda s, a=still: s[:, a:]))  # sequences that end here
    finals.reverse()
    outputs_t = torch.cat(outputs, dim=1)
    return F.pad(outputs_t, (0, 0, 0, max_len - outputs_t.shape[1])), finals


def _stack_finals(finals: list[State], initial: State, empty: int) -> State:
    """Final states of the sorted batch: groups ending longest-first, then zero-length rows keep ``initial``."""
    parts = list(finals) + ([_map_state(initial, lambda s: s[:, s.shape[1] - empty:])] if empty else [])
    if isinstance(initial, tuple):
        return tuple(torch.cat([p[i] for p in parts], dim=1) for i in range(len(initial)))
    return torch.cat(parts, dim=1)


def run_fused_by_length(
    rnn: nn.RNNBase, inputs: Tensor, lengths: Tensor, state: State | None = None
) -> tuple[Tensor, State]:
    """Run a batch-first ``nn.LSTM``/``nn.GRU``/``nn.RNN`` exactly over padded sequences of different lengths.

    Same results as packing (outputs zero past each length, final state at each sequence's last real token,
    a zero-length sequence keeps its initial state), through the fused kernel on padded chunks.

    Args:
        rnn: A ``batch_first`` recurrent module without ``proj_size``.
        inputs: ``(B, T, I)``.
        lengths: ``(B,)`` real lengths, ``0 <= lengths <= T``.
        state: Initial state ``(L * D, B, H)``, a pair ``(h, c)`` for LSTM; zeros if ``None``.

    Returns:
        ``outputs`` ``(B, T, D * H)`` and the final state shaped like ``state``.

    Cost: one fused call per distinct length (per layer and direction when bidirectional), so it pays off over
    packing for long sequences; a batch with one length is a single plain call.
    """
    if getattr(rnn, "masks_padding", False):  # minGRU / minLSTM mask padding inside their scan: one call, exact
        return rnn(inputs, state, lengths)
    if not rnn.batch_first or getattr(rnn, "proj_size", 0):
        raise ValueError("run_fused_by_length needs a batch_first module without proj_size")
    batch = inputs.shape[0]
    directions = 2 if rnn.bidirectional else 1
    if state is None:
        zeros = inputs.new_zeros(rnn.num_layers * directions, batch, rnn.hidden_size)
        state = (zeros, zeros) if rnn.mode == "LSTM" else zeros
    order = torch.argsort(lengths.cpu(), descending=True, stable=True)
    sorted_lengths = lengths.cpu()[order].tolist()
    order = order.to(inputs.device)
    x = inputs.index_select(0, order)
    initial = _map_state(state, lambda s: s.index_select(1, order))
    empty = sum(1 for n in sorted_lengths if n == 0)

    if directions == 1:
        weights = [w for layer in range(rnn.num_layers) for w in _layer_weights(rnn, layer, False)]
        outputs, finals = _run_sorted(rnn, x, sorted_lengths, initial, weights, rnn.num_layers, rnn.dropout)
        final = _stack_finals(finals, initial, empty)
    else:
        sorted_len_t = torch.tensor(sorted_lengths, device=inputs.device)
        layer_finals: list[State] = []
        for layer in range(rnn.num_layers):
            per_direction = []
            for direction in (0, 1):
                index = layer * 2 + direction
                init = _map_state(initial, lambda s, i=index: s[i : i + 1])
                source = reverse_padded(x, sorted_len_t) if direction else x
                weights = _layer_weights(rnn, layer, bool(direction))
                out, finals = _run_sorted(rnn, source, sorted_lengths, init, weights, 1, 0.0)
                per_direction.append(reverse_padded(out, sorted_len_t) if direction else out)
                layer_finals.append(_stack_finals(finals, init, empty))
            x = torch.cat(per_direction, dim=-1)
            if layer < rnn.num_layers - 1 and rnn.dropout and rnn.training:
                x = F.dropout(x, rnn.dropout, training=True)  # zeros at padding stay zero
        outputs = x
        if isinstance(initial, tuple):
            final = tuple(torch.cat([f[i] for f in layer_finals], dim=0) for i in range(2))
        else:
            final = torch.cat(layer_finals, dim=0)

    inverse = torch.empty_like(order)
    inverse[order] = torch.arange(batch, device=order.device)
    return outputs.index_select(0, inverse), _map_state(final, lambda s: s.index_select(1, inverse))
