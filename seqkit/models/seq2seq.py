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

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqkit.nn import (
    AdditiveAttention,
    ConcatAttention,
    DotAttention,
    GeneralAttention,
    RecurrentEncoder,
    TiedOutput,
    masked_softmax,
)
from seqkit.nn.recurrent import FUSED_LAYERS, CellType

AttentionType = Literal["bahdanau", "dot", "general", "concat"]


class AttentionalSeq2Seq(nn.Module):
    """Bidirectional RNN encoder and attentional RNN decoder.

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

    def __init__(
        self,
        src_vocab_size: int,
        tgt_vocab_size: int,
        pad_id: int = 0,
        embedding_dim: int = 256,
        hidden_size: int = 256,
        decoder_hidden_size: int | None = None,
        encoder_layers: int = 1,
        decoder_layers: int = 1,
        cell: CellType = "gru",
        attention: AttentionType = "bahdanau",
        attention_size: int | None = None,
        input_feeding: bool = True,
        bridge: bool = True,
        tie_embeddings: bool = True,
        share_embeddings: bool = False,
        dropout: float = 0.3,
    ) -> None:
        super().__init__()
        if share_embeddings and src_vocab_size != tgt_vocab_size:
            raise ValueError(f"share_embeddings needs one joint vocabulary, got source {src_vocab_size} and target "
                             f"{tgt_vocab_size} ids; use a joint tokenizer or set share_embeddings false")
        self.encoder = RecurrentEncoder(src_vocab_size, embedding_dim, hidden_size, encoder_layers, cell,
                                        bidirectional=True, dropout=dropout, pad_id=pad_id)
        memory_size = self.encoder.output_size
        self.hidden_size = decoder_hidden_size or memory_size
        self.cell = cell
        self.decoder_layers = decoder_layers
        self.input_feeding = input_feeding
        self.attention_type = attention
        self.tgt_embedding = (self.encoder.embedding if share_embeddings
                              else nn.Embedding(tgt_vocab_size, embedding_dim, padding_idx=pad_id))
        self.dropout = nn.Dropout(dropout)
        self.rnn = FUSED_LAYERS[cell](
            embedding_dim + (self.hidden_size if input_feeding else 0), self.hidden_size, decoder_layers,
            batch_first=True, dropout=dropout if decoder_layers > 1 else 0.0,
        )
        width = attention_size or self.hidden_size
        if attention == "bahdanau":
            self.attention = AdditiveAttention(self.hidden_size, memory_size, width)
        elif attention == "dot":
            if self.hidden_size != memory_size:
                raise ValueError(f"dot attention needs decoder_hidden_size == 2 * hidden_size ({memory_size}), got "
                                 f"{self.hidden_size}; use 'general' attention for different sizes")
            self.attention = DotAttention()
        elif attention == "general":
            self.attention = GeneralAttention(self.hidden_size, memory_size)
        elif attention == "concat":
            self.attention = ConcatAttention(self.hidden_size, memory_size, width)
        else:
            raise ValueError(f"attention must be bahdanau, dot, general or concat, got {attention!r}")
        states = decoder_layers * (2 if cell == "lstm" else 1)
        self.bridge = nn.Linear(memory_size, states * self.hidden_size) if bridge else None
        self.combine = nn.Linear(self.hidden_size + memory_size, self.hidden_size, bias=False)
        self.output = (TiedOutput(self.hidden_size, self.tgt_embedding) if tie_embeddings
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
        states = self.decoder_layers * (2 if self.cell == "lstm" else 1)
        if self.bridge is not None:
            summary = self.encoder.last_hidden(final)  # (B, 2H): forward and backward final states
            hidden = torch.tanh(self.bridge(summary)).view(batch, states, self.hidden_size).transpose(0, 1)
            hidden = hidden.contiguous()
        else:
            hidden = memory.new_zeros(states, batch, self.hidden_size)
        feed = memory.new_zeros(batch, self.hidden_size)
        return memory, self._project_keys(memory), mask, hidden, feed

    def _project_keys(self, memory: Tensor) -> Tensor:
        """The query-independent half of each scorer, applied once: ``(B, S, 2H) -> (B, S, K)``."""
        attention = self.attention
        if isinstance(attention, AdditiveAttention | GeneralAttention):
            return attention.key_layer(memory)
        if isinstance(attention, ConcatAttention):  # W [q; k] = W_q q + W_k k
            return F.linear(memory, attention.layer.weight[:, self.hidden_size :])
        return memory

    def _scores(self, query: Tensor, keys: Tensor) -> Tensor:
        """Raw attention scores ``(B, S)`` of ``query`` ``(B, Hd)`` against projected ``keys`` ``(B, S, K)``.

        The same values as the scorer modules' ``score`` (tested), with the key projection hoisted out.
        """
        attention = self.attention
        if isinstance(attention, AdditiveAttention):
            return attention.energy(torch.tanh(attention.query_layer(query).unsqueeze(1) + keys)).squeeze(-1)
        if isinstance(attention, ConcatAttention):
            projected = F.linear(query, attention.layer.weight[:, : self.hidden_size])
            return attention.energy(torch.tanh(projected.unsqueeze(1) + keys)).squeeze(-1)
        scores = torch.bmm(keys, query.unsqueeze(-1)).squeeze(-1)  # dot and general
        if isinstance(attention, DotAttention) and attention.scaled:
            scores = scores / math.sqrt(keys.shape[-1])
        return scores

    # ----------------------------------------------------------------- decoder
    def _step(self, embedded: Tensor, hidden: Tensor, feed: Tensor, memory: Tensor, keys: Tensor,
              mask: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """One decoder step from an embedded input ``(B, E)``: new ``hidden``, ``feed`` ``(B, Hd)``, weights."""
        inputs = torch.cat([embedded, feed], -1) if self.input_feeding else embedded
        if self.cell == "lstm":
            h, c = hidden.chunk(2, dim=0)
            output, (h, c) = self.rnn(inputs.unsqueeze(1), (h.contiguous(), c.contiguous()))
            hidden = torch.cat([h, c], 0)
        else:
            output, hidden = self.rnn(inputs.unsqueeze(1), hidden)
        query = output.squeeze(1)  # (B, Hd): the top layer
        weights = masked_softmax(self._scores(query, keys), mask)  # (B, S)
        context = torch.bmm(weights.unsqueeze(1), memory).squeeze(1)  # (B, 2H)
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
