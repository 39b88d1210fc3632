"""Forecasting networks: ``(B, L, C_in)`` look-back window -> ``(B, H, C_out)`` forecast, on standardised values.

The targets are the first ``C_out`` input channels (the data puts calendar features after the values), so the
networks can read the last observed target values from their inputs.

- :class:`RecurrentForecaster`: an LSTM/GRU encoder and a direct multi-horizon linear head.
- :class:`Seq2SeqForecaster`: a GRU/LSTM encoder-decoder, autoregressive or direct, with optional attention.
- :class:`DLinear`: the linear baseline of Zeng et al. (2023), trend (moving average) and remainder each mapped
  by one linear layer over time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqkit.nn.attention import DotAttention
from seqkit.nn.config_checks import at_least, one_of, rate
from seqkit.nn.recurrent import FUSED_LAYERS, CellType, ensure_flat_weights

Network = Literal["rnn", "seq2seq", "linear"]
DecoderMode = Literal["autoregressive", "direct"]


class RecurrentForecaster(nn.Module):
    """Stacked fused LSTM/GRU over the look-back window; its last hidden state -> all ``H`` steps at once.

    Args:
        num_inputs: Input channels ``C_in``.
        num_targets: Output channels ``C_out``.
        horizon: Steps ``H`` to forecast.
        hidden_size: Recurrent width.
        num_layers: Stacked recurrent layers.
        cell: ``lstm``, ``gru`` or ``rnn``.
        dropout: Dropout between layers and before the head.
    """

    def __init__(self, num_inputs: int, num_targets: int, horizon: int, hidden_size: int = 128,
                 num_layers: int = 2, cell: CellType = "lstm", dropout: float = 0.1) -> None:
        super().__init__()
        self.num_targets, self.horizon = num_targets, horizon
        self.rnn = FUSED_LAYERS[cell](num_inputs, hidden_size, num_layers=num_layers, batch_first=True,
                                      dropout=dropout if num_layers > 1 else 0.0)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, horizon * num_targets)

    def forward(self, x: Tensor) -> Tensor:
        """``x`` ``(B, L, C_in)`` -> forecast ``(B, H, C_out)``."""
        ensure_flat_weights(self.rnn)
        outputs, _ = self.rnn(x)
        # The forecast is a residual on the last observed values: the network learns the change.
        last = x[:, -1:, : self.num_targets]
        return last + self.head(self.dropout(outputs[:, -1])).view(-1, self.horizon, self.num_targets)


class Seq2SeqForecaster(nn.Module):
    """Encoder-decoder: the encoder reads the window, the decoder unrolls ``H`` steps from its final state.

    ``autoregressive``: each decoder step reads the previous step's forecast (the last observed values first),
    in training too, so training and inference see the same inputs. ``direct``: each step reads a learned
    embedding of its horizon position, and all steps run in one fused call. With ``attention`` each decoder output
    attends (scaled dot product) over the encoder outputs before the output layer.

    Args:
        num_inputs: Input channels ``C_in``.
        num_targets: Output channels ``C_out``.
        horizon: Steps ``H`` to forecast.
        hidden_size: Recurrent width of encoder and decoder.
        num_layers: Stacked layers in each.
        cell: ``gru``, ``lstm`` or ``rnn``.
        dropout: Dropout between layers and before the output layer.
        decoder: ``autoregressive`` or ``direct``.
        attention: Attend over the encoder outputs.
    """

    def __init__(self, num_inputs: int, num_targets: int, horizon: int, hidden_size: int = 128,
                 num_layers: int = 1, cell: CellType = "gru", dropout: float = 0.1,
                 decoder: DecoderMode = "autoregressive", attention: bool = False) -> None:
        super().__init__()
        if decoder not in ("autoregressive", "direct"):
            raise ValueError(f"decoder must be 'autoregressive' or 'direct', got {decoder!r}")
        self.num_targets, self.horizon, self.mode = num_targets, horizon, decoder
        layer = FUSED_LAYERS[cell]
        between = dropout if num_layers > 1 else 0.0
        self.encoder = layer(num_inputs, hidden_size, num_layers=num_layers, batch_first=True, dropout=between)
        step_size = num_targets if decoder == "autoregressive" else hidden_size
        self.decoder = layer(step_size, hidden_size, num_layers=num_layers, batch_first=True, dropout=between)
        self.positions = nn.Parameter(torch.randn(horizon, hidden_size) * 0.02) if decoder == "direct" else None
        self.attention = DotAttention(scaled=True) if attention else None
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_size * (2 if attention else 1), num_targets)

    def _output(self, decoded: Tensor, memory: Tensor) -> Tensor:
        """Decoder outputs ``(B, T, H_d)`` -> changes of the targets ``(B, T, C_out)``."""
        if self.attention is not None:
            context, _ = self.attention(decoded, memory)
            decoded = torch.cat([decoded, context], dim=-1)
        return self.out(self.dropout(decoded))

    def forward(self, x: Tensor) -> Tensor:
        """``x`` ``(B, L, C_in)`` -> forecast ``(B, H, C_out)``."""
        ensure_flat_weights(self.encoder)
        ensure_flat_weights(self.decoder)
        memory, state = self.encoder(x)
        last = x[:, -1:, : self.num_targets]
        if self.mode == "direct":
            steps = self.positions.unsqueeze(0).expand(x.shape[0], -1, -1)
            decoded, _ = self.decoder(steps, state)
            return last + self._output(decoded, memory)
        forecasts = []
        previous = last
        for _ in range(self.horizon):  # each step needs the previous forecast: a loop over H steps, not examples
            decoded, state = self.decoder(previous, state)
            previous = previous + self._output(decoded, memory)
            forecasts.append(previous)
        return torch.cat(forecasts, dim=1)


class MovingAverage(nn.Module):
    """Trend of each channel: a centred moving average, the ends padded by repeating the first and last rows.

    Args:
        kernel_size: Window of the average (odd keeps it centred).
    """

    def __init__(self, kernel_size: int = 25) -> None:
        super().__init__()
        self.kernel_size = kernel_size

    def forward(self, x: Tensor) -> Tensor:
        """``x`` ``(B, L, C)`` -> trend ``(B, L, C)``."""
        front = (self.kernel_size - 1) // 2
        back = self.kernel_size - 1 - front
        padded = F.pad(x.transpose(1, 2), (front, back), mode="replicate")
        return F.avg_pool1d(padded, self.kernel_size, stride=1).transpose(1, 2)


class DLinear(nn.Module):
    """Zeng et al. (2023), "Are Transformers Effective for Time Series Forecasting?": the window is split into a
    moving-average trend and the remainder; one linear map over time each, shared by every channel (or one per
    channel with ``individual``), summed.

    Args:
        num_inputs: Input channels; must equal ``num_targets`` (each channel forecasts itself).
        num_targets: Channels ``C``.
        lookback: Input steps ``L``.
        horizon: Steps ``H`` to forecast.
        kernel_size: Moving-average window (25 in the paper).
        individual: One pair of linear maps per channel.
    """

    def __init__(self, num_inputs: int, num_targets: int, lookback: int, horizon: int, kernel_size: int = 25,
                 individual: bool = False) -> None:
        super().__init__()
        if num_inputs != num_targets:
            raise ValueError(f"DLinear forecasts each channel from its own past: it takes no extra input channels "
                             f"(got {num_inputs} inputs for {num_targets} targets; turn calendar_features off).")
        self.decompose = MovingAverage(kernel_size)
        copies = num_targets if individual else 1
        # Start from the mean of the window (as the reference implementation does), not from random maps.
        self.seasonal = nn.Parameter(torch.full((copies, horizon, lookback), 1.0 / lookback))
        self.trend = nn.Parameter(torch.full((copies, horizon, lookback), 1.0 / lookback))
        self.seasonal_bias = nn.Parameter(torch.zeros(copies, horizon))
        self.trend_bias = nn.Parameter(torch.zeros(copies, horizon))

    def forward(self, x: Tensor) -> Tensor:
        """``x`` ``(B, L, C)`` -> forecast ``(B, H, C)``."""
        trend = self.decompose(x)
        seasonal = x - trend
        # (B, L, C) with (C|1, H, L) -> (B, H, C)
        out = torch.einsum("blc,chl->bhc", seasonal, self.seasonal.expand(x.shape[2], -1, -1))
        out = out + torch.einsum("blc,chl->bhc", trend, self.trend.expand(x.shape[2], -1, -1))
        return out + (self.seasonal_bias + self.trend_bias).T.unsqueeze(0)


@dataclass(frozen=True)
class ForecasterConfig:
    """The forecasting network (``model.init_args.network`` in a recipe); each setting applies to the architectures
    named beside it. The sizes the data gives (channels, look-back, horizon) are :func:`build_network`'s own
    arguments."""

    architecture: Network = "rnn"
    """``rnn`` (:class:`RecurrentForecaster`), ``seq2seq`` (:class:`Seq2SeqForecaster`) or ``linear``
    (:class:`DLinear`)."""
    hidden_size: int = 128
    """Recurrent width (``rnn``, ``seq2seq``)."""
    num_layers: int = 2
    """Stacked recurrent layers (``rnn``, ``seq2seq``)."""
    cell: CellType = "lstm"
    """``lstm``, ``gru`` or ``rnn`` (``rnn``, ``seq2seq``)."""
    dropout: float = 0.1
    """Dropout between recurrent layers and before the output (``rnn``, ``seq2seq``)."""
    decoder: DecoderMode = "autoregressive"
    """``autoregressive`` or ``direct`` (``seq2seq``)."""
    attention: bool = False
    """The decoder attends over the encoder outputs (``seq2seq``)."""
    kernel_size: int = 25
    """Moving-average window of the trend (``linear``)."""
    individual: bool = False
    """One linear map per channel (``linear``)."""

    def __post_init__(self) -> None:
        one_of(self, "architecture", get_args(Network))
        one_of(self, "cell", FUSED_LAYERS)
        one_of(self, "decoder", get_args(DecoderMode))
        at_least(self, "hidden_size", "num_layers", "kernel_size")
        rate(self, "dropout")


def build_network(num_inputs: int, num_targets: int, lookback: int, horizon: int,
                  config: ForecasterConfig = ForecasterConfig()) -> nn.Module:
    """The forecasting network ``config.architecture`` for ``num_inputs`` input channels, ``num_targets`` output
    channels, ``lookback`` input steps and ``horizon`` forecast steps; each takes the settings that apply to it."""
    c = config
    if c.architecture == "rnn":
        return RecurrentForecaster(num_inputs, num_targets, horizon, c.hidden_size, c.num_layers, c.cell, c.dropout)
    if c.architecture == "seq2seq":
        return Seq2SeqForecaster(num_inputs, num_targets, horizon, c.hidden_size, c.num_layers, c.cell, c.dropout,
                                 c.decoder, c.attention)
    return DLinear(num_inputs, num_targets, lookback, horizon, c.kernel_size, c.individual)
