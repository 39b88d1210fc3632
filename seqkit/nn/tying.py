"""Weight tying: share the input embedding matrix with the output softmax layer.

Press and Wolf, "Using the Output Embedding to Improve Language Models" (2017); Inan, Khosravi and Socher,
"Tying Word Vectors and Word Classifiers" (2017).
"""

from __future__ import annotations

from torch import Tensor, nn


def tie_weights(output: nn.Linear, embedding: nn.Embedding) -> None:
    """Make ``output.weight`` the same parameter as ``embedding.weight`` (both ``(V, E)``).

    Raises:
        ValueError: If the shapes differ; project the hidden state to ``E`` first (see :class:`TiedOutput`).
    """
    if output.weight.shape != embedding.weight.shape:
        raise ValueError(
            f"cannot tie an output layer of shape {tuple(output.weight.shape)} (vocab, in_features) to an embedding "
            f"of shape {tuple(embedding.weight.shape)} (vocab, embedding_dim): in_features must equal embedding_dim "
            "and the vocabularies must match; use TiedOutput to add a projection"
        )
    output.weight = embedding.weight


def are_tied(output: nn.Linear, embedding: nn.Embedding) -> bool:
    """Whether the two layers share one weight tensor."""
    return output.weight is embedding.weight


class TiedOutput(nn.Module):
    """Output layer ``(..., H) -> (..., V)`` logits whose weight is ``embedding.weight``.

    When ``in_features != embedding_dim`` a bias-free projection ``H -> E`` comes first, so any hidden size can
    be tied.

    Args:
        in_features: Hidden size ``H`` of the inputs.
        embedding: The input embedding ``(V, E)`` to share.
        bias: Learn a per-word output bias.
    """

    def __init__(self, in_features: int, embedding: nn.Embedding, bias: bool = True) -> None:
        super().__init__()
        vocab_size, embedding_dim = embedding.weight.shape
        self.projection = (
            nn.Identity() if in_features == embedding_dim else nn.Linear(in_features, embedding_dim, bias=False)
        )
        self.decoder = nn.Linear(embedding_dim, vocab_size, bias=bias)
        tie_weights(self.decoder, embedding)

    def forward(self, hidden: Tensor) -> Tensor:
        return self.decoder(self.projection(hidden))
