"""Gradient through time: the norm of ``dL/dh_t`` at each time step ``t`` of the recurrent layers of a model.

A fused kernel keeps its hidden states inside: the gradient reaching its output tensor is only the direct part, not
what flows back through later steps. While a :class:`HiddenGradientTracker` is active, every ``nn.LSTM``/
``nn.GRU``/``nn.RNN`` in the model runs as the equivalent :class:`~seqkit.nn.CellRNN` time loop on the *same*
parameters (same outputs, tested), which records each step's hidden state ``h_t``; ``CellRNN`` modules record
through their step hook. ``RecurrentEncoder``s are switched to packing meanwhile, so their RNN sees whole sequences.

Example::

    with HiddenGradientTracker(model) as tracker:
        loss = criterion(model(ids, lengths), labels)
    norms = tracker.norms(loss)   # {"encoder.rnn": tensor (T,), ...}; parameter .grad untouched
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn
from torch.func import functional_call
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from seqkit.nn.cell_rnn import CellRNN, fused_parameters
from seqkit.nn.lengths import reverse_padded
from seqkit.nn.recurrent import RecurrentEncoder


@dataclass
class _Recording:
    """Step outputs of one forward of one module: ``steps[(layer, direction)]`` is a list of ``(B, H)``."""

    steps: dict[tuple[int, int], list[Tensor]] = field(default_factory=dict)
    lengths: Tensor | None = None

    def hook(self, layer: int, direction: int, t: int, output: Tensor) -> None:
        self.steps.setdefault((layer, direction), []).append(output)


def _stepwise_forward(rnn: nn.RNNBase, cell_rnn: CellRNN, recordings: list[_Recording]) -> Callable:
    """A replacement ``rnn.forward`` running the cell loop on ``rnn``'s own (possibly parametrized) weights."""

    def forward(input: Tensor | PackedSequence, hx=None):  # nn.RNNBase.forward's argument names
        packed = isinstance(input, PackedSequence)
        if packed:  # pad_packed_sequence restores the caller's batch order, the order hx is given in
            padded, lengths = pad_packed_sequence(input, batch_first=True)
        else:
            padded = input if rnn.batch_first else input.transpose(0, 1)
            lengths = None
        recording = _Recording(lengths=lengths)
        recordings.append(recording)
        cell_rnn.train(rnn.training)  # inter-layer dropout as the fused module would apply it
        cell_rnn.step_hook = recording.hook
        try:
            outputs, final = functional_call(cell_rnn, fused_parameters(rnn, cell_rnn), (padded, lengths, hx))
        finally:
            cell_rnn.step_hook = None
        if packed:
            outputs = pack_padded_sequence(outputs, lengths, batch_first=True, enforce_sorted=False)
        elif not rnn.batch_first:
            outputs = outputs.transpose(0, 1)
        return outputs, final

    return forward


class HiddenGradientTracker:
    """Context manager recording per-step hidden states of a model's recurrent layers; see the module docstring.

    Args:
        model: Any module containing ``nn.LSTM``/``nn.GRU``/``nn.RNN`` or :class:`~seqkit.nn.CellRNN` layers.
        modules: Names (as in ``model.named_modules()``) to track; default all recurrent layers.

    The tracked forward costs about as much as the cell loop (2-3x the fused kernel); use it on a batch now and
    then, not on every step.
    """

    def __init__(self, model: nn.Module, modules: list[str] | None = None) -> None:
        self.model = model
        found = {name: m for name, m in model.named_modules() if isinstance(m, nn.RNNBase | CellRNN)}
        if modules is not None:
            missing = sorted(set(modules) - set(found))
            if missing:
                raise ValueError(f"no recurrent layer named {missing}; recurrent layers: {sorted(found)}")
            found = {name: found[name] for name in modules}
        if not found:
            raise ValueError(f"{type(model).__name__} has no nn.LSTM/nn.GRU/nn.RNN or CellRNN layer to track")
        self.modules = found
        self.recordings: dict[str, list[_Recording]] = {name: [] for name in found}
        self._stack: ExitStack | None = None

    def __enter__(self) -> HiddenGradientTracker:
        self._stack = ExitStack()
        for name, module in self.modules.items():
            self._stack.enter_context(self._patched(module, self.recordings[name]))
        for module in self.model.modules():
            if isinstance(module, RecurrentEncoder):
                self._stack.enter_context(_attribute(module, "length_mode", "pack"))
        return self

    def __exit__(self, *exc_info) -> None:
        assert self._stack is not None
        self._stack.close()
        self._stack = None

    @staticmethod
    @contextmanager
    def _patched(module: nn.Module, recordings: list[_Recording]) -> Iterator[None]:
        if isinstance(module, CellRNN):
            def forward(inputs: Tensor, lengths: Tensor | None = None, state=None):
                recording = _Recording(lengths=None if lengths is None else lengths.cpu())
                recordings.append(recording)
                module.step_hook = recording.hook  # also makes CellRNN skip torch.compile
                try:
                    return CellRNN.forward(module, inputs, lengths, state)
                finally:
                    module.step_hook = None
        else:
            forward = _stepwise_forward(module, CellRNN.from_fused(module), recordings)
        module.forward = forward  # an instance attribute shadows the class's method
        try:
            yield
        finally:
            del module.forward

    def norms(self, loss: Tensor, layer: int = -1, direction: int = 0) -> dict[str, Tensor]:
        """Mean over the batch of ``||dL/dh_t||_2`` for each step: ``{module name: (T,)}``.

        Computed with ``torch.autograd.grad``, so parameters' ``.grad`` are untouched. Steps past a sequence's
        length are left out of its mean. A module called several times (e.g. a decoder step by step) is
        reported for its last call.

        Args:
            loss: Scalar loss computed from the tracked forward.
            layer: Which layer (default the top one).
            direction: ``0`` forward, ``1`` backward (its curve is put back in input order).
        """
        selected: dict[str, tuple[list[Tensor], Tensor | None]] = {}
        for name, recordings in self.recordings.items():
            if not recordings:
                continue
            recording = recordings[-1]
            layers = sorted({key[0] for key in recording.steps})
            key = (layers[layer], direction)
            if key not in recording.steps:
                raise ValueError(f"{name}: no recorded direction {direction}")
            selected[name] = (recording.steps[key], recording.lengths)
        tensors = [t for steps, _ in selected.values() for t in steps]
        grads = torch.autograd.grad(loss, tensors, allow_unused=True, retain_graph=True)
        result, start = {}, 0
        for name, (steps, lengths) in selected.items():
            chunk = grads[start : start + len(steps)]
            start += len(steps)
            # A step the loss does not depend on has no gradient at all: its norm is 0.
            stacked = torch.stack([torch.zeros_like(s) if g is None else g for s, g in zip(steps, chunk)], dim=1)
            if direction == 1:
                stacked = reverse_padded(stacked, lengths)
            per_example = stacked.detach().to(torch.promote_types(stacked.dtype, torch.float32)).norm(dim=-1)  # (B, T)
            if lengths is None:
                result[name] = per_example.mean(0)
            else:
                real = (torch.arange(per_example.shape[1]) < lengths[:, None]).to(per_example)
                result[name] = (per_example * real).sum(0) / real.sum(0).clamp(min=1)
        return result


@contextmanager
def _attribute(obj: object, name: str, value: object) -> Iterator[None]:
    old = getattr(obj, name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        setattr(obj, name, old)


def gradient_norms_through_time(model: nn.Module, loss_fn: Callable[[], Tensor],
                                modules: list[str] | None = None) -> dict[str, Tensor]:
    """Run ``loss_fn()`` (which calls ``model``) under a :class:`HiddenGradientTracker`: ``{name: (T,)}``."""
    with HiddenGradientTracker(model, modules) as tracker:
        loss = loss_fn()
    return tracker.norms(loss)
