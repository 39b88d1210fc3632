"""Language-model data: one token stream per split, laid out as parallel columns and read in BPTT chunks.

The stream layout of Zaremba et al. and AWD-LSTM: a split's tokens (each line followed by ``<eos>``) are
concatenated, cut into ``B`` equal contiguous rows ``(B, L)``, and read left to right in chunks of ``bptt`` steps.
Row ``b`` of chunk ``i + 1`` continues row ``b`` of chunk ``i``, so a model can carry its hidden state across
chunks. Under DDP the training stream is cut into ``B * world_size`` rows and rank ``r`` takes rows
``r*B .. (r+1)*B - 1``: every rank owns contiguous text, state carrying stays correct, and a run on ``W`` processes
with batch ``B`` sees exactly the data of one process with batch ``W * B``. Evaluation lays a split out as
``eval_batch_size`` rows in all, whatever the number of processes, and each rank reads a contiguous share of them:
a checkpoint's perplexity is the same on one process and on many.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import pyarrow.compute as pc
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from seqkit.data.base import TEST, TextDataModule, rank_and_size
from seqkit.data.encoding import encode_column
from seqkit.data.info import DataInfo
from seqkit.data.options import Batching, Splits
from seqkit.data.resumable import ResumableDataLoader
from seqkit.data.sources import DataSource
from seqkit.data.tokenizers import TokenizerConfig
from seqkit.errors import DataError

if TYPE_CHECKING:
    from datasets import Dataset as HFDataset


def evaluation_rows(tokens: np.ndarray | torch.Tensor, rows: int, rank: int = 0, world_size: int = 1) -> torch.Tensor:
    """Lay a 1-D token stream out as ``rows`` contiguous rows in all and return this rank's contiguous share of them
    (``rows // world_size`` or one more): ``(rows_r, L)``, the same layout on any number of processes."""
    if rows < world_size:
        raise DataError(f"Evaluation reads the stream as eval_batch_size = {rows} rows in all, fewer than the "
                        f"{world_size} processes sharing them; set data.init_args.batching.eval_batch_size to at "
                        f"least {world_size}.")
    layout = stream_rows(tokens, rows)
    return layout[rank * rows // world_size : (rank + 1) * rows // world_size]


def stream_rows(tokens: np.ndarray | torch.Tensor, rows: int, rank: int = 0, world_size: int = 1) -> torch.Tensor:
    """Lay a 1-D token stream out as ``rows`` contiguous rows for this rank: ``(rows, L)``.

    The stream is trimmed to a multiple of ``rows * world_size`` (at most that many tokens are dropped).
    """
    tokens = torch.as_tensor(tokens, dtype=torch.long)
    total_rows = rows * world_size
    length = tokens.numel() // total_rows
    if length < 2:
        raise DataError(
            f"A stream of {tokens.numel()} tokens is too short for {total_rows} rows of at least 2 tokens; "
            "lower data.init_args.batching.batch_size."
        )
    layout = tokens[: length * total_rows].view(total_rows, length)
    return layout[rank * rows : (rank + 1) * rows].contiguous()


class BPTTChunks(Sampler[tuple[int, int]]):
    """Yields ``(start, length)`` of consecutive chunks over a stream of ``length`` steps.

    With ``variable`` (AWD-LSTM), each chunk's length is drawn around ``bptt`` (``N(bptt, 5)``, or around
    ``bptt / 2`` with probability 0.05), from ``seed + epoch`` so every rank draws the same schedule.

    Args:
        stream_length: Steps per row ``L``; a chunk reads inputs ``[start, start+len)`` and targets shifted by one.
        bptt: Mean chunk length.
        variable: Draw chunk lengths at random each epoch.
        seed: Base seed of the variable schedule.
    """

    def __init__(self, stream_length: int, bptt: int, variable: bool = False, seed: int = 0) -> None:
        self.stream_length = stream_length
        self.bptt = bptt
        self.variable = variable
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def schedule(self) -> list[tuple[int, int]]:
        last = self.stream_length - 1  # the final step has no target
        if not self.variable:
            return [(start, min(self.bptt, last - start)) for start in range(0, last, self.bptt)]
        rng = np.random.default_rng(self.seed + self.epoch)
        chunks, start = [], 0
        while start < last:
            mean = self.bptt if rng.random() < 0.95 else self.bptt / 2
            length = max(5, int(rng.normal(mean, 5)))
            length = min(length, last - start)
            chunks.append((start, length))
            start += length
        return chunks

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return iter(self.schedule())

    def __len__(self) -> int:
        return len(self.schedule())


class StreamChunks(Dataset):
    """``dataset[(start, length)]`` -> a batch ``{"input_ids": (B, length), "target_ids": (B, length)}``."""

    def __init__(self, rows: torch.Tensor) -> None:
        self.rows = rows

    def __len__(self) -> int:
        return self.rows.shape[1] - 1

    def __getitem__(self, chunk: tuple[int, int]) -> dict[str, torch.Tensor]:
        start, length = chunk
        return {
            "input_ids": self.rows[:, start : start + length],
            "target_ids": self.rows[:, start + 1 : start + 1 + length],
        }


class LanguageModelingDataModule(TextDataModule):
    """Token streams for truncated-BPTT language modelling.

    Each line of the text column becomes its tokens followed by ``<eos>`` (``add_eos``); lines are concatenated in
    file order. Batches are ``{"input_ids": (B, T), "target_ids": (B, T)}`` chunks read in order, so the model
    carries its state from one batch to the next (and resets it each epoch).

    Args:
        source: The corpus (``text`` column, one line per row, in order).
        tokenizer: Word level (``split_punctuation: false`` for WikiText/PTB) or subword.
        bptt: Chunk length in tokens.
        variable_bptt: AWD-LSTM's random chunk lengths during training.
        add_eos: Append ``<eos>`` to every line (the standard for WikiText and PTB word-level perplexity).
        skip_empty_lines: Drop lines that are blank (WikiText keeps them as ``<eos>``-only lines by convention).
        batching: ``batch_size``: parallel rows ``B`` per process for training (default 20); ``eval_batch_size``:
            rows for validation and test in all, shared among the processes (default 10, as in AWD-LSTM's
            evaluation); ``num_workers``. Chunks of one
            stream have no lengths to bucket: ``max_tokens``, ``bucketing`` and ``pool_factor`` are refused.
        splits: Split names, held-out validation, row limits (the first rows: running text stays contiguous), seed.
    """

    random_subsets = False  # a subset of running text must stay contiguous
    default_batch_sizes = (20, 10)

    def __init__(
        self,
        source: DataSource,
        tokenizer: TokenizerConfig | None = None,
        bptt: int = 35,
        variable_bptt: bool = False,
        add_eos: bool = True,
        skip_empty_lines: bool = False,
        batching: Batching | None = None,
        splits: Splits | None = None,
    ) -> None:
        super().__init__(source, tokenizer or TokenizerConfig(kind="word", split_punctuation=False), batching, splits)
        self.batching.refuse(("max_tokens", "bucketing", "pool_factor"), type(self).__name__, "one token stream")
        self.bptt = bptt
        self.variable_bptt = variable_bptt
        self.add_eos = add_eos
        self.skip_empty_lines = skip_empty_lines
        self.streams: dict[str, torch.Tensor] = {}
        self.words: dict[str, int] = {}

    @property
    def text_column(self) -> str:
        return self.source.column("text", "text")

    def check_split(self, role: str, dataset: HFDataset, where: str) -> HFDataset:
        dataset = super().check_split(role, dataset, where)
        if self.skip_empty_lines:
            dataset = dataset.filter(lambda batch: [bool(t.strip()) for t in batch[self.text_column]], batched=True)
        return dataset

    def encode(self, role: str, dataset: HFDataset) -> HFDataset:
        return encode_column(dataset, self.tokenizer, self.text_column, "input_ids", add_eos=self.add_eos,
                             desc=f"Tokenising {role}")

    def setup(self, stage: str | None = None) -> None:
        super().setup(stage)
        for role, dataset in self.encoded.items():
            ids = dataset.with_format("arrow")[:].column("input_ids")
            self.streams[role] = torch.from_numpy(pc.list_flatten(ids).to_numpy().astype(np.int64))
            self.words[role] = self._word_count(self.raw[role])

    def _word_count(self, dataset: HFDataset) -> int:
        """Whitespace-separated words (plus one ``<eos>`` per line): the denominator of per-word perplexity."""
        texts = dataset.with_format("arrow")[:].column(self.text_column)
        words = pc.sum(pc.count_substring_regex(texts, r"\S+")).as_py() or 0
        return int(words + (len(dataset) if self.add_eos else 0))

    def tokens_per_word(self, role: str) -> float:
        """Tokens per word of a split: multiply a per-token loss by it to get the per-word loss."""
        return self.streams[role].numel() / max(self.words[role], 1)

    def data_info(self) -> DataInfo:
        """The base's items, ``bptt`` and each set-up split's ``tokens_per_word``."""
        per_word = {role: self.tokens_per_word(role) for role in self.streams}
        return replace(super().data_info(), bptt=self.bptt, tokens_per_word=per_word)

    def _loader(self, role: str, train: bool) -> DataLoader:
        if role not in self.streams:
            raise DataError(f"No {role} split is configured for {self.source.label}; set data.init_args.splits.{role}.")
        rank, world_size = rank_and_size(self.trainer)
        layout = stream_rows if train else evaluation_rows
        rows = layout(self.streams[role], self.batching.batch_size if train else self.batching.eval_batch_size,
                      rank=rank, world_size=world_size)
        chunks = BPTTChunks(rows.shape[1], self.bptt, variable=train and self.variable_bptt, seed=self.splits.seed)
        if train:  # resumes mid-epoch from a checkpoint (seqkit.data.resumable)
            return ResumableDataLoader(StreamChunks(rows), sampler=chunks, batch_size=None,
                                       num_workers=self.batching.num_workers, position=self._train_position)
        return DataLoader(StreamChunks(rows), sampler=chunks, batch_size=None, num_workers=self.batching.num_workers)

    def predict_dataloader(self) -> DataLoader:
        return self._loader(TEST, train=False)
