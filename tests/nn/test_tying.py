"""Weight tying helpers."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from seqkit.nn import TiedOutput, are_tied, tie_weights


def test_tie_weights_shares_one_parameter():
    embedding = nn.Embedding(20, 8)
    output = nn.Linear(8, 20)
    tie_weights(output, embedding)
    assert are_tied(output, embedding)
    model = nn.ModuleDict({"embedding": embedding, "output": output})
    assert sum(p.numel() for p in model.parameters()) == 20 * 8 + 20


def test_tie_weights_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="TiedOutput"):
        tie_weights(nn.Linear(16, 20), nn.Embedding(20, 8))


@pytest.mark.parametrize("hidden", [8, 12])
def test_tied_output_projects_when_sizes_differ_and_trains_the_embedding(hidden):
    embedding = nn.Embedding(20, 8)
    head = TiedOutput(hidden, embedding)
    assert are_tied(head.decoder, embedding)
    assert isinstance(head.projection, nn.Identity) == (hidden == 8)
    logits = head(torch.randn(3, 5, hidden))
    assert logits.shape == (3, 5, 20)
    logits.sum().backward()
    assert embedding.weight.grad is not None
    # Tied weights stay tied through a state-dict round trip.
    model = nn.ModuleDict({"embedding": embedding, "head": head})
    copy_embedding = nn.Embedding(20, 8)
    copy = nn.ModuleDict({"embedding": copy_embedding, "head": TiedOutput(hidden, copy_embedding)})
    copy.load_state_dict(model.state_dict())
    assert are_tied(copy["head"].decoder, copy_embedding)
    assert torch.equal(copy_embedding.weight, embedding.weight)
