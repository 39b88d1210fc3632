"""Echo-state networks (Jaeger 2001): a fixed random recurrent reservoir and a linear readout fitted in closed form.

Only the readout learns. :class:`RidgeReadout` accumulates the normal equations ``X^T X`` and ``X^T Y`` batch by
batch, so memory stays at ``(F + 1)^2 + (F + 1) O`` numbers however much data is seen, and solves
``(X^T X + alpha I) W = X^T Y`` once at the end (the bias is not regularised).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from seqkit.errors import ConfigError
from seqkit.nn.config_checks import at_least, positive


def scaled_reservoir_weight(
    size: int, spectral_radius: float, density: float, generator: torch.Generator | None = None
) -> Tensor:
    """A sparse random ``(size, size)`` matrix, entries uniform in ``[-1, 1]`` with probability ``density``, scaled
    so that its largest absolute eigenvalue is ``spectral_radius``."""
    if not 0 < density <= 1:
        raise ValueError(f"density must be in (0, 1]; got {density}")
    weight = torch.rand(size, size, generator=generator, dtype=torch.float64) * 2 - 1
    weight *= torch.rand(size, size, generator=generator, dtype=torch.float64) < density
    if weight.is_meta:  # built for its shapes only (a folder's sizes checked before memory is taken)
        return weight.float()
    radius = torch.linalg.eigvals(weight).abs().max()
    if radius == 0:
        raise ValueError(f"the reservoir matrix is all zero (density {density} too low for size {size})")
    return (weight * (spectral_radius / radius)).float()


class Reservoir(nn.Module):
    """Leaky-integrator reservoir: ``h_t = (1 - a) h_{t-1} + a tanh(W_in u_t + W h_{t-1} + b)``.

    ``W`` is sparse and random with spectral radius ``spectral_radius`` (below 1 gives the echo-state property in
    practice: the state forgets its start and depends only on the input history), ``W_in`` and ``b`` random in
    ``[-input_scaling, input_scaling]`` and ``[-bias_scaling, bias_scaling]``. All are buffers: nothing is trained.

    Args:
        input_size: Input features ``I``.
        size: Reservoir units ``N``.
        spectral_radius: Largest absolute eigenvalue of ``W``.
        leak_rate: ``a`` in ``(0, 1]``; small values make slow units with a long memory.
        input_scaling: Range of the input weights.
        density: Share of non-zero entries of ``W``.
        bias_scaling: Range of the bias.
        seed: Seed of the random weights (a reservoir is reproducible from its arguments).
    """

    def __init__(self, input_size: int, size: int = 500, spectral_radius: float = 0.9, leak_rate: float = 0.5,
                 input_scaling: float = 1.0, density: float = 0.1, bias_scaling: float = 0.1, seed: int = 0) -> None:
        super().__init__()
        if not 0 < leak_rate <= 1:
            raise ValueError(f"leak_rate must be in (0, 1]; got {leak_rate}")
        if spectral_radius <= 0:
            raise ValueError(f"spectral_radius must be positive; got {spectral_radius}")
        self.input_size, self.size, self.leak_rate = input_size, size, leak_rate
        generator = torch.Generator().manual_seed(seed)
        self.register_buffer("weight", scaled_reservoir_weight(size, spectral_radius, density, generator))
        input_weight = (torch.rand(input_size, size, generator=generator) * 2 - 1) * input_scaling
        self.register_buffer("input_weight", input_weight)
        self.register_buffer("bias", (torch.rand(size, generator=generator) * 2 - 1) * bias_scaling)

    def forward(self, inputs: Tensor, lengths: Tensor | None = None, state: Tensor | None = None) -> Tensor:
        """States ``(B, T, N)`` for inputs ``(B, T, I)`` from ``state`` ``(B, N)`` (default zeros).

        With ``lengths`` ``(B,)``, a sequence's state is held fixed past its end (so ``states[:, -1]`` is each
        sequence's last real state).
        """
        batch, steps, _ = inputs.shape
        h = inputs.new_zeros(batch, self.size) if state is None else state
        drive = inputs @ self.input_weight + self.bias  # (B, T, N): the input part of every step at once
        keep = None if lengths is None else (torch.arange(steps, device=inputs.device)[None] < lengths[:, None])
        states = []
        for t in range(steps):
            new = (1 - self.leak_rate) * h + self.leak_rate * torch.tanh(drive[:, t] + h @ self.weight.T)
            h = new if keep is None else torch.where(keep[:, t, None], new, h)
            states.append(h)
        return torch.stack(states, 1)


class RidgeReadout(nn.Module):
    """Linear readout ``y = x W + b`` fitted by ridge regression from accumulated normal equations.

    Call :meth:`accumulate` (or :meth:`accumulate_classes`) on every batch, then :meth:`solve`. The sums are kept in
    float64 and are buffers, so they are checkpointed and can be summed across processes before solving.

    Args:
        in_features: Features ``F``.
        out_features: Outputs ``O`` (classes for classification).
        alpha: Ridge penalty ``alpha ||W||^2`` (bias excluded), on the *summed* squared error.
    """

    def __init__(self, in_features: int, out_features: int, alpha: float = 1.0) -> None:
        super().__init__()
        if alpha < 0:
            raise ValueError(f"alpha must be >= 0; got {alpha}")
        self.alpha = alpha
        self.linear = nn.Linear(in_features, out_features)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)
        self.linear.requires_grad_(False)
        self.register_buffer("gram", torch.zeros(in_features + 1, in_features + 1, dtype=torch.float64))
        self.register_buffer("cross", torch.zeros(in_features + 1, out_features, dtype=torch.float64))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    def reset(self) -> None:
        """Forget the accumulated sums."""
        self.gram.zero_()
        self.cross.zero_()
        self.count.zero_()

    def _augment(self, features: Tensor) -> Tensor:
        ones = features.new_ones(len(features), 1)
        return torch.cat([features, ones], 1).double()  # (M, F + 1): the last column carries the bias

    def accumulate(self, features: Tensor, targets: Tensor) -> None:
        """Add rows ``features`` ``(M, F)`` with regression targets ``(M, O)``."""
        x = self._augment(features)
        self.gram += x.T @ x
        self.cross += x.T @ targets.double()
        self.count += len(x)

    def accumulate_classes(self, features: Tensor, labels: Tensor) -> None:
        """Add rows ``features`` ``(M, F)`` whose targets are one-hot class ids ``labels`` ``(M,)``.

        ``X^T onehot(y)`` is a scatter-add of rows, never the ``(M, O)`` one-hot matrix (``O`` may be a vocabulary).
        """
        x = self._augment(features)
        self.gram += x.T @ x
        self.cross.index_add_(1, labels, x.T)
        self.count += len(x)

    @torch.no_grad()
    def solve(self) -> None:
        """Set the readout to the ridge solution of everything accumulated."""
        if int(self.count) == 0:
            raise RuntimeError("the readout has seen no data: accumulate batches before solve()")
        penalty = torch.full((len(self.gram),), self.alpha, dtype=self.gram.dtype, device=self.gram.device)
        penalty[-1] = 0.0  # the bias is not shrunk
        system = self.gram + torch.diag(penalty)
        solution = torch.linalg.solve(system, self.cross) if self.alpha > 0 else torch.linalg.lstsq(
            system, self.cross).solution  # alpha 0 may be singular: least squares picks a solution
        self.linear.weight.copy_(solution[:-1].T.to(self.linear.weight))
        self.linear.bias.copy_(solution[-1].to(self.linear.bias))

    def forward(self, features: Tensor) -> Tensor:
        """Outputs ``(..., O)`` for features ``(..., F)``."""
        return self.linear(features)


@dataclass(frozen=True)
class ReservoirConfig:
    """The fixed part of an echo-state network as one settings group: random token vectors (unit-variance entries /
    sqrt(dim)) driving a :class:`Reservoir`."""

    embedding_dim: int = 64
    """Size of the random token vectors ``I``."""
    reservoir_size: int = 500
    """Reservoir units ``N``."""
    spectral_radius: float = 0.9
    """Largest absolute eigenvalue of the reservoir matrix (below 1: the state forgets its start)."""
    leak_rate: float = 0.5
    """Share of each new state taken from the update, in ``(0, 1]``; small values make slow units."""
    input_scaling: float = 0.5
    """Range of the input weights."""
    density: float = 0.1
    """Share of non-zero entries of the reservoir matrix, in ``(0, 1]``."""
    bias_scaling: float = 0.1
    """Range of the reservoir's bias."""
    seed: int = 0
    """Seed of the random weights and token vectors (a reservoir is reproducible from its settings)."""

    def __post_init__(self) -> None:
        at_least(self, "embedding_dim", "reservoir_size")
        positive(self, "spectral_radius", "leak_rate", "input_scaling", "density")
        at_least(self, "bias_scaling", minimum=0)
        for name in ("leak_rate", "density"):
            if getattr(self, name) > 1:
                raise ConfigError(f"{type(self).__name__}.{name}={getattr(self, name)}: must be in (0, 1].")

    def build(self, vocab_size: int, pad_id: int | None = None) -> tuple[Tensor, Reservoir]:
        """Token vectors ``(V, I)`` (zero at ``pad_id``) and the reservoir."""
        generator = torch.Generator().manual_seed(self.seed + 1)
        vectors = torch.randn(vocab_size, self.embedding_dim, generator=generator) / self.embedding_dim**0.5
        if pad_id is not None:
            vectors[pad_id] = 0.0
        return vectors, Reservoir(self.embedding_dim, self.reservoir_size, self.spectral_radius, self.leak_rate,
                                  self.input_scaling, self.density, self.bias_scaling, self.seed)


@dataclass(frozen=True)
class EchoStateClassifierConfig:
    """Architecture of an :class:`EchoStateClassifierNet` (``model.init_args.network`` in a recipe). The sizes the
    data gives (vocabulary, classes, padding id) are the network's own arguments."""

    reservoir: ReservoirConfig = ReservoirConfig()
    """Token vectors and reservoir (``N`` units; the readout sees ``2 N`` features)."""
    alpha: float = 1.0
    """Ridge penalty of the readout (0: least squares)."""

    def __post_init__(self) -> None:
        at_least(self, "alpha", minimum=0)


class EchoStateClassifierNet(nn.Module):
    """Token ids -> fixed random embeddings -> reservoir -> [mean state, last state] -> ridge readout.

    The embeddings are random and fixed too (a random input projection of the one-hot tokens), so the whole network
    has no trained weight except the readout.

    Args:
        vocab_size: Token ids.
        num_classes: Classes ``C``.
        config: Reservoir and ridge penalty.
        pad_id: Padding id (its embedding is zero).
    """

    def __init__(self, vocab_size: int, num_classes: int,
                 config: EchoStateClassifierConfig = EchoStateClassifierConfig(), pad_id: int = 0) -> None:
        super().__init__()
        self.config = config
        embedding, self.reservoir = config.reservoir.build(vocab_size, pad_id)
        self.register_buffer("embedding", embedding)
        self.readout = RidgeReadout(2 * config.reservoir.reservoir_size, num_classes, config.alpha)

    def features(self, input_ids: Tensor, input_lengths: Tensor) -> Tensor:
        """Readout features ``(B, 2N)`` for token ids ``(B, T)`` with lengths ``(B,)``."""
        states = self.reservoir(self.embedding[input_ids], input_lengths)  # (B, T, N)
        real = (torch.arange(input_ids.shape[1], device=input_ids.device)[None] < input_lengths[:, None]).float()
        mean = (states * real[..., None]).sum(1) / input_lengths.clamp(min=1)[:, None]
        return torch.cat([mean, states[:, -1]], -1)

    def forward(self, input_ids: Tensor, input_lengths: Tensor) -> Tensor:
        """Class scores ``(B, C)``."""
        return self.readout(self.features(input_ids, input_lengths))


#: The next-token model's reservoir: larger and sparser than a classifier's, driven harder.
LM_RESERVOIR = ReservoirConfig(reservoir_size=1000, input_scaling=1.0, density=0.05)


@dataclass(frozen=True)
class EchoStateLMConfig:
    """Architecture of an :class:`EchoStateLMNet` (``model.init_args.network`` of :class:`~seqkit.tasks.EchoStateLM`):
    the fixed part; the readout's sizes follow from it and the vocabulary."""

    reservoir: ReservoirConfig = LM_RESERVOIR
    """Token vectors and reservoir (``network.reservoir.leak_rate`` in a recipe)."""


class EchoStateLMNet(nn.Module):
    """Token ids ``(B, T)`` -> fixed random token vectors -> reservoir -> linear readout ``(N -> V)``: next-token
    logits. Only the readout has trainable weights.

    Args:
        vocab_size: Tokens ``V``.
        config: :class:`EchoStateLMConfig`.
    """

    def __init__(self, vocab_size: int, config: EchoStateLMConfig = EchoStateLMConfig()) -> None:
        super().__init__()
        embedding, self.reservoir = config.reservoir.build(vocab_size)
        self.register_buffer("embedding", embedding)
        self.readout = nn.Linear(config.reservoir.reservoir_size, vocab_size)

    def forward(self, ids: Tensor, state: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Next-token logits ``(B, T, V)`` for ids ``(B, T)`` from reservoir state ``(B, N)`` (default zeros), and
        the final reservoir state ``(B, N)``."""
        with torch.no_grad():  # nothing before the readout is trained
            states = self.reservoir(self.embedding[ids], state=state)
        return self.readout(states), states[:, -1]
