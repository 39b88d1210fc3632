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

from seqkit.nn import RecurrentEncoder, TiedOutput
from seqkit.nn.attention import AdditiveAttention, Attention, ConcatAttention, DotAttention, GeneralAttention
from seqkit.nn.recurrent import FUSED_LAYERS, CellType

AttentionType = Literal["bahdanau", "dot", "general", "concat"]

#: ``attention`` name -> scorer for queries of size ``Q``, keys of size ``K`` and hidden width ``A``.
SCORERS = {
    "bahdanau": lambda q, k, a: AdditiveAttention(q, k, a),
    "dot": lambda q, k, a: DotAttention(),
    "general": lambda q, k, a: GeneralAttention(q, k),
    "concat": lambda q, k, a: ConcatAttention(q, k, a),
}


@dataclass
class Seq2SeqConfig:
    """Architecture of an :class:`AttentionalSeq2Seq`.

    Args:
        src_vocab_size: Source ids.
        tgt_vocab_size: Target ids ``V``.
        pad_id: Padding id of both sides.
        embedding_dim: Embedding size ``E`` of both sides.
        hidden_size: Encoder hidden size per direction ``H`` (outputs are ``2H`` wide).
        decoder_hidden_size: Decoder hidden size ``Hd``; ``None``: ``2H``.
        encoder_layers: Stacked encoder layers.
        decoder_layers: Stacked decoder layers.
        cell: ``gru`` or ``lstm`` (``rnn``, ``mingru`` and ``minlstm`` work too).
        attention: ``bahdanau`` (additive), ``dot`` (needs ``Hd == 2H``), ``general`` or ``concat``.
        attention_size: Hidden width of the additive and concat scorers; ``None``: ``Hd``.
        input_feeding: Feed the last attentional vector into the next step (Luong et al.).
        bridge: Initialise the decoder from the encoder's final states; else from zeros.
        tie_embeddings: Output layer shares the target embedding (a projection is added when ``Hd != E``).
        share_embeddings: Source and target share one embedding (joint vocabulary: the sizes must be equal).
        dropout: On embeddings, between layers and on the attentional vector.
    """

    src_vocab_size: int
    tgt_vocab_size: int
    pad_id: int = 0
    embedding_dim: int = 256
    hidden_size: int = 256
    decoder_hidden_size: int | None = None
    encoder_layers: int = 1
    decoder_layers: int = 1
    cell: CellType = "gru"
    attention: AttentionType = "bahdanau"
    attention_size: int | None = None
    input_feeding: bool = True
    bridge: bool = True
    tie_embeddings: bool = True
    share_embeddings: bool = False
    dropout: float = 0.3


class AttentionalSeq2Seq(nn.Module):
    """Bidirectional RNN encoder and attentional RNN decoder, built from a :class:`Seq2SeqConfig`."""

    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__()
        c = config
        if c.share_embeddings and c.src_vocab_size != c.tgt_vocab_size:
            raise ValueError(f"share_embeddings needs one joint vocabulary, got source {c.src_vocab_size} and "
                             f"target {c.tgt_vocab_size} ids; use a joint tokenizer or set share_embeddings false")
        if c.attention not in SCORERS:
            raise ValueError(f"attention must be bahdanau, dot, general or concat, got {c.attention!r}")
        self.config = config
        self.encoder = RecurrentEncoder(c.src_vocab_size, c.embedding_dim, c.hidden_size, c.encoder_layers, c.cell,
                                        bidirectional=True, dropout=c.dropout, pad_id=c.pad_id)
        memory_size = self.encoder.output_size
        self.hidden_size = c.decoder_hidden_size or memory_size
        if c.attention == "dot" and self.hidden_size != memory_size:
            raise ValueError(f"dot attention needs decoder_hidden_size == 2 * hidden_size ({memory_size}), got "
                             f"{self.hidden_size}; use 'general' attention for different sizes")
        self.tgt_embedding = (self.encoder.embedding if c.share_embeddings
                              else nn.Embedding(c.tgt_vocab_size, c.embedding_dim, padding_idx=c.pad_id))
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
                       else nn.Linear(self.hidden_size, c.tgt_vocab_size))

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
