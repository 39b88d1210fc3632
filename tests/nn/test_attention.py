"""Attention: shapes, exact zero weight on padding, padding invariance, the scoring formulas."""

from __future__ import annotations

import math

import pytest
import torch
from torch.testing import assert_close

from seqkit.nn import (
    AdditiveAttention,
    AttentionPooling,
    ConcatAttention,
    DotAttention,
    GeneralAttention,
    masked_softmax,
)

Q, K, V = 6, 6, 5


def _scorers():
    torch.manual_seed(0)
    return {
        "additive": AdditiveAttention(Q, K, 7),
        "dot": DotAttention(),
        "scaled_dot": DotAttention(scaled=True),
        "general": GeneralAttention(Q, K),
        "concat": ConcatAttention(Q, K, 7),
    }


@pytest.fixture(params=list(_scorers()))
def attention(request):
    return _scorers()[request.param].double()


def _batch(seed=1):
    torch.manual_seed(seed)
    keys = torch.randn(3, 4, K, dtype=torch.float64)
    values = torch.randn(3, 4, V, dtype=torch.float64)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]], dtype=torch.bool)
    return keys, values, mask


@pytest.mark.parametrize("steps", [None, 2])
def test_shapes_padding_gets_exactly_zero_weight(attention, steps):
    keys, values, mask = _batch()
    query = torch.randn(3, Q, dtype=torch.float64) if steps is None else torch.randn(3, steps, Q, dtype=torch.float64)
    context, weights = attention(query, keys, values, mask)
    lead = (3,) if steps is None else (3, steps)
    assert context.shape == (*lead, V) and weights.shape == (*lead, 4)
    expanded = mask if steps is None else mask[:, None].expand(-1, steps, -1)
    assert (weights[~expanded] == 0).all()
    assert_close(weights.sum(-1), torch.ones(lead, dtype=torch.float64))


def test_more_padding_changes_no_output(attention):
    keys, values, mask = _batch()
    query = torch.randn(3, 2, Q, dtype=torch.float64)
    context, weights = attention(query, keys, values, mask)
    more_keys = torch.cat([keys, 100 * torch.randn(3, 3, K, dtype=torch.float64)], 1)  # garbage padding
    more_values = torch.cat([values, 100 * torch.randn(3, 3, V, dtype=torch.float64)], 1)
    more_mask = torch.cat([mask, torch.zeros(3, 3, dtype=torch.bool)], 1)
    context2, weights2 = attention(query, more_keys, more_values, more_mask)
    assert_close(context2, context)
    assert_close(weights2[..., :4], weights)
    assert (weights2[..., 4:] == 0).all()


def test_values_default_to_keys_and_no_mask_means_all_real(attention):
    keys, _, _ = _batch()
    query = torch.randn(3, Q, dtype=torch.float64)
    context, weights = attention(query, keys)
    assert_close(context, torch.einsum("bs,bsk->bk", weights, keys))
    assert (weights > 0).all()


def test_all_padding_row_is_zero_not_nan(attention):
    keys, values, mask = _batch()
    mask[2] = False
    query = torch.randn(3, Q, dtype=torch.float64, requires_grad=True)
    context, weights = attention(query, keys, values, mask)
    assert (weights[2] == 0).all() and (context[2] == 0).all()
    context.sum().backward()
    assert torch.isfinite(query.grad).all()


def test_scoring_formulas():
    torch.manual_seed(2)
    q, k = torch.randn(2, 3), torch.randn(2, 4, 3)

    def scores(scorer):  # the public two halves: project the keys once, then score the query against them
        return scorer.score(q[:, None], scorer.keys(k))[:, 0]

    assert_close(scores(DotAttention()), torch.einsum("bd,bsd->bs", q, k))
    assert_close(scores(DotAttention(True)), torch.einsum("bd,bsd->bs", q, k) / math.sqrt(3))
    general = GeneralAttention(3, 3)
    assert_close(scores(general), torch.einsum("bd,de,bse->bs", q, general.key_layer.weight, k))
    additive = AdditiveAttention(3, 3, 5)
    expected = torch.stack([
        torch.stack([additive.energy(torch.tanh(additive.query_layer(q[b]) + additive.key_layer(k[b, s]))).squeeze()
                     for s in range(4)]) for b in range(2)
    ])
    assert_close(scores(additive), expected)
    concat = ConcatAttention(3, 3, 5)
    w = torch.cat([concat.query_layer.weight, concat.key_layer.weight], dim=1)  # W of v^T tanh(W [q; k])
    expected = torch.stack([
        torch.stack([concat.energy(torch.tanh(w @ torch.cat([q[b], k[b, s]]))).squeeze() for s in range(4)])
        for b in range(2)
    ])
    assert_close(scores(concat), expected)


def test_concat_attention_loads_its_former_single_layer():
    torch.manual_seed(3)
    w, v = torch.randn(5, 3 + 4), torch.randn(1, 5)
    concat = ConcatAttention(3, 4, 5)
    concat.load_state_dict({"layer.weight": w, "energy.weight": v})  # the layout before the split: strict load
    q, k = torch.randn(2, 3), torch.randn(2, 6, 4)
    expected = torch.stack([
        torch.stack([v @ torch.tanh(w @ torch.cat([q[b], k[b, s]])) for s in range(6)]).squeeze(-1) for b in range(2)
    ])
    assert_close(concat.score(q[:, None], concat.keys(k))[:, 0], expected)


def test_masked_softmax_without_mask_is_softmax():
    scores = torch.randn(2, 5)
    assert_close(masked_softmax(scores, None), scores.softmax(-1))


def test_attention_pooling():
    torch.manual_seed(3)
    pool = AttentionPooling(5, 4).double()
    inputs = torch.randn(3, 6, 5, dtype=torch.float64)
    mask = torch.arange(6) < torch.tensor([6, 3, 1])[:, None]
    pooled, weights = pool(inputs, mask)
    assert pooled.shape == (3, 5) and weights.shape == (3, 6)
    assert (weights[~mask] == 0).all()
    assert_close(weights.sum(-1), torch.ones(3, dtype=torch.float64))
    assert_close(pooled[2], inputs[2, 0])  # one real position takes all the weight
    scores = torch.tanh(pool.projection(inputs[0])) @ pool.context
    assert_close(weights[0], scores.softmax(-1))
    more = torch.cat([inputs, 50 * torch.randn(3, 2, 5, dtype=torch.float64)], 1)
    pooled2, weights2 = pool(more, torch.cat([mask, torch.zeros(3, 2, dtype=torch.bool)], 1))
    assert_close(pooled2, pooled)
    assert_close(weights2[:, :6], weights)
