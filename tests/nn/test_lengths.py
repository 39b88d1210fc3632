"""Length helpers and the split-by-length fused run."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from torch.testing import assert_close

from seqkit.nn import length_mask, reverse_padded, run_fused_by_length


def test_length_mask():
    assert length_mask(torch.tensor([2, 0, 3]), 3).tolist() == [
        [True, True, False], [False, False, False], [True, True, True]
    ]


def test_reverse_padded_reverses_within_length_and_is_an_involution():
    x = torch.arange(8.0).view(2, 4, 1)
    lengths = torch.tensor([3, 4])
    out = reverse_padded(x, lengths)
    assert out[..., 0].tolist() == [[2, 1, 0, 3], [7, 6, 5, 4]]
    assert torch.equal(reverse_padded(out, lengths), x)
    assert torch.equal(reverse_padded(x, None), x.flip(1))


@pytest.mark.parametrize("layer", [nn.LSTM, nn.GRU, nn.RNN])
def test_split_run_equals_packing_with_dropout_off(layer):
    torch.manual_seed(0)
    rnn = layer(3, 4, num_layers=3, batch_first=True, bidirectional=True).double()
    x = torch.randn(5, 7, 3, dtype=torch.float64)
    lengths = torch.tensor([7, 1, 4, 4, 6])
    out, final = run_fused_by_length(rnn, x, lengths)
    ref, ref_final = rnn(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
    ref, _ = pad_packed_sequence(ref, batch_first=True, total_length=7)
    assert_close(out, ref)
    if isinstance(final, tuple):
        final, ref_final = torch.cat(final), torch.cat(ref_final)
    assert_close(final, ref_final)


def test_all_empty_batch_keeps_initial_state():
    rnn = nn.GRU(3, 4, batch_first=True)
    h0 = torch.randn(1, 2, 4)
    out, final = run_fused_by_length(rnn, torch.randn(2, 3, 3), torch.tensor([0, 0]), h0)
    assert (out == 0).all() and torch.equal(final, h0)


def test_split_run_rejects_time_major_modules():
    with pytest.raises(ValueError, match="batch_first"):
        run_fused_by_length(nn.LSTM(3, 4), torch.randn(2, 3, 3), torch.tensor([3, 2]))
