"""Documents as sentences of words, for hierarchical models, with two-level batching.

Each document is split into sentences (:class:`~seqkit.data.sentences.SentenceSplitter`) and tokenised once through
``datasets.map`` (cached on disk), and stored as two Arrow columns: ``input_ids``, the document's token ids of all
sentences one after the other, and ``sentence_lengths``, the number of tokens of each sentence (the offsets).

Batches are built without a Python loop over documents or sentences: documents of similar sentence counts are
batched together (:class:`~seqkit.data.sampler.BucketBatchSampler` over sentence counts), and the collator packs all
sentences of the batch into one ``(N, W)`` matrix for a single word-encoder call, sorted by decreasing length,
plus a ``(B, S)`` index that regroups the sentence vectors per document.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch

from seqkit.data.classification import TextClassificationDataModule
from seqkit.data.encoding import pad_ids
from seqkit.data.options import Batching, Splits
from seqkit.data.sentences import SentenceSplitter
from seqkit.data.sources import DataSource
from seqkit.data.tokenizers import Tokenizer, TokenizerConfig

if TYPE_CHECKING:
    from datasets import Dataset


def encode_documents(
    texts: pa.Array | list[str], splitter: SentenceSplitter, tokenizer: Tokenizer, max_words: int | None
) -> tuple[pa.Array, pa.Array]:
    """Split ``texts`` into sentences and tokenise them.

    Returns:
        ``input_ids`` (``list<int64>`` per document: its sentences' ids, concatenated) and ``sentence_lengths``
        (``list<int64>`` per document: tokens per sentence, each at most ``max_words``; sentences without any
        token are dropped).
    """
    sentences = splitter.split_arrow(texts)
    doc_offsets = sentences.offsets.to_numpy(zero_copy_only=False).astype(np.int64)
    doc_offsets = doc_offsets - doc_offsets[0]
    ids = tokenizer.encode_batch(sentences.flatten().to_pylist())
    if max_words is not None:
        ids = [row[:max_words] for row in ids]
    lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
    flat = np.fromiter((i for row in ids for i in row), dtype=np.int64, count=int(lengths.sum()))
    keep = lengths > 0
    kept_before = np.concatenate([[0], np.cumsum(keep)])
    token_offsets = np.concatenate([[0], np.cumsum(lengths)])[doc_offsets]  # each document's first token
    input_ids = pa.LargeListArray.from_arrays(pa.array(token_offsets), pa.array(flat))
    sentence_lengths = pa.LargeListArray.from_arrays(pa.array(kept_before[doc_offsets]), pa.array(lengths[keep]))
    return input_ids, sentence_lengths


class HierarchicalCollator:
    """Turns an Arrow batch of documents into the tensors of two-level batching.

    Returns ``sentence_ids`` ``(N, W)`` (all ``N`` sentences of the batch, padded with ``pad_id``, longest first),
    ``sentence_lengths`` ``(N,)``, ``document_index`` ``(B, S)`` (row of ``sentence_ids`` holding each document's
    ``s``-th sentence; ``N`` at padding, for a zero row the model appends), ``document_mask`` ``(B, S)``,
    ``document_lengths`` ``(B,)`` and, when ``label_column`` is set, ``labels`` ``(B,)``.

    Args:
        pad_id: Padding id.
        label_column: Column of class ids to pass on as ``labels``; ``None`` for unlabelled documents.
        sort_sentences: Order the sentences by decreasing length, so the word encoder's length handling (packing
            or splitting at each distinct length) finds them already sorted.
    """

    def __init__(self, pad_id: int, label_column: str | None = "label", sort_sentences: bool = True) -> None:
        self.pad_id = pad_id
        self.label_column = label_column
        self.sort_sentences = sort_sentences

    def __call__(self, table: pa.Table) -> dict[str, torch.Tensor]:
        if isinstance(table, list):  # a DataLoader without batched fetching hands over single-row tables
            table = pa.concat_tables(table)
        ids = table.column("input_ids").combine_chunks()
        per_sentence = table.column("sentence_lengths").combine_chunks()
        counts = pc.list_value_length(per_sentence).to_numpy(zero_copy_only=False).astype(np.int64)  # (B,)
        lengths = per_sentence.flatten().to_numpy(zero_copy_only=False).astype(np.int64)  # (N,)
        if lengths.size == 0:  # only empty documents: one empty sentence keeps the shapes valid
            lengths = np.zeros(1, dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        sentences = pa.LargeListArray.from_arrays(pa.array(offsets), ids.flatten().cast(pa.int64()))
        matrix, lengths = pad_ids(sentences, self.pad_id)  # (N, W), (N,)
        n = len(lengths)
        row = np.arange(n)
        if self.sort_sentences:
            order = np.argsort(-lengths, kind="stable")
            matrix, lengths = matrix[order], lengths[order]
            row = np.empty(n, dtype=np.int64)
            row[order] = np.arange(n)  # where each sentence moved to
        width = max(int(counts.max(initial=0)), 1)
        position = np.arange(width)
        mask = position < counts[:, None]  # (B, S)
        first = np.cumsum(counts) - counts
        index = np.where(mask, row[np.minimum(first[:, None] + position, n - 1)], n)
        batch = {
            "sentence_ids": torch.from_numpy(matrix),
            "sentence_lengths": torch.from_numpy(lengths),
            "document_index": torch.from_numpy(index),
            "document_mask": torch.from_numpy(mask),
            "document_lengths": torch.from_numpy(counts),
        }
        if self.label_column is not None and self.label_column in table.column_names:
            batch["labels"] = torch.tensor(table.column(self.label_column).to_numpy())
        return batch


class HierarchicalDataModule(TextClassificationDataModule):
    """Labelled documents split into sentences, for :class:`~seqkit.tasks.HierarchicalClassifier`.

    Labels work as in :class:`~seqkit.data.TextClassificationDataModule` (the column mapped to the role ``label``
    in ``source.columns``, ``label_map``, string labels, ``num_classes`` inferred or checked). ``batch_size`` counts
    documents; ``max_tokens`` here caps ``documents x most sentences`` per batch. Buckets group documents by their
    number of sentences.

    Args:
        source: The dataset; its ``columns`` may map the roles ``text`` and ``label``.
        tokenizer: Tokenizer settings (trained on the whole training texts).
        batching: Batch sizes (default 32 documents), bucketing and loader workers.
        splits: Split names, held-out validation, row limits and seed.
        splitter: Sentence splitting and the limits on sentences per document and words per sentence (default:
            at most 30 sentences, cut into pieces of at most ``max_words`` words).
        max_words: Tokens kept per sentence (after the splitter cut sentences at ``splitter.max_words`` words).
        num_classes: Number of classes; inferred from the training labels when ``None``.
        label_names: Names of the classes, in id order.
        label_map: Maps raw integer labels to class ids (e.g. IMDB ratings 1-4, 7-10 to 0..7).
    """

    def __init__(
        self,
        source: DataSource,
        tokenizer: TokenizerConfig | None = None,
        splitter: SentenceSplitter | None = None,
        max_words: int = 50,
        num_classes: int | None = None,
        label_names: list[str] | None = None,
        label_map: dict[int, int] | None = None,
        batching: Batching | None = None,
        splits: Splits | None = None,
    ) -> None:
        super().__init__(source, tokenizer, num_classes=num_classes, label_names=label_names, label_map=label_map,
                         batching=batching, splits=splits)
        self.splitter = splitter or self.default_splitter(max_words)
        if max_words < 1:
            raise ValueError(f"max_words must be at least 1, got {max_words}")
        self.max_words = max_words

    @staticmethod
    def default_splitter(max_words: int) -> SentenceSplitter:
        """The splitter used when none is given: at most 30 sentences, cut at ``max_words`` words."""
        return SentenceSplitter(max_sentences=30, max_words=max_words)

    def encode(self, role: str, dataset: Dataset) -> Dataset:
        from datasets.fingerprint import Hasher

        text, label = self.source.column("text", "text"), self.label_column
        splitter, tokenizer, max_words = self.splitter, self.tokenizer, self.max_words

        def encode(batch: pa.Table) -> pa.Table:
            input_ids, sentence_lengths = encode_documents(batch.column(text), splitter, tokenizer, max_words)
            return pa.table({"input_ids": input_ids, "sentence_lengths": sentence_lengths,
                             label: batch.column(label)})

        fingerprint = Hasher.hash(
            [dataset._fingerprint, tokenizer.fingerprint, text, label, splitter.fingerprint, max_words]
        )
        encoded = dataset.with_format("arrow").map(
            encode, batched=True, batch_size=1000, remove_columns=dataset.column_names, new_fingerprint=fingerprint,
            desc=f"Splitting and tokenising {role}",
        )
        return encoded.with_format(None)

    def length_column(self) -> str:
        return "sentence_lengths"  # its list lengths are the sentence counts: documents are bucketed by them

    def collator(self) -> HierarchicalCollator:
        return HierarchicalCollator(self.pad_id, self.label_column)
