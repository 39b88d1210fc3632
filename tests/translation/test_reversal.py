"""The attentional encoder-decoder learns a synthetic task that needs attention: reversing random sequences."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from seqkit.models.seq2seq import AttentionalSeq2Seq, Seq2SeqConfig
from seqkit.search import greedy_search

PAD, BOS, EOS, FIRST, SYMBOLS = 0, 2, 3, 4, 10


def reversal_batch(generator: torch.Generator, batch: int, min_len: int = 3, max_len: int = 8):
    """Random sequences of symbols ``4..13`` and their reversals (targets wrapped in ``<bos>``/``<eos>``)."""
    lengths = torch.randint(min_len, max_len + 1, (batch,), generator=generator)
    src = torch.full((batch, max_len), PAD)
    tgt = torch.full((batch, max_len + 2), PAD)
    for b, n in enumerate(lengths.tolist()):
        seq = torch.randint(FIRST, FIRST + SYMBOLS, (n,), generator=generator)
        src[b, :n] = seq
        tgt[b, 0], tgt[b, 1 : n + 1], tgt[b, n + 1] = BOS, seq.flip(0), EOS
    return src, lengths, tgt


def test_attention_model_learns_to_reverse_sequences(one_thread):
    steps = 400
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    config = Seq2SeqConfig(embedding_dim=32, hidden_size=64, decoder_hidden_size=64, attention="bahdanau",
                           dropout=0.0, share_embeddings=True)
    model = AttentionalSeq2Seq(FIRST + SYMBOLS, FIRST + SYMBOLS, config, PAD)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1 - step / steps)  # decay: no late noise
    model.train()
    for _ in range(steps):
        src, lengths, tgt = reversal_batch(generator, 64)
        logits, _ = model(src, lengths, tgt[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt[:, 1:].reshape(-1), ignore_index=PAD)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()

    model.eval()
    src, lengths, tgt = reversal_batch(torch.Generator().manual_seed(123), 500)
    found = greedy_search(model, src, lengths, BOS, EOS, max_length_ratio=1.0, max_length_offset=2)
    correct = sum(h.tokens == src[b, : lengths[b]].flip(0).tolist() for b, h in enumerate(found))
    assert correct / len(found) > 0.99, f"exact match {correct}/{len(found)}"
