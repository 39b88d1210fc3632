"""Embedding dropout, locked dropout and weight drop (through the fused kernel)."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.testing import assert_close

from seqkit.nn import DropoutEmbedding, LockedDropout, embedding_dropout, weight_drop


def test_embedding_dropout_drops_whole_word_types_and_rescales():
    torch.manual_seed(0)
    embedding = nn.Embedding(50, 8)
    ids = torch.randint(0, 50, (16, 20))
    out = embedding_dropout(embedding, ids, 0.5, training=True)
    dropped = (out == 0).all(-1)
    for word in ids.unique():  # a word is dropped everywhere in the batch or nowhere
        assert dropped[ids == word].all() or not dropped[ids == word].any()
    assert 0 < dropped.float().mean() < 1
    kept = ~dropped
    assert_close(out[kept], embedding(ids)[kept] * 2)
    assert torch.equal(embedding_dropout(embedding, ids, 0.5, training=False), embedding(ids))


def test_dropout_embedding_is_an_embedding():
    layer = DropoutEmbedding(10, 4, padding_idx=0, dropout=0.3)
    assert set(layer.state_dict()) == set(nn.Embedding(10, 4).state_dict())
    layer.eval()
    ids = torch.tensor([[0, 3, 4]])
    assert torch.equal(layer(ids), nn.functional.embedding(ids, layer.weight))
    assert (layer(ids)[0, 0] == 0).all()


def test_locked_dropout_shares_the_mask_over_time():
    torch.manual_seed(1)
    x = torch.ones(4, 9, 6)
    out = LockedDropout(0.5)(x)
    assert torch.equal(out, out[:, :1].expand_as(out))
    assert set(out.unique().tolist()) <= {0.0, 2.0}
    time_major = LockedDropout(0.5, batch_first=False)(x.transpose(0, 1))
    assert torch.equal(time_major, time_major[:1].expand_as(time_major))
    module = LockedDropout(0.5).eval()
    assert module(x) is x
    with pytest.raises(ValueError):
        LockedDropout(1.0)


def _plain_state(dropped: nn.Module) -> dict[str, torch.Tensor]:
    return {k.replace("parametrizations.", "").replace(".original", ""): v for k, v in dropped.state_dict().items()}


@pytest.mark.parametrize("layer", [nn.LSTM, nn.GRU, nn.RNN])
def test_weight_drop_runs_the_fused_kernel_with_the_dropped_weight(layer):
    torch.manual_seed(2)
    rnn = weight_drop(layer(3, 5, num_layers=2, batch_first=True), 0.5)
    x = torch.randn(2, 4, 3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with parametrize.cached(), torch.profiler.profile() as profile:
            dropped = [rnn.weight_hh_l0, rnn.weight_hh_l1]  # inside cached(): the values this forward uses
            out, _ = rnn(x)
    assert not [w for w in caught if "contiguous chunk" in str(w.message)]
    kernel = {nn.LSTM: "aten::lstm", nn.GRU: "aten::gru", nn.RNN: "aten::rnn_tanh"}[layer]
    assert kernel in {event.name for event in profile.events()}
    assert all((w == 0).any() for w in dropped)
    plain = layer(3, 5, num_layers=2, batch_first=True)
    plain.load_state_dict(_plain_state(rnn))
    with torch.no_grad():
        plain.weight_hh_l0.copy_(dropped[0])
        plain.weight_hh_l1.copy_(dropped[1])
    assert_close(out, plain(x)[0])


def test_weight_drop_train_differs_eval_deterministic_and_grads_reach_raw_weight():
    torch.manual_seed(3)
    rnn = weight_drop(nn.LSTM(3, 5, batch_first=True), 0.5)
    raw = rnn.parametrizations.weight_hh_l0.original
    x = torch.randn(2, 6, 3)
    a, _ = rnn(x)
    b, _ = rnn(x)
    assert not torch.allclose(a, b)
    a.sum().backward()
    assert raw.grad is not None and raw.grad.abs().sum() > 0
    rnn.eval()
    c, _ = rnn(x)
    d, _ = rnn(x)
    assert torch.equal(c, d)
    plain = nn.LSTM(3, 5, batch_first=True)
    plain.load_state_dict(_plain_state(rnn))
    assert_close(c, plain(x)[0])


def test_weight_drop_needs_recurrent_weights():
    with pytest.raises(ValueError, match="weight_hh"):
        weight_drop(nn.Linear(3, 3), 0.5)
    with pytest.raises(ValueError):
        weight_drop(nn.GRU(3, 3), 1.0)
