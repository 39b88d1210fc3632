"""Labelled parse trees (PTB bracketing, e.g. the Stanford Sentiment Treebank) for recursive models.

Each tree is parsed once, through ``datasets.map`` (cached on disk), into flat columns: the leaves' text, one label
per node and the two children of every internal node. Nodes are numbered leaves first (in sentence order, so leaf
``i`` is token ``i``), then internal nodes in post-order (children before parents), so the root is the last node.
Trees are binarised: a node with more than two children is split to the right (the added nodes carry no label) and
a unary node is merged with its child (keeping the upper label).

:class:`TreeCollator` batches trees *level by level* without a Python loop over trees or nodes: all nodes of one
height (leaves: 0, a parent: one more than its highest child) across the batch get consecutive indices, so a model
computes each level with one call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch

from seqkit.data.base import TextDataModule
from seqkit.data.checks import check_columns, check_not_empty, check_text
from seqkit.data.encoding import encode_column, sequence_lengths
from seqkit.data.options import Batching, Splits
from seqkit.data.sources import DataSource
from seqkit.data.tokenizers import TokenizerConfig
from seqkit.errors import DataError

if TYPE_CHECKING:
    from datasets import Dataset

#: Label of nodes the loss skips (neutral phrases in binary SST, nodes added by binarisation).
IGNORE = -100

#: Sentiment class names of the treebank, in id order.
FINE_NAMES = ["very negative", "negative", "neutral", "positive", "very positive"]
BINARY_NAMES = ["negative", "positive"]
#: Five-class node label -> binary label (neutral is ignored).
BINARY_MAP = {0: 0, 1: 0, 2: IGNORE, 3: 1, 4: 1}

_TOKEN = re.compile(r"\(|\)|[^ \t\r\n()]+")  # ASCII whitespace separates; other spaces stay inside a leaf
_INNER_SPACE = re.compile(r"\s")
_ESCAPES = {"-LRB-": "(", "-RRB-": ")", "-LSB-": "[", "-RSB-": "]", "-LCB-": "{", "-RCB-": "}"}

TreeTask = Literal["fine", "binary"]


@dataclass
class ParsedTree:
    """One binarised tree.

    Attributes:
        leaves: The words, in sentence order (escapes such as ``-LRB-`` and ``\\/`` undone).
        labels: One label per node (``L`` leaves, then the internal nodes in post-order); ``IGNORE`` for none.
        children: ``(left, right)`` node indices of each internal node, in node order.
        heights: Height of each internal node (its leaves' parents have height 1).
    """

    leaves: list[str]
    labels: list[int]
    children: list[tuple[int, int]]
    heights: list[int]

    @property
    def num_nodes(self) -> int:
        return len(self.labels)


def unescape(token: str) -> str:
    """A PTB leaf as text: ``-LRB-`` -> ``(``, ``\\/`` -> ``/``, ``\\*`` -> ``*``; a space inside a leaf (SST has
    ``8\\xa01/2``) becomes ``_`` so that the leaf stays one word."""
    token = _ESCAPES.get(token, token.replace("\\/", "/").replace("\\*", "*"))
    return _INNER_SPACE.sub("_", token)


def escape(word: str) -> str:
    """A word as a PTB leaf (the inverse of :func:`unescape` for SST's escapes)."""
    return {"(": "-LRB-", ")": "-RRB-"}.get(word, word.replace("/", "\\/").replace("*", "\\*"))


def format_tree(tree: ParsedTree, labels: bool = True) -> str:
    """The PTB bracketing of a parsed tree: ``parse_tree(format_tree(t)) == t``. With ``labels`` every bracket
    starts with its node's label (nodes without one get none, so such trees re-parse only with ``labelled=False``
    when ``labels`` is off)."""
    count = len(tree.leaves)

    def bracket(node: int, body: str) -> str:
        label = tree.labels[node]
        return f"({label} {body})" if labels and label != IGNORE else f"({body})"

    texts = [bracket(i, escape(word)) for i, word in enumerate(tree.leaves)]
    for index, (left, right) in enumerate(tree.children, start=count):
        texts.append(bracket(index, f"{texts[left]} {texts[right]}"))
    return texts[-1]


def parse_tree(text: str, labelled: bool = True) -> ParsedTree:
    """Parse one PTB bracketing such as ``(3 (2 The) (4 (3 good) (2 film)))``.

    With ``labelled`` every bracket starts with an integer label; otherwise brackets hold only children and words
    (``((The film) (is good))``) and every label is ``IGNORE``. Raises :class:`ValueError` on malformed input.
    """
    tokens = _TOKEN.findall(text)
    if not tokens or tokens[0] != "(":
        raise ValueError("a tree must start with '('")
    leaves: list[str] = []
    leaf_labels: list[int] = []
    internal: list[tuple[int, int, int, int]] = []  # (label, left, right, height), children as refs (see _ref)
    stack: list[tuple[int, list[tuple[int, int]]]] = []  # (label, children as (ref, height))
    root: tuple[int, int] | None = None
    position = 0
    while position < len(tokens):
        token = tokens[position]
        position += 1
        if token == "(":
            if root is not None:
                raise ValueError("text after the end of the tree")
            label = IGNORE
            if labelled:
                if position >= len(tokens) or not tokens[position].lstrip("-").isdigit():
                    raise ValueError(f"bracket {len(stack) + 1} levels deep has no integer label")
                label = int(tokens[position])
                position += 1
            stack.append((label, []))
        elif token == ")":
            if not stack:
                raise ValueError("unbalanced ')'")
            label, kids = stack.pop()
            if not kids:
                raise ValueError("empty brackets '()'")
            node = _close(label, kids, leaf_labels, internal)
            if stack:
                stack[-1][1].append(node)
            else:
                root = node
        else:
            if not stack:
                raise ValueError(f"word {token!r} outside any bracket")
            leaves.append(unescape(token))
            leaf_labels.append(IGNORE)  # set when its bracket closes (a leaf's label is its bracket's)
            stack[-1][1].append((len(leaves) - 1, 0))
    if stack or root is None:
        raise ValueError("unbalanced '(': the tree is not closed")
    count = len(leaves)
    children = [(_index(left, count), _index(right, count)) for _, left, right, _ in internal]
    labels = leaf_labels + [label for label, *_ in internal]
    return ParsedTree(leaves, labels, children, [height for *_, height in internal])


def _index(ref: int, leaf_count: int) -> int:
    """Node index of a reference: leaves are ``>= 0``, internal node ``j`` is ``-(j + 1)``."""
    return ref if ref >= 0 else leaf_count - ref - 1


def _close(label: int, kids: list[tuple[int, int]], leaf_labels: list[int],
           internal: list[tuple[int, int, int, int]]) -> tuple[int, int]:
    """Finish a bracket: ``(ref, height)`` of its node, binarising to the right and merging unary brackets."""
    if len(kids) == 1:  # a word's own bracket, or a unary node: one node, the upper label wins when given
        ref, height = kids[0]
        if label != IGNORE:
            if ref >= 0:
                leaf_labels[ref] = label
            else:
                node = internal[-ref - 1]
                internal[-ref - 1] = (label, *node[1:])
        return ref, height
    right, right_height = kids[-1]
    for index in range(len(kids) - 2, -1, -1):
        left, left_height = kids[index]
        height = max(left_height, right_height) + 1
        internal.append((label if index == 0 else IGNORE, left, right, height))
        right, right_height = -len(internal), height
    return right, right_height


def parse_batch(batch: dict[str, list], indices: list[int] | None = None, *, tree_column: str = "tree",
                binary: bool = False, labelled: bool = True) -> dict[str, list]:
    """``datasets.map`` function: parse a batch of trees into ``text``, ``label`` (the root's), ``node_labels``,
    ``children`` (flat ``[left0, right0, left1, ...]``) and ``heights`` (of the internal nodes)."""
    out: dict[str, list] = {"text": [], "label": [], "node_labels": [], "children": [], "heights": []}
    for offset, text in enumerate(batch[tree_column]):
        try:
            tree = parse_tree(text, labelled)
        except ValueError as error:
            row = indices[offset] if indices is not None else offset
            raise DataError(f"Row {row}: cannot parse the tree {text[:60]!r}...: {error}.") from None
        labels = tree.labels
        if binary:
            labels = [BINARY_MAP.get(label, IGNORE) for label in labels]
        elif any(label >= len(FINE_NAMES) for label in labels):
            row = indices[offset] if indices is not None else offset
            raise DataError(f"Row {row}: node labels must be 0..4 (sentiment), got {max(labels)}.")
        out["text"].append(" ".join(tree.leaves))
        out["label"].append(labels[-1])
        out["node_labels"].append(labels)
        out["children"].append([i for pair in tree.children for i in pair])
        out["heights"].append(tree.heights)
    return out


def tree_table(trees: list[ParsedTree], input_ids: list[list[int]]) -> pa.Table:
    """An Arrow batch of parsed trees and their leaves' token ids, as :class:`TreeCollator` takes it."""
    return pa.table({
        "input_ids": pa.array(input_ids, pa.list_(pa.int64())),
        "node_labels": pa.array([t.labels for t in trees], pa.list_(pa.int64())),
        "children": pa.array([[i for pair in t.children for i in pair] for t in trees], pa.list_(pa.int64())),
        "heights": pa.array([t.heights for t in trees], pa.list_(pa.int64())),
        "label": pa.array([t.labels[-1] for t in trees], pa.int64()),
    })


def _flat(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Values ``(sum n_b,)`` and row lengths ``(B,)`` of an Arrow list column."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    lengths = pc.list_value_length(column).to_numpy(zero_copy_only=False).astype(np.int64)
    values = column.flatten().to_numpy(zero_copy_only=False).astype(np.int64)
    return values, lengths


class TreeCollator:
    """Turns an Arrow batch of trees into level-by-level tensors.

    Returns, for ``B`` trees with ``N`` nodes in all (``L`` leaves, ``M`` internal nodes) and height ``H``:

    - ``input_ids`` ``(L,)``: token id of each leaf; the leaves are nodes ``0..L-1``.
    - ``children`` ``(M, 2)``: node indices of the left and right child of internal nodes ``L..N-1``.
    - ``level_sizes`` ``(H + 1,)``: nodes per height; the nodes of height ``h`` are consecutive and follow those of
      height ``h - 1``, so every child comes before its parent.
    - ``roots`` ``(B,)``: node index of each tree's root.
    - ``node_labels`` ``(N,)``: label per node (``IGNORE`` where none); ``labels`` ``(B,)``: root labels.
    - ``node_positions`` ``(N,)``: batch node index of each tree's nodes, tree by tree in the tree's own order
      (leaves, then internal nodes in post-order); ``tree_sizes`` ``(B,)``: nodes per tree.
    """

    def __call__(self, table: pa.Table) -> dict[str, torch.Tensor]:
        if isinstance(table, list):
            table = pa.concat_tables(table)
        tokens, leaf_counts = _flat(table.column("input_ids"))
        node_labels, node_counts = _flat(table.column("node_labels"))
        children, _ = _flat(table.column("children"))
        heights, internal_counts = _flat(table.column("heights"))
        if np.any(node_counts != leaf_counts + internal_counts):
            row = int(np.flatnonzero(node_counts != leaf_counts + internal_counts)[0])
            raise DataError(f"Tree {row} of the batch has {leaf_counts[row]} tokens for "
                            f"{node_counts[row] - internal_counts[row]} leaves; each leaf must be one token.")
        batch_size, leaves = len(leaf_counts), len(tokens)
        leaf_start = np.concatenate([[0], np.cumsum(leaf_counts)[:-1]])
        internal_start = np.concatenate([[0], np.cumsum(internal_counts)[:-1]])
        # Internal nodes sorted by height (stable: tree order within a level) get indices L, L+1, ...
        order = np.argsort(heights, kind="stable")
        new_internal = np.empty(len(heights), dtype=np.int64)
        new_internal[order] = leaves + np.arange(len(heights))

        def batch_index(tree: np.ndarray, local: np.ndarray) -> np.ndarray:
            is_leaf = local < leaf_counts[tree]
            inner = np.where(is_leaf, 0, internal_start[tree] + local - leaf_counts[tree])
            return np.where(is_leaf, leaf_start[tree] + local, new_internal[inner] if len(heights) else 0)

        internal_tree = np.repeat(np.arange(batch_size), internal_counts)
        child_index = batch_index(np.repeat(internal_tree, 2), children).reshape(-1, 2)[order]
        node_tree = np.repeat(np.arange(batch_size), node_counts)
        node_local = np.arange(len(node_labels)) - np.repeat(np.cumsum(node_counts) - node_counts, node_counts)
        positions = batch_index(node_tree, node_local)
        labels = np.empty_like(node_labels)
        labels[positions] = node_labels
        level_sizes = np.bincount(heights, minlength=1) if len(heights) else np.zeros(1, dtype=np.int64)
        level_sizes[0] = leaves
        roots = positions[np.cumsum(node_counts) - 1]
        return {
            "input_ids": torch.from_numpy(tokens),
            "children": torch.from_numpy(np.ascontiguousarray(child_index)),
            "level_sizes": torch.from_numpy(level_sizes.astype(np.int64)),
            "roots": torch.from_numpy(roots),
            "node_labels": torch.from_numpy(labels),
            "labels": torch.from_numpy(node_labels[np.cumsum(node_counts) - 1]),
            "node_positions": torch.from_numpy(positions),
            "tree_sizes": torch.from_numpy(node_counts),
        }


class TreeDataModule(TextDataModule):
    """Sentiment treebank trees (PTB bracketing with a label on every node) for tree-structured models.

    Batches come from :class:`TreeCollator`; training batches group trees of similar length
    (:class:`~seqkit.data.sampler.BucketBatchSampler`).

    Args:
        source: The dataset; ``columns`` may map the role ``tree`` (default column ``tree``).
        tokenizer: Tokenizer settings. Each leaf must stay one token: a ``word`` tokenizer with
            ``split_punctuation: false`` (the default here).
        task: ``fine``: the five sentiment classes on every node (SST-5); ``binary``: negative (0, 1) against
            positive (3, 4), neutral nodes unlabelled and trees with a neutral root dropped (SST-2).
        batching: Batch sizes (default 25 trees), bucketing and loader workers.
        splits: Split names, held-out validation, row limits and seed.
    """

    default_batch_sizes = (25, None)

    def __init__(
        self,
        source: DataSource,
        tokenizer: TokenizerConfig | None = None,
        task: TreeTask = "fine",
        batching: Batching | None = None,
        splits: Splits | None = None,
    ) -> None:
        super().__init__(source, tokenizer or TokenizerConfig(kind="word", split_punctuation=False), batching, splits)
        if task not in ("fine", "binary"):
            raise DataError(f"task must be 'fine' or 'binary', not {task!r}.")
        self.task = task

    @property
    def num_classes(self) -> int:
        return len(self.label_names)

    @property
    def label_names(self) -> list[str]:
        return BINARY_NAMES if self.task == "binary" else FINE_NAMES

    @property
    def tree_column(self) -> str:
        return self.source.column("tree", "tree")

    def text_columns(self) -> list[str]:
        return ["text"]  # the leaves, written by check_split: the tokenizer learns exactly the tree's words

    def check_split(self, role: str, dataset: Dataset, where: str) -> Dataset:
        from datasets.fingerprint import Hasher

        check_not_empty(dataset, role, where)
        check_columns(dataset, [self.tree_column], role, where)
        check_text(dataset, self.tree_column, role, where)
        binary = self.task == "binary"
        fingerprint = Hasher.hash([dataset._fingerprint, "trees-v1", self.tree_column, binary])
        parsed = dataset.map(
            parse_batch, batched=True, with_indices=True, remove_columns=dataset.column_names,
            fn_kwargs={"tree_column": self.tree_column, "binary": binary}, new_fingerprint=fingerprint,
            desc=f"Parsing trees of {role}",
        )
        if binary:  # trees with a neutral root have no binary label
            keep = pc.not_equal(parsed.with_format("arrow")[:].column("label"), IGNORE)
            parsed = parsed.select(np.flatnonzero(keep.to_numpy(zero_copy_only=False)))
            check_not_empty(parsed, role, f"{where}, without neutral trees")
        return parsed

    def encode(self, role: str, dataset: Dataset) -> Dataset:
        encoded = encode_column(
            dataset, self.tokenizer, "text", "input_ids", keep=("label", "node_labels", "children", "heights"),
            desc=f"Tokenising {role}",
        )
        tokens = sequence_lengths(encoded, "input_ids")
        leaves = sequence_lengths(encoded, "node_labels") - sequence_lengths(encoded, "heights")
        if np.any(tokens != leaves):
            row = int(np.flatnonzero(tokens != leaves)[0])
            raise DataError(
                f"Row {row} of split '{role}': {leaves[row]} leaves became {tokens[row]} tokens; each leaf must be "
                "one token: use tokenizer kind 'word' with split_punctuation: false."
            )
        return encoded

    def collator(self) -> TreeCollator:
        return TreeCollator()
