"""Associative memories: the binary Hopfield network, Kosko's bidirectional associative memory (BAM), and the
modern continuous Hopfield update of Ramsauer et al. (2020).

States and patterns are bipolar (``-1``/``+1``) float tensors. Storage is Hebbian and done once, in closed form;
nothing here is trained by gradient descent except the optional projections of :class:`ModernHopfield`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn


def _check_bipolar(name: str, x: Tensor, width: int) -> None:
    if x.dim() != 2 or x.shape[1] != width:
        raise ValueError(f"{name} must have shape (batch, {width}); got {tuple(x.shape)}")
    if not bool(((x == 1) | (x == -1)).all()):
        raise ValueError(f"{name} must hold only -1 and +1 (bipolar states)")


def _sign(field: Tensor, previous: Tensor) -> Tensor:
    """``sign(field)``, keeping the previous state where the field is exactly zero (so a tie changes nothing)."""
    return torch.where(field > 0, 1.0, torch.where(field < 0, -1.0, previous))


class HopfieldNetwork(nn.Module):
    """Binary Hopfield network (Hopfield 1982) with Hebbian storage.

    ``W = (1/N) sum_p xi_p xi_p^T`` with a zero diagonal; energy ``E(s) = -1/2 s^T W s``. Asynchronous updates (one
    unit at a time) never increase ``E`` and reach a fixed point; synchronous updates (all units at once) may end in
    a 2-cycle. Random patterns are recalled with few errors up to about ``0.138 N`` patterns (Amit et al. 1985).

    Args:
        size: Number of units ``N``.
    """

    def __init__(self, size: int) -> None:
        super().__init__()
        if size < 2:
            raise ValueError(f"a Hopfield network needs at least 2 units; got {size}")
        self.size = size
        self.register_buffer("weight", torch.zeros(size, size))
        self.stored = 0

    def store(self, patterns: Tensor) -> None:
        """Add bipolar ``patterns`` ``(P, N)`` to the memory (Hebb's rule; may be called again to add more)."""
        _check_bipolar("patterns", patterns, self.size)
        patterns = patterns.to(self.weight)
        self.weight += patterns.T @ patterns / self.size
        self.weight.fill_diagonal_(0.0)
        self.stored += len(patterns)

    def energy(self, states: Tensor) -> Tensor:
        """Energy ``(B,)`` of states ``(B, N)``."""
        return -0.5 * ((states @ self.weight) * states).sum(-1)

    def step_sync(self, states: Tensor) -> Tensor:
        """One synchronous update of every unit: ``(B, N) -> (B, N)``."""
        return _sign(states @ self.weight, states)

    def sweep_async(self, states: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """One asynchronous sweep: every unit once, in a random order shared by the batch: ``(B, N) -> (B, N)``.

        The batch is independent networks updated in lockstep, so the per-unit loop costs ``N`` small matrix-vector
        products whatever the batch size.
        """
        states = states.clone()
        for unit in torch.randperm(self.size, generator=generator).tolist():
            field = states @ self.weight[:, unit]
            states[:, unit] = _sign(field, states[:, unit])
        return states

    def recall(
        self,
        states: Tensor,
        mode: str = "async",
        max_steps: int = 50,
        generator: torch.Generator | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Run updates from ``states`` ``(B, N)`` until no unit changes (or ``max_steps`` sweeps/steps).

        Returns the final states ``(B, N)`` and the energy after each step ``(S + 1, B)`` (the first row is the
        start). ``mode`` is ``"async"`` (random-order sweeps) or ``"sync"``.
        """
        _check_bipolar("states", states, self.size)
        if mode not in ("async", "sync"):
            raise ValueError(f"mode must be 'async' or 'sync'; got {mode!r}")
        states = states.to(self.weight)
        energies = [self.energy(states)]
        for _ in range(max_steps):
            new = self.sweep_async(states, generator) if mode == "async" else self.step_sync(states)
            energies.append(self.energy(new))
            if torch.equal(new, states):
                break
            states = new
        return new, torch.stack(energies)


class BAM(nn.Module):
    """Kosko's (1988) bidirectional associative memory: hetero-associative pairs ``x <-> y``.

    ``W = sum_p x_p^T y_p`` ``(N, M)``; recall alternates ``y = sign(x W)`` and ``x = sign(y W^T)`` until neither
    layer changes. Energy ``E(x, y) = -x W y^T`` never increases along the way.

    Args:
        x_size: Units ``N`` of the first layer.
        y_size: Units ``M`` of the second layer.
    """

    def __init__(self, x_size: int, y_size: int) -> None:
        super().__init__()
        self.x_size, self.y_size = x_size, y_size
        self.register_buffer("weight", torch.zeros(x_size, y_size))

    def store(self, x: Tensor, y: Tensor) -> None:
        """Add the pairs ``x`` ``(P, N)`` <-> ``y`` ``(P, M)`` (bipolar) to the memory."""
        _check_bipolar("x", x, self.x_size)
        _check_bipolar("y", y, self.y_size)
        if len(x) != len(y):
            raise ValueError(f"x and y must hold the same number of pairs; got {len(x)} and {len(y)}")
        self.weight += x.to(self.weight).T @ y.to(self.weight)

    def energy(self, x: Tensor, y: Tensor) -> Tensor:
        """Energy ``(B,)`` of the layer states ``x`` ``(B, N)`` and ``y`` ``(B, M)``."""
        return -((x @ self.weight) * y).sum(-1)

    def recall(self, x: Tensor | None = None, y: Tensor | None = None, max_steps: int = 20) -> tuple[Tensor, Tensor]:
        """Complete a pair from one side (or both): returns ``(x, y)`` ``(B, N)``, ``(B, M)`` at the fixed point.

        Given only ``x``, ``y`` starts from ``sign(x W)``; given only ``y``, ``x`` from ``sign(y W^T)``.
        """
        if x is None and y is None:
            raise ValueError("recall needs x, y or both")
        if x is not None:
            _check_bipolar("x", x, self.x_size)
            x = x.to(self.weight)
        if y is not None:
            _check_bipolar("y", y, self.y_size)
            y = y.to(self.weight)
        if y is None:
            y = _sign(x @ self.weight, torch.ones(len(x), self.y_size).to(self.weight))
        if x is None:
            x = _sign(y @ self.weight.T, torch.ones(len(y), self.x_size).to(self.weight))
        for _ in range(max_steps):
            new_x = _sign(y @ self.weight.T, x)
            new_y = _sign(new_x @ self.weight, y)
            if torch.equal(new_x, x) and torch.equal(new_y, y):
                break
            x, y = new_x, new_y
        return new_x, new_y


class ModernHopfield(nn.Module):
    """The continuous modern Hopfield update (Ramsauer et al. 2020, "Hopfield Networks is All You Need").

    ``xi_new = X^T softmax(beta X xi)`` retrieves from stored patterns ``X`` with one update, at a capacity
    exponential in the dimension; with learned projections it is attention: queries are the state patterns
    ``R W_q``, keys the stored patterns ``Y W_k``, values ``Y W_k W_v``.

    Args:
        dim: Pattern dimension ``D``.
        beta: Inverse temperature; default ``1/sqrt(D)`` as in attention (large ``beta`` retrieves one pattern,
            small ``beta`` averages many).
        steps: Update steps (one is usually enough).
        projections: Learn query/key/value projections ``(D, D)``; without them the layer is the pure retrieval.
    """

    def __init__(self, dim: int, beta: float | None = None, steps: int = 1, projections: bool = False) -> None:
        super().__init__()
        if steps < 1:
            raise ValueError(f"steps must be >= 1; got {steps}")
        self.beta = beta if beta is not None else dim**-0.5
        self.steps = steps
        self.query = nn.Linear(dim, dim, bias=False) if projections else nn.Identity()
        self.key = nn.Linear(dim, dim, bias=False) if projections else nn.Identity()
        self.value = nn.Linear(dim, dim, bias=False) if projections else nn.Identity()

    def forward(self, queries: Tensor, stored: Tensor, mask: Tensor | None = None) -> Tensor:
        """Retrieve for ``queries`` ``(B, Q, D)`` from ``stored`` patterns ``(B, P, D)`` -> ``(B, Q, D)``.

        ``mask`` ``(B, P)`` is True at real stored patterns (padding excluded from the softmax).
        """
        keys = self.key(stored)
        state = self.query(queries)
        for _ in range(self.steps):
            scores = self.beta * state @ keys.transpose(1, 2)  # (B, Q, P)
            if mask is not None:
                scores = scores.masked_fill(~mask[:, None, :], float("-inf"))
            state = scores.softmax(-1) @ keys  # the update stays in key space, so it can be iterated
        return self.value(state)


@dataclass
class CapacityPoint:
    """Recall of ``patterns`` random patterns in a network of ``size`` units, from the patterns themselves."""

    size: int
    patterns: int
    bit_error: float  # mean share of wrong bits at the fixed point
    perfect: float  # share of patterns recalled with no wrong bit


def measure_capacity(
    size: int, loads: list[int], trials: int = 3, max_sweeps: int = 30, seed: int = 0
) -> list[CapacityPoint]:
    """Store ``P`` random bipolar patterns for each ``P`` in ``loads``, start asynchronous recall at each stored
    pattern, and measure how far the fixed point drifts from it (averaged over ``trials`` networks).

    Below ``0.138 N`` the drift stays at a percent or two; above, recall collapses (Amit, Gutfreund and Sompolinsky
    1985). Start from the patterns themselves so that only the memory's stability is measured.
    """
    generator = torch.Generator().manual_seed(seed)
    points = []
    for count in loads:
        errors, perfect = [], []
        for _ in range(trials):
            patterns = torch.randint(0, 2, (count, size), generator=generator).float() * 2 - 1
            network = HopfieldNetwork(size)
            network.store(patterns)
            final, _ = network.recall(patterns, "async", max_sweeps, generator)
            wrong = (final != patterns).float().mean(-1)
            errors.append(wrong.mean().item())
            perfect.append((wrong == 0).float().mean().item())
        points.append(CapacityPoint(size, count, sum(errors) / trials, sum(perfect) / trials))
    return points


def capacity_estimate(points: list[CapacityPoint], max_bit_error: float = 0.02) -> float:
    """Largest load ``P / N`` whose mean bit error stays within ``max_bit_error`` (the retrieval criterion)."""
    good = [p.patterns / p.size for p in points if p.bit_error <= max_bit_error]
    return max(good, default=0.0)
