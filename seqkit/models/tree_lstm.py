"""Tree-LSTMs (Tai, Socher and Manning 2015): LSTMs over the nodes of a parse tree, with a classifier on every node.

Two cells:

- ``constituency`` (the binary N-ary Tree-LSTM): each internal node reads its left and right child through separate
  weights, with one forget gate per child that sees both children;
- ``child_sum``: a node reads the sum of its children's hidden states (order-free), with one forget gate per child
  computed from that child alone.

Leaves read their word vector (with no children, ``c = i * u``); internal nodes of a constituency tree have no
input of their own. :class:`TreeLSTM` computes a whole batch level by level (all nodes of one height in one call,
see :class:`seqkit.data.trees.TreeCollator`); :func:`recursive_forward` computes one tree node by node, the plain
recursion, with the same weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from seqkit.nn.config_checks import at_least, one_of, rate

TreeCell = Literal["constituency", "child_sum"]


class _LeafGates(nn.Module):
    """Leaf update shared by both cells: ``i, o, u`` from the word vector, ``c = i * u``, ``h = o * tanh(c)``."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.iou = nn.Linear(input_size, 3 * hidden_size)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(h, c)``, each ``(n, H)``, for word vectors ``x`` ``(n, E)``."""
        i, o, u = self.iou(x).chunk(3, -1)
        c = torch.sigmoid(i) * torch.tanh(u)
        return torch.sigmoid(o) * torch.tanh(c), c


class _TreeCell(nn.Module):
    """A Tree-LSTM cell: :class:`_LeafGates` for the leaves, a subclass's ``forward`` for the parents.

    Args:
        input_size: Word vector size ``E``.
        hidden_size: State size ``H``.
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.leaf = _LeafGates(input_size, hidden_size)


class BinaryTreeLSTMCell(_TreeCell):
    """Constituency (binary N-ary) Tree-LSTM cell, Tai et al. 2015 eq. 9-14 with N = 2."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__(input_size, hidden_size)
        self.compose = nn.Linear(2 * hidden_size, 5 * hidden_size)  # i, f_left, f_right, o, u from [h_l; h_r]

    def forward(self, child_h: Tensor, child_c: Tensor) -> tuple[Tensor, Tensor]:
        """``(h, c)`` ``(n, H)`` of ``n`` parents from their children's states ``(n, 2, H)`` (left, right)."""
        i, f_left, f_right, o, u = self.compose(child_h.flatten(1)).chunk(5, -1)
        c = (torch.sigmoid(i) * torch.tanh(u) + torch.sigmoid(f_left) * child_c[:, 0]
             + torch.sigmoid(f_right) * child_c[:, 1])
        return torch.sigmoid(o) * torch.tanh(c), c


class ChildSumTreeLSTMCell(_TreeCell):
    """Child-Sum Tree-LSTM cell, Tai et al. 2015 eq. 2-8 (internal nodes without input of their own)."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__(input_size, hidden_size)
        self.iou = nn.Linear(hidden_size, 3 * hidden_size)
        self.forget = nn.Linear(hidden_size, hidden_size)

    def forward(self, child_h: Tensor, child_c: Tensor) -> tuple[Tensor, Tensor]:
        """``(h, c)`` ``(n, H)`` of ``n`` parents from their children's states ``(n, K, H)``."""
        i, o, u = self.iou(child_h.sum(1)).chunk(3, -1)
        f = torch.sigmoid(self.forget(child_h))  # (n, K, H): one gate per child, from that child
        c = torch.sigmoid(i) * torch.tanh(u) + (f * child_c).sum(1)
        return torch.sigmoid(o) * torch.tanh(c), c


CELLS: dict[str, type[_TreeCell]] = {"constituency": BinaryTreeLSTMCell, "child_sum": ChildSumTreeLSTMCell}


@dataclass(frozen=True)
class TreeLSTMConfig:
    """Architecture of a :class:`TreeLSTM` (``model.init_args.network`` in a recipe). The sizes the data gives
    (vocabulary, classes, padding id) are the network's own arguments."""

    embedding_dim: int = 300
    """Word vector size ``E``."""
    hidden_size: int = 150
    """Tree-LSTM state size ``H``."""
    cell: TreeCell = "constituency"
    """``constituency`` (binary N-ary) or ``child_sum``."""
    dropout: float = 0.5
    """Dropout on the word vectors and before the classifier."""

    def __post_init__(self) -> None:
        at_least(self, "embedding_dim", "hidden_size")
        rate(self, "dropout")
        one_of(self, "cell", CELLS)


class TreeLSTM(nn.Module):
    """Word embeddings -> Tree-LSTM over binary trees -> a linear classifier on every node.

    Args:
        vocab_size: Number of token ids.
        num_classes: Classes ``C`` of the per-node classifier.
        config: The architecture.
        pad_id: Padding id (its embedding stays zero).
    """

    def __init__(self, vocab_size: int, num_classes: int, config: TreeLSTMConfig = TreeLSTMConfig(),
                 pad_id: int = 0) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(vocab_size, config.embedding_dim, padding_idx=pad_id)
        self.cell = CELLS[config.cell](config.embedding_dim, config.hidden_size)
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(config.hidden_size, num_classes)

    def encode(self, input_ids: Tensor, children: Tensor, level_sizes: Tensor | list[int]) -> Tensor:
        """Hidden state of every node, ``(N, H)``, computed one level (height) at a time.

        Args:
            input_ids: Leaf token ids ``(L,)``; the leaves are nodes ``0..L-1``.
            children: Children of internal nodes ``L..N-1``, ``(N - L, 2)``, each pointing to an earlier node.
            level_sizes: Nodes per height ``(H + 1,)``, starting with the ``L`` leaves.
        """
        sizes = level_sizes.tolist() if isinstance(level_sizes, Tensor) else list(level_sizes)
        total, hidden = sum(sizes), self.config.hidden_size
        x = self.dropout(self.embedding(input_ids))
        h_leaf, c_leaf = self.cell.leaf(x)
        # States of all nodes in two buffers; each level writes its slice. Reads gather earlier slices by index,
        # which autograd does not save, so the later in-place writes are safe.
        h = x.new_zeros(total, hidden)
        c = x.new_zeros(total, hidden)
        h[: sizes[0]] = h_leaf
        c[: sizes[0]] = c_leaf
        start = sizes[0]
        for size in sizes[1:]:
            kids = children[start - sizes[0] : start - sizes[0] + size]  # (n, 2)
            h_new, c_new = self.cell(h[kids], c[kids])
            h[start : start + size] = h_new
            c[start : start + size] = c_new
            start += size
        return h

    def forward(self, input_ids: Tensor, children: Tensor, level_sizes: Tensor | list[int]) -> Tensor:
        """Class logits of every node ``(N, C)`` (see :meth:`encode` for the inputs)."""
        return self.classifier(self.dropout(self.encode(input_ids, children, level_sizes)))


def recursive_forward(model: TreeLSTM, input_ids: Tensor, children: Tensor) -> Tensor:
    """Node logits ``(N, C)`` of ONE tree, computed node by node by recursion from the root: the reference the
    level-wise :meth:`TreeLSTM.forward` must equal, and the baseline of ``seqkit bench trees``.

    Args:
        input_ids: The tree's leaf token ids ``(L,)`` (nodes ``0..L-1``).
        children: ``(N - L, 2)`` children of nodes ``L..N-1`` in the tree's own numbering (the root is last).
    """
    leaves = len(input_ids)
    pairs = children.tolist()
    states: dict[int, tuple[Tensor, Tensor]] = {}

    def visit(node: int) -> tuple[Tensor, Tensor]:
        if node < leaves:
            x = model.dropout(model.embedding(input_ids[node : node + 1]))
            states[node] = model.cell.leaf(x)
        else:
            left, right = (visit(child) for child in pairs[node - leaves])
            states[node] = model.cell(torch.stack([left[0], right[0]], 1), torch.stack([left[1], right[1]], 1))
        return states[node]

    visit(leaves + len(pairs) - 1)
    h = torch.cat([states[node][0] for node in range(leaves + len(pairs))])
    return model.classifier(model.dropout(h))
