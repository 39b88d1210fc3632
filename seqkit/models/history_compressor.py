"""Schmidhuber's (1992) neural history compressor: a lower RNN predicts the next token, and only the tokens it fails
to predict, with their time stamps, go up to a higher RNN, which therefore reads a much shorter sequence.

Coding the whole stream (the bits-per-token accounting of :meth:`HistoryCompressor.bits`): at step ``t`` the lower
net's most likely token ``a_t`` is right with its probability ``p_t = p(a_t)``. A sender codes one flag "lower net
right?" with ``p_t``; when it is wrong (a surprise, passed up) the token is coded with the higher net's distribution
``q_t`` over the other tokens. So the system assigns

    P(x_t) = p_t                      if x_t = a_t
    P(x_t) = (1 - p_t) q_t(x_t)       otherwise, with q_t(a_t) = 0,

a proper distribution, and ``-log2 P(x_t)`` summed over the stream is its code length. With ``q_t`` the lower net's
own distribution renormalised without ``a_t`` this is exactly the lower net's code length: the higher net can only
gain where it predicts surprises better than the lower net does.

The higher net steps only at surprises: its input there is the surprising token and the time since the previous
surprise; its state after the previous surprise, with the lower net's state at the current step, predicts ``q_t``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqkit.nn.config_checks import at_least


class CharLSTM(nn.Module):
    """Token embedding -> LSTM -> linear: next-token logits ``(B, T, V)`` and hidden states ``(B, T, H)``.

    Args:
        vocab_size: Tokens ``V``.
        hidden_size: LSTM units ``H`` (embedding size too).
        num_layers: Stacked LSTM layers.
    """

    def __init__(self, vocab_size: int, hidden_size: int = 256, num_layers: int = 1) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, hidden_size)
        self.rnn = nn.LSTM(hidden_size, hidden_size, num_layers, batch_first=True)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, ids: Tensor, state: tuple[Tensor, Tensor] | None = None):
        """``ids`` ``(B, T)`` -> logits ``(B, T, V)``, hidden ``(B, T, H)``, final state."""
        hidden, state = self.rnn(self.embedding(ids), state)
        return self.head(hidden), hidden, state


def surprises(logits: Tensor, targets: Tensor) -> Tensor:
    """Where the lower net's most likely token is wrong: bool ``(B, T)`` from logits ``(B, T, V)`` and targets
    ``(B, T)``. These are the tokens passed up."""
    return logits.argmax(-1) != targets


class HigherNet(nn.Module):
    """The upper level: an LSTM over the surprising tokens only, and a head that predicts a surprise's token.

    Args:
        vocab_size: Tokens ``V``.
        hidden_size: Its LSTM units.
        lower_size: Hidden size of the lower net (its state at the current step joins the prediction).
        max_gap: Time gaps between surprises are clipped to this and embedded.
    """

    def __init__(self, vocab_size: int, hidden_size: int, lower_size: int, max_gap: int = 64) -> None:
        super().__init__()
        self.max_gap = max_gap
        self.token = nn.Embedding(vocab_size, hidden_size)
        self.gap = nn.Embedding(max_gap + 1, hidden_size)
        self.rnn = nn.LSTM(hidden_size, hidden_size, batch_first=True)
        self.head = nn.Sequential(nn.Linear(hidden_size + lower_size, hidden_size), nn.Tanh(),
                                  nn.Linear(hidden_size, vocab_size))
        self.register_buffer("initial", torch.zeros(hidden_size))

    def forward(self, targets: Tensor, passed: Tensor, lower_hidden: Tensor) -> Tensor:
        """Logits ``(B, T, V)`` of ``q_t`` at every step (meaningful where ``passed``), given the stream's tokens
        ``targets`` ``(B, T)``, the surprise mask ``passed`` ``(B, T)`` and the lower net's states ``(B, T, H_low)``
        *before* each token is read (the ones that predicted it).

        Only the ``K`` surprises of each row are run through the LSTM (rows packed to the longest ``K``), so its cost
        scales with the fraction passed up, not with ``T``.
        """
        batch, steps = targets.shape
        device = targets.device
        counts = passed.sum(1)  # (B,)
        longest = int(counts.max()) if batch else 0
        # Surprise k of row b sits at column order[b, k]: a stable sort puts passed steps first, in time order.
        order = torch.sort((~passed).to(torch.int8), dim=1, stable=True).indices[:, :longest]  # (B, K)
        valid = torch.arange(longest, device=device)[None] < counts[:, None]  # (B, K)
        times = torch.where(valid, order, 0)
        gaps = torch.diff(times, dim=1, prepend=torch.full_like(times[:, :1], -1)).clamp(0, self.max_gap)
        inputs = self.token(targets.gather(1, times)) + self.gap(gaps)  # (B, K, H)
        upper, _ = self.rnn(inputs)  # (B, K, H): state after reading surprise k
        # At step t the higher net knows the surprises before t: its state after the last one (or its initial one).
        seen = torch.cumsum(passed.long(), 1) - passed.long()  # (B, T): surprises strictly before t
        padded = torch.cat([self.initial.expand(batch, 1, -1), upper], 1)  # (B, K + 1, H)
        context = padded.gather(1, seen[..., None].expand(-1, -1, padded.shape[-1]))  # (B, T, H)
        return self.head(torch.cat([context, lower_hidden], -1))


@dataclass(frozen=True)
class HistoryCompressorConfig:
    """Architecture of a :class:`HistoryCompressor` (``model.init_args.network`` of
    :class:`~seqkit.tasks.HistoryCompressorLM`); the vocabulary size comes from the data."""

    lower_size: int = 256
    """Lower LSTM units (its embedding size too)."""
    higher_size: int = 256
    """Higher LSTM units."""
    max_gap: int = 64
    """Time gaps between surprises are clipped to this before the higher net embeds them."""

    def __post_init__(self) -> None:
        at_least(self, "lower_size", "higher_size", "max_gap")


class HistoryCompressor(nn.Module):
    """Lower :class:`CharLSTM` + :class:`HigherNet`; see the module docstring for the coding scheme.

    Args:
        vocab_size: Tokens ``V``.
        config: The two nets' sizes, :class:`HistoryCompressorConfig`.
    """

    def __init__(self, vocab_size: int, config: HistoryCompressorConfig = HistoryCompressorConfig()) -> None:
        super().__init__()
        self.config = config
        self.lower = CharLSTM(vocab_size, config.lower_size)
        self.higher = HigherNet(vocab_size, config.higher_size, config.lower_size, config.max_gap)

    def lower_outputs(self, ids: Tensor, targets: Tensor, state=None):
        """Lower logits ``(B, T, V)``, its states ``(B, T, H)``, the surprise mask ``(B, T)`` and the final state."""
        logits, hidden, state = self.lower(ids, state)
        return logits, hidden, surprises(logits, targets), state

    def bits(self, ids: Tensor, targets: Tensor, state=None) -> tuple[Tensor, Tensor, tuple[Tensor, Tensor]]:
        """Code length in bits of each target ``(B, T)`` under the whole system, the surprise mask ``(B, T)``, and
        the lower net's final state (to carry into the next chunk of a stream)."""
        logits, hidden, passed, state = self.lower_outputs(ids, targets, state)
        return system_bits(logits, self.higher(targets, passed, hidden), targets), passed, state


def system_bits(lower_logits: Tensor, higher_logits: Tensor, targets: Tensor) -> Tensor:
    """``-log2 P(x_t)`` ``(B, T)`` of the two-level code, from the lower and higher nets' logits ``(B, T, V)``."""
    log_p = lower_logits.log_softmax(-1)
    best = log_p.argmax(-1, keepdim=True)  # (B, T, 1)
    log_right = log_p.gather(-1, best).squeeze(-1)  # log p_t
    log_wrong = torch.log1p(-log_right.exp().clamp(max=1 - 1e-7))  # log (1 - p_t)
    log_q = higher_logits.scatter(-1, best, float("-inf")).log_softmax(-1)  # q_t(a_t) = 0
    surprise = (best.squeeze(-1) != targets)
    log_token = torch.where(surprise, log_wrong + log_q.gather(-1, targets[..., None]).squeeze(-1).clamp(min=-1e4),
                            log_right)
    return -log_token / math.log(2)


def higher_loss(lower_logits: Tensor, higher_logits: Tensor, targets: Tensor, passed: Tensor) -> Tensor:
    """Mean cross-entropy (nats) of ``q_t`` on the surprises only (the higher net's training loss)."""
    best = lower_logits.argmax(-1, keepdim=True)
    log_q = higher_logits.scatter(-1, best, float("-inf")).log_softmax(-1)
    nll = -log_q.gather(-1, targets[..., None]).squeeze(-1)
    return nll[passed].mean() if bool(passed.any()) else higher_logits.sum() * 0


def lower_loss(logits: Tensor, targets: Tensor) -> Tensor:
    """Mean next-token cross-entropy (nats) of the lower net."""
    return F.cross_entropy(logits.flatten(0, 1), targets.flatten())
