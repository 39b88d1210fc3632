"""minGRU and minLSTM (Feng et al. 2024, "Were RNNs All We Needed?"): recurrences computed by a parallel scan.

Their gates read the input only, never the previous state, so each step is the affine map
``h_t = a_t * h_{t-1} + b_t`` with ``a_t, b_t`` known for the whole sequence at once. A sequence of maps composes in
log space with a cumulative sum and a ``logcumsumexp`` (Heinsen 2023), so a whole sequence costs a handful of
elementwise kernels instead of ``T`` dependent steps:

    minGRU:  z_t = sigmoid(W_z x_t),  h~_t = g(W_h x_t),  h_t = (1 - z_t) h_{t-1} + z_t h~_t
    minLSTM: f_t, i_t = sigmoid(W_f x_t), sigmoid(W_i x_t);  f', i' = f / (f + i), i / (f + i);
             h_t = f'_t h_{t-1} + i'_t h~_t

with ``g(x) = x + 0.5`` for ``x >= 0`` and ``sigmoid(x)`` below (positive, so ``b_t`` has a logarithm).

:class:`MinGRU` and :class:`MinLSTM` take the arguments and follow the calling convention of ``nn.GRU``
(``batch_first=True``): input ``(B, T, E)``, state ``(L * D, B, H)``, output ``(B, T, D * H)``. So they drop into
every place seqkit builds a fused layer (``cell: mingru | minlstm``), stacked and bidirectional, carrying state
across truncated-BPTT chunks, and one step at a time (``T = 1``) for generation and decoding. Plain PyTorch: the
same code runs on CPU and GPU.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqkit.nn.lengths import reverse_padded


def _log_g(x: Tensor) -> Tensor:
    """``log g(x)``: ``log(x + 0.5)`` for ``x >= 0``, ``log sigmoid(x)`` below."""
    return torch.where(x >= 0, torch.log(F.relu(x) + 0.5), -F.softplus(-x))


def scan(log_a: Tensor, log_b: Tensor, h0: Tensor) -> Tensor:
    """All states of ``h_t = a_t * h_{t-1} + b_t`` at once.

    Args:
        log_a: ``log a_t`` ``(B, T, H)`` (``a_t`` in ``(0, 1]``).
        log_b: ``log b_t`` ``(B, T, H)`` (``-inf`` where ``b_t = 0``).
        h0: Initial state ``(B, H)``, any sign.

    Returns:
        ``h_1 .. h_T`` ``(B, T, H)``.
    """
    a_star = torch.cumsum(log_a, dim=1)  # log of a_1 * ... * a_t
    inputs = torch.exp(a_star + torch.logcumsumexp(log_b - a_star, dim=1))
    return inputs + torch.exp(a_star) * h0.unsqueeze(1)


class ScanRNN(nn.Module):
    """Stacked, optionally bidirectional scan recurrence; subclasses say how the input sets ``a_t`` and ``b_t``."""

    #: Linear projections of the input per direction: gates, then the candidate state.
    projections = 2
    #: ``forward`` takes ``lengths`` and keeps padding out of the state (``run_fused_by_length`` defers to it).
    masks_padding = True

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = True, dropout: float = 0.0, bidirectional: bool = False) -> None:
        super().__init__()
        if not batch_first:
            raise ValueError(f"{type(self).__name__} takes batch-first input (B, T, E) only.")
        # nn.GRU's attributes, read by code written for the fused layers
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bidirectional, self.batch_first, self.dropout = bidirectional, True, dropout
        directions = 2 if bidirectional else 1
        self.layers = nn.ModuleList(
            nn.Linear(input_size if layer == 0 else hidden_size * directions,
                      self.projections * hidden_size * directions, bias=bias)
            for layer in range(num_layers)
        )

    def coefficients(self, projected: Tensor) -> tuple[Tensor, Tensor]:
        """``(log a, log b)`` ``(B, T, H)`` each, from one direction's projection ``(B, T, projections * H)``."""
        raise NotImplementedError

    def forward(self, x: Tensor, state: Tensor | None = None, lengths: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Run the recurrence over a batch.

        Args:
            x: Input ``(B, T, E)``.
            state: Initial state ``(L * D, B, H)``; zeros when ``None``.
            lengths: Real length of each sequence ``(B,)``: steps past it leave the state unchanged and output 0,
                so results equal running each sequence alone.

        Returns:
            ``outputs`` ``(B, T, D * H)`` and the final state ``(L * D, B, H)`` (each sequence's at its length).
        """
        directions = 2 if self.bidirectional else 1
        batch, steps = x.shape[0], x.shape[1]
        if state is None:
            state = x.new_zeros(self.num_layers * directions, batch, self.hidden_size)
        mask = None
        if lengths is not None:
            mask = (torch.arange(steps, device=x.device)[None, :] < lengths.to(x.device)[:, None]).unsqueeze(-1)
        finals = []
        for layer, linear in enumerate(self.layers):
            if layer > 0 and self.dropout and self.training:
                x = F.dropout(x, self.dropout, training=True)
            projected = linear(x).chunk(directions, dim=-1)
            outputs = []
            for direction in range(directions):
                part = projected[direction] if direction == 0 else reverse_padded(projected[direction], lengths)
                log_a, log_b = self.coefficients(part)
                if mask is not None:  # padding: a = 1, b = 0, the state passes through unchanged
                    log_a = log_a.masked_fill(~mask, 0.0)
                    log_b = log_b.masked_fill(~mask, float("-inf"))
                h = scan(log_a, log_b, state[layer * directions + direction])
                finals.append(h[:, -1])
                outputs.append(h if direction == 0 else reverse_padded(h, lengths))
            x = torch.cat(outputs, dim=-1) if directions == 2 else outputs[0]
            if mask is not None:
                x = x * mask
        return x, torch.stack(finals)


class MinGRU(ScanRNN):
    """minGRU: an update gate and a candidate state, both from the input alone (see the module docstring)."""

    def coefficients(self, projected: Tensor) -> tuple[Tensor, Tensor]:
        gate, candidate = projected.chunk(2, dim=-1)
        log_z = -F.softplus(-gate)  # log sigmoid(gate)
        return -F.softplus(gate), log_z + _log_g(candidate)  # log(1 - z), log(z * g(candidate))


class MinLSTM(ScanRNN):
    """minLSTM: normalised forget and input gates and a candidate state, from the input alone."""

    projections = 3

    def coefficients(self, projected: Tensor) -> tuple[Tensor, Tensor]:
        forget, input_gate, candidate = projected.chunk(3, dim=-1)
        log_f, log_i = -F.softplus(-forget), -F.softplus(-input_gate)
        total = torch.logaddexp(log_f, log_i)
        return log_f - total, log_i - total + _log_g(candidate)
