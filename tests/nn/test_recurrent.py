"""RecurrentEncoder: the contract SequenceClassifier relies on, padding invariance, split vs pack, state carry."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch.testing import assert_close

from seqkit.nn import RecurrentEncoder, detach_state, ensure_flat_weights
from seqkit.nn.recurrent import SPLIT_MIN_LENGTH

CELLS = ["lstm", "gru", "rnn"]


def _flat(state):
    return torch.cat([s.flatten() for s in state]) if isinstance(state, tuple) else state.flatten()


def _encoder(cell="lstm", bidirectional=False, **kwargs):
    torch.manual_seed(0)
    # Positional order is the contract SequenceClassifier uses.
    return RecurrentEncoder(30, 6, 5, 2, cell, bidirectional, 0.0, 0, **kwargs).double()


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("cell", CELLS)
def test_shapes_and_last_hidden(cell, bidirectional):
    encoder = _encoder(cell, bidirectional)
    directions = 2 if bidirectional else 1
    ids = torch.randint(1, 30, (3, 7))
    outputs, final = encoder(ids, torch.tensor([7, 4, 2]))
    assert encoder.output_size == 5 * directions
    assert outputs.shape == (3, 7, 5 * directions)
    h = final[0] if cell == "lstm" else final
    assert h.shape == (2 * directions, 3, 5)
    last = encoder.last_hidden(final)
    assert last.shape == (3, 5 * directions)
    # Forward direction's last hidden is the output at the last real token; backward's is the output at t=0.
    assert_close(last[1, :5], outputs[1, 3, :5])
    if bidirectional:
        assert_close(last[1, 5:], outputs[1, 0, 5:])


@pytest.mark.parametrize("mode", ["pack", "split"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("cell", CELLS)
def test_each_sequence_encoded_as_if_alone_and_padding_is_zero(cell, bidirectional, mode):
    encoder = _encoder(cell, bidirectional, length_mode=mode)
    lengths = torch.tensor([6, 3, 1, 6])
    ids = torch.randint(1, 30, (4, 6)) * (torch.arange(6) < lengths[:, None])
    outputs, final = encoder(ids, lengths)
    for b, n in enumerate(lengths.tolist()):
        alone, alone_final = encoder(ids[b : b + 1, :n])
        assert_close(outputs[b : b + 1, :n], alone)
        assert (outputs[b, n:] == 0).all()
        states = final if isinstance(final, tuple) else (final,)
        alone_states = alone_final if isinstance(alone_final, tuple) else (alone_final,)
        for s, a in zip(states, alone_states):
            assert_close(s[:, b : b + 1], a)
    # More padding changes nothing.
    more = torch.cat([ids, torch.zeros(4, 5, dtype=ids.dtype)], dim=1)
    outputs2, final2 = encoder(more, lengths)
    assert_close(outputs2[:, :6], outputs)
    assert (outputs2[:, 6:] == 0).all()
    assert_close(_flat(final2), _flat(final))


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("cell", CELLS)
def test_split_and_pack_agree_with_state_and_gradients(cell, bidirectional):
    split = _encoder(cell, bidirectional, length_mode="split")
    pack = _encoder(cell, bidirectional, length_mode="pack")
    pack.load_state_dict(split.state_dict())
    lengths = torch.tensor([5, 0, 2, 5, 3])  # includes an empty sequence
    ids = torch.randint(1, 30, (5, 5)) * (torch.arange(5) < lengths[:, None])
    directions = 2 if bidirectional else 1
    h0 = torch.randn(2 * directions, 5, 5, dtype=torch.float64)
    state = (h0, torch.randn_like(h0)) if cell == "lstm" else h0
    results = []
    for encoder in (split, pack):
        outputs, final = encoder(ids, lengths, state)
        weights = torch.linspace(-1, 1, outputs.shape[-1], dtype=torch.float64)
        loss = (outputs * weights).sum() + _flat(final).pow(2).sum()
        results.append((outputs, _flat(final), torch.autograd.grad(loss, list(encoder.parameters()))))
    assert_close(results[0][0], results[1][0])
    assert_close(results[0][1], results[1][1])
    for g_split, g_pack in zip(results[0][2], results[1][2]):
        assert_close(g_split, g_pack)
    # The empty sequence: zero outputs, and its final state is the initial state.
    assert (results[0][0][1] == 0).all()
    _, final = split(ids, lengths, state)
    for s, s0 in zip(final if isinstance(final, tuple) else (final,), state if isinstance(state, tuple) else (state,)):
        assert_close(s[:, 1], s0[:, 1])


def test_auto_mode_splits_long_cpu_training_batches_only():
    encoder = _encoder()
    long_batch = torch.zeros(2, SPLIT_MIN_LENGTH, 6, dtype=torch.float64)
    assert encoder._mode(long_batch) == "split"
    assert encoder._mode(long_batch[:, : SPLIT_MIN_LENGTH - 1]) == "pack"
    with torch.no_grad():
        assert encoder._mode(long_batch) == "pack"


def test_state_carried_across_batches_equals_one_long_batch():
    encoder = _encoder("lstm")
    ids = torch.randint(1, 30, (2, 10))
    whole, final = encoder(ids)
    first, state = encoder(ids[:, :4])
    second, final2 = encoder(ids[:, 4:], torch.tensor([6, 6]), detach_state(state))
    assert_close(torch.cat([first, second], 1), whole)
    assert_close(_flat(final2), _flat(final))
    assert all(not s.requires_grad for s in detach_state(state)) and detach_state(None) is None


def test_weight_and_embedding_dropout_options():
    encoder = _encoder("lstm", embedding_dropout=0.5, weight_dropout=0.5)
    assert set(encoder.embedding.state_dict()) == {"weight"}
    ids = torch.randint(1, 30, (2, 40))
    lengths = torch.tensor([40, 33])
    a, _ = encoder(ids, lengths)
    b, _ = encoder(ids, lengths)
    assert not torch.allclose(a, b)
    encoder.eval()
    c, _ = encoder(ids, lengths)
    d, _ = encoder(ids, lengths)
    assert torch.equal(c, d)
    a.sum().backward()
    assert encoder.rnn.parametrizations.weight_hh_l0.original.grad is not None


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="cell"):
        RecurrentEncoder(10, cell="transformer")
    with pytest.raises(ValueError, match="length_mode"):
        RecurrentEncoder(10, length_mode="mask")
    with pytest.raises(ValueError, match="lengths must lie"):
        RecurrentEncoder(10)(torch.ones(2, 3, dtype=torch.long), torch.tensor([3, 4]))


def test_no_non_contiguous_weight_warning():
    encoder = _encoder("gru", bidirectional=True)
    ensure_flat_weights(encoder.rnn)  # a no-op on CPU; on CUDA it re-compacts split weights
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        encoder(torch.randint(1, 30, (2, 5)), torch.tensor([5, 3]))
    assert not [w for w in caught if "contiguous chunk" in str(w.message)]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="cuDNN weight layout needs a GPU")
def test_cuda_weights_are_recompacted():
    encoder = RecurrentEncoder(30, 6, 5, 2, "lstm").cuda()
    encoder.rnn.weight_hh_l0.data = encoder.rnn.weight_hh_l0.data.clone()  # break the flat buffer
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        encoder(torch.randint(1, 30, (2, 5), device="cuda"), torch.tensor([5, 3]))
    assert not [w for w in caught if "contiguous chunk" in str(w.message)]
