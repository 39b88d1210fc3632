"""Greedy and batched beam search: beam 1 is greedy, a batch gives what one sentence at a time gives."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from seqkit.models.seq2seq import AttentionalSeq2Seq, Seq2SeqConfig
from seqkit.search import beam_search, greedy_search
from tests.translation.test_reversal import BOS, EOS, FIRST, PAD, SYMBOLS, reversal_batch


def _partly_trained(cell: str, attention: str) -> AttentionalSeq2Seq:
    """A reversal model after a few steps: confident enough to end hypotheses at different lengths."""
    torch.manual_seed(1)
    generator = torch.Generator().manual_seed(1)
    config = Seq2SeqConfig(embedding_dim=16, hidden_size=32, decoder_hidden_size=64 if attention == "dot" else 32,
                           cell=cell, attention=attention, dropout=0.0)
    model = AttentionalSeq2Seq(FIRST + SYMBOLS, FIRST + SYMBOLS, config, PAD)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(40):
        src, lengths, tgt = reversal_batch(generator, 32)
        logits, _ = model(src, lengths, tgt[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt[:, 1:].reshape(-1), ignore_index=PAD)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.double().eval()  # double precision: batch-size-dependent rounding cannot flip a near tie


MODELS = [("gru", "bahdanau"), ("lstm", "general"), ("gru", "dot"), ("gru", "concat")]


@pytest.fixture(scope="module", params=MODELS, ids=lambda p: "-".join(p))
def model(request) -> AttentionalSeq2Seq:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield _partly_trained(*request.param)
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def sources():
    src, lengths, _ = reversal_batch(torch.Generator().manual_seed(7), 12, min_len=1, max_len=8)
    return src, lengths


def test_weights_saved_before_concat_attention_split_its_layer_still_load(model, sources):
    """Concat attention once held one ``layer`` over ``[q; k]``; such state dicts load into the split projections."""
    state = model.state_dict()
    if model.config.attention == "concat":
        state["attention.layer.weight"] = torch.cat(
            [state.pop("attention.query_layer.weight"), state.pop("attention.key_layer.weight")], dim=1
        )
    fresh = AttentionalSeq2Seq(model.src_vocab_size, model.tgt_vocab_size, model.config, PAD).double().eval()
    fresh.load_state_dict(state)  # strict: every key matched
    src, lengths = sources
    memory, keys, mask, hidden, feed = model.encode(src, lengths)
    expected = model.decode_step(src[:, 0], hidden, feed, memory, keys, mask)
    torch.testing.assert_close(fresh.attention.keys(memory), keys, rtol=0, atol=0)
    for got, want in zip(fresh.decode_step(src[:, 0], hidden, feed, memory, keys, mask), expected, strict=True):
        torch.testing.assert_close(got, want, rtol=0, atol=0)


def test_beam_of_one_is_greedy(model, sources):
    src, lengths = sources
    greedy = greedy_search(model, src, lengths, BOS, EOS, alpha=0.6, return_attention=True)
    beam = beam_search(model, src, lengths, BOS, EOS, beam_size=1, alpha=0.6, return_attention=True)
    lengths_seen = set()
    for g, [b] in zip(greedy, beam, strict=True):
        assert g.tokens == b.tokens
        assert g.log_prob == pytest.approx(b.log_prob, abs=1e-9) and g.score == pytest.approx(b.score, abs=1e-9)
        torch.testing.assert_close(g.attention, b.attention)
        lengths_seen.add(len(g.tokens))
    assert len(lengths_seen) > 1  # hypotheses ended at different steps: the bookkeeping was exercised


@pytest.mark.parametrize("beam_size", [3, 5])
def test_batched_beam_search_equals_one_sentence_at_a_time(model, sources, beam_size):
    src, lengths = sources
    batched = beam_search(model, src, lengths, BOS, EOS, beam_size=beam_size, nbest=beam_size, alpha=1.0,
                          return_attention=True)
    for b in range(src.shape[0]):
        n = int(lengths[b])
        [single] = beam_search(model, src[b : b + 1, :n], lengths[b : b + 1], BOS, EOS, beam_size=beam_size,
                               nbest=beam_size, alpha=1.0, return_attention=True)
        assert [h.tokens for h in batched[b]] == [h.tokens for h in single]
        assert [h.score for h in batched[b]] == pytest.approx([h.score for h in single], abs=1e-9)
        for x, y in zip(batched[b], single, strict=True):
            torch.testing.assert_close(x.attention, y.attention)
            assert x.attention.shape == (len(x.tokens) + (x.attention.shape[0] > len(x.tokens)), n)


def test_beam_search_ranks_and_limits(model, sources):
    src, lengths = sources
    results = beam_search(model, src, lengths, BOS, EOS, beam_size=4, nbest=3, max_length_ratio=1.0,
                          max_length_offset=1)
    for b, hypotheses in enumerate(results):
        assert 1 <= len(hypotheses) <= 3
        assert [h.score for h in hypotheses] == sorted((h.score for h in hypotheses), reverse=True)
        assert all(len(h.tokens) <= int(lengths[b]) + 1 for h in hypotheses)
