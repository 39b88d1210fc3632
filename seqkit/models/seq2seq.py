"""Attentional RNN encoder-decoder (Bahdanau et al. 2015; Luong et al. 2015) as a plain ``nn.Module``.

Encoder: embeddings -> bidirectional LSTM/GRU (:class:`~seqkit.nn.RecurrentEncoder`), outputs ``(B, S, 2H)``.
Decoder, one target step ``t``::

    x_t     = [embed(y_{t-1}); a_{t-1}]              input feeding: the last attentional vector goes back in
    h_t     = RNN(x_t, h_{t-1})                      h_0 = tanh(W_b [h_fwd; h_bwd]) (the bridge), or zeros
    c_t, w_t = attention(h_t, encoder outputs)       additive, dot, general or concat scores, masked
    a_t     = tanh(W_c [h_t; c_t])                   the attentional vector
    p(y_t)  = softmax(W_o a_t)                       W_o may be the target embedding (tied)

Search lives outside the model (:mod:`seqkit.search`): it only calls :meth:`encode` and :meth:`decode_step`,
which take and return tensors alone (LSTM states are ``h`` and ``c`` stacked along the layer axis), so they can
also be traced for export.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from seqkit.errors import ConfigError
from seqkit.nn import RecurrentEncoder, TiedOutput
from seqkit.nn.attention import AdditiveAttention, Attention, ConcatAttention, DotAttention, GeneralAttention
from seqkit.nn.config_checks import at_least, rate
from seqkit.nn.recurrent import FUSED_LAYERS, CellType

AttentionType = Literal["bahdanau", "dot", "general", "concat"]

#: ``attention`` name -> scorer for queries of size ``Q``, keys of size ``K`` and hidden width ``A``.
SCORERS = {
    "bahdanau": lambda q, k, a: AdditiveAttention(q, k, a),
    "dot": lambda q, k, a: DotAttention(),
    "general": lambda q, k, a: GeneralAttention(q, k),
    "concat": lambda q, k, a: ConcatAttention(q, k, a),
}


@dataclass(frozen=True)
class Seq2SeqConfig:
    """Architecture of an :class:`AttentionalSeq2Seq` (``model.init_args.network`` of a translation recipe); the
    vocabulary sizes and padding id come from the data."""

    embedding_dim: int = 256
    """Embedding size ``E`` of both sides."""
    hidden_size: int = 256
    """Encoder hidden size per direction ``H`` (outputs are ``2H`` wide)."""
    decoder_hidden_size: int | None = None
    """Decoder hidden size ``Hd``; ``None``: ``2H``."""
    encoder_layers: int = 1
    """Stacked encoder layers."""
    decoder_layers: int = 1
    """Stacked decoder layers."""
    cell: CellType = "gru"
    """``gru`` or ``lstm`` (``rnn``, ``mingru`` and ``minlstm`` work too)."""
    attention: AttentionType = "bahdanau"
    """``bahdanau`` (additive), ``dot`` (needs ``Hd == 2H``), ``general`` or ``concat``."""
    attention_size: int | None = None
    """Hidden width of the additive and concat scorers; ``None``: ``Hd``."""
    input_feeding: bool = True
    """Feed the last attentional vector into the next step (Luong et al.)."""
    bridge: bool = True
    """Initialise the decoder from the encoder's final states; else from zeros."""
    tie_embeddings: bool = True
    """Output layer shares the target embedding (a projection is added when ``Hd != E``)."""
    share_embeddings: bool = False
    """Source and target share one embedding (joint vocabulary: the sizes must be equal)."""
    dropout: float = 0.3
    """On embeddings, between layers and on the attentional vector."""

    def __post_init__(self) -> None:
        at_least(self, "embedding_dim", "hidden_size", "decoder_hidden_size", "encoder_layers", "decoder_layers",
                 "attention_size")
        rate(self, "dropout")
        if self.cell not in FUSED_LAYERS:
            raise ConfigError(f"Seq2SeqConfig.cell={self.cell!r}: must be one of {', '.join(FUSED_LAYERS)}.")
        if self.attention not in SCORERS:
            raise ConfigError(f"Seq2SeqConfig.attention={self.attention!r}: must be bahdanau, dot, general or "
                              "concat.")
        decoder = self.decoder_hidden_size or 2 * self.hidden_size
        if self.attention == "dot" and decoder != 2 * self.hidden_size:
            raise ConfigError(f"Seq2SeqConfig.attention='dot' needs decoder_hidden_size == 2 * hidden_size "
                              f"({2 * self.hidden_size}), got {decoder}; use 'general' attention for different sizes.")


class AttentionalSeq2Seq(nn.Module):
    """Bidirectional RNN encoder and attentional RNN decoder.

    Args:
        src_vocab_size: Source ids (from the data).
        tgt_vocab_size: Target ids ``V`` (from the data).
        config: The architecture, :class:`Seq2SeqConfig`.
        pad_id: Padding id of both sides.
    """

    def __init__(self, src_vocab_size: int, tgt_vocab_size: int, config: Seq2SeqConfig = Seq2SeqConfig(),
                 pad_id: int = 0) -> None:
        super().__init__()
        c = config
        if c.share_embeddings and src_vocab_size != tgt_vocab_size:
            raise ValueError(f"share_embeddings needs one joint vocabulary, got source {src_vocab_size} and "
                             f"target {tgt_vocab_size} ids; use a joint tokenizer or set share_embeddings false")
        self.config = config
        self.src_vocab_size, self.tgt_vocab_size, self.pad_id = src_vocab_size, tgt_vocab_size, pad_id
        self.encoder = RecurrentEncoder(src_vocab_size, c.embedding_dim, c.hidden_size, c.encoder_layers, c.cell,
                                        bidirectional=True, dropout=c.dropout, pad_id=pad_id)
        memory_size = self.encoder.output_size
        self.hidden_size = c.decoder_hidden_size or memory_size
        self.tgt_embedding = (self.encoder.embedding if c.share_embeddings
                              else nn.Embedding(tgt_vocab_size, c.embedding_dim, padding_idx=pad_id))
        self.dropout = nn.Dropout(c.dropout)
        self.rnn = FUSED_LAYERS[c.cell](
            c.embedding_dim + (self.hidden_size if c.input_feeding else 0), self.hidden_size, c.decoder_layers,
            batch_first=True, dropout=c.dropout if c.decoder_layers > 1 else 0.0,
        )
        self.attention: Attention = SCORERS[c.attention](self.hidden_size, memory_size,
                                                         c.attention_size or self.hidden_size)
        self.state_rows = c.decoder_layers * (2 if c.cell == "lstm" else 1)  # decoder state rows: h (and c) per layer
        self.bridge = nn.Linear(memory_size, self.state_rows * self.hidden_size) if c.bridge else None
        self.combine = nn.Linear(self.hidden_size + memory_size, self.hidden_size, bias=False)
        self.output = (TiedOutput(self.hidden_size, self.tgt_embedding) if c.tie_embeddings
                       else nn.Linear(self.hidden_size, tgt_vocab_size))

    # ----------------------------------------------------------------- encoder
    def encode(self, src_ids: Tensor, src_lengths: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        """Encode a source batch and set up the decoder.

        Args:
            src_ids: ``(B, S)``.
            src_lengths: ``(B,)``.

        Returns:
            ``memory`` ``(B, S, 2H)`` (attention values), ``keys`` ``(B, S, K)`` (memory already projected for the
            scorer, computed once per sentence instead of once per step), ``mask`` ``(B, S)`` (``True`` on real
            tokens), decoder ``hidden`` ``(L', B, Hd)`` (``L' = 2 * layers`` for LSTM: ``h`` then ``c``) and the
            initial attentional vector ``feed`` ``(B, Hd)`` (zeros).
        """
        memory, final = self.encoder(src_ids, src_lengths)
        mask = torch.arange(src_ids.shape[1], device=src_ids.device) < src_lengths.to(src_ids.device)[:, None]
        batch = src_ids.shape[0]
        if self.bridge is not None:
            summary = self.encoder.last_hidden(final)  # (B, 2H): forward and backward final states
            hidden = torch.tanh(self.bridge(summary)).view(batch, self.state_rows, self.hidden_size).transpose(0, 1)
            hidden = hidden.contiguous()
        else:
            hidden = memory.new_zeros(self.state_rows, batch, self.hidden_size)
        feed = memory.new_zeros(batch, self.hidden_size)
        return memory, self.attention.keys(memory), mask, hidden, feed

    # ----------------------------------------------------------------- decoder
    def _step(self, embedded: Tensor, hidden: Tensor, feed: Tensor, memory: Tensor, keys: Tensor,
              mask: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """One decoder step from an embedded input ``(B, E)``: new ``hidden``, ``feed`` ``(B, Hd)``, weights."""
        inputs = torch.cat([embedded, feed], -1) if self.config.input_feeding else embedded
        if self.config.cell == "lstm":
            h, c = hidden.chunk(2, dim=0)
            output, (h, c) = self.rnn(inputs.unsqueeze(1), (h.contiguous(), c.contiguous()))
            hidden = torch.cat([h, c], 0)
        else:
            output, hidden = self.rnn(inputs.unsqueeze(1), hidden)
        query = output.squeeze(1)  # (B, Hd): the top layer
        context, weights = self.attention.attend(query, keys, memory, mask)  # (B, 2H), (B, S)
        feed = self.dropout(torch.tanh(self.combine(torch.cat([query, context], -1))))
        return hidden, feed, weights

    def decode_step(self, prev_tokens: Tensor, hidden: Tensor, feed: Tensor, memory: Tensor, keys: Tensor,
                    mask: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """One target step for search.

        Args:
            prev_tokens: Previous token of each hypothesis ``(N,)`` (``<bos>`` first).
            hidden, feed, memory, keys, mask: As returned by :meth:`encode` or the previous step, with rows
                matching ``prev_tokens``.

        Returns:
            ``log_probs`` ``(N, V)``, the new ``hidden`` and ``feed``, and attention ``weights`` ``(N, S)``.
        """
        embedded = self.dropout(self.tgt_embedding(prev_tokens))
        hidden, feed, weights = self._step(embedded, hidden, feed, memory, keys, mask)
        logits = self.output(feed)
        if logits.dtype in (torch.float16, torch.bfloat16):  # normalise in float32 under mixed precision
            logits = logits.float()
        return torch.log_softmax(logits, -1), hidden, feed, weights

    def forward(self, src_ids: Tensor, src_lengths: Tensor, tgt_inputs: Tensor,
                teacher_forcing: float = 1.0) -> tuple[Tensor, Tensor]:
        """Logits for every target position.

        Args:
            src_ids: ``(B, S)``; src_lengths: ``(B,)``.
            tgt_inputs: Target ids shifted right, ``(B, T)`` (``<bos> y_1 ... y_{T-1}``).
            teacher_forcing: Probability of feeding the true previous token at each step (per sentence); else
                the model's own last prediction is fed (scheduled sampling). ``1.0``: always the true one.

        Returns:
            ``logits`` ``(B, T, V)`` and attention ``weights`` ``(B, T, S)``.
        """
        memory, keys, mask, hidden, feed = self.encode(src_ids, src_lengths)
        embedded = self.dropout(self.tgt_embedding(tgt_inputs))  # (B, T, E), all steps at once
        feeds, weights, logits = [], [], []
        for t in range(tgt_inputs.shape[1]):
            step_input = embedded[:, t]
            if t > 0 and teacher_forcing < 1.0:
                own = self.dropout(self.tgt_embedding(logits[-1].argmax(-1)))
                use_own = torch.rand(own.shape[0], 1, device=own.device) >= teacher_forcing
                step_input = torch.where(use_own, own, step_input)
            hidden, feed, step_weights = self._step(step_input, hidden, feed, memory, keys, mask)
            feeds.append(feed)
            weights.append(step_weights)
            if teacher_forcing < 1.0:
                logits.append(self.output(feed))
        all_logits = torch.stack(logits, 1) if logits else self.output(torch.stack(feeds, 1))
        return all_logits, torch.stack(weights, 1)
