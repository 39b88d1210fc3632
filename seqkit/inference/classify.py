"""Classifying texts with a trained sequence classifier: tokenise, truncate as in training, batch texts of similar
length together (less padding), and return one record per text in input order::

    predictor = seqkit.load("runs/sentiment/sst2/20250101-120000")
    predictor.classify(["a gripping film", "dull"])
    # [{"label": 1, "probabilities": [0.08, 0.92], "label_name": "positive"}, ...]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from itertools import islice

import pyarrow as pa
import torch

from seqkit.data.classification import TextClassificationDataModule
from seqkit.data.encoding import Truncation, pad_ids, truncate
from seqkit.errors import DataError
from seqkit.inference.blank import blank_record, is_blank
from seqkit.inference.predictor import Predictor
from seqkit.tasks.classifier_steps import prediction_record

#: Texts tokenised and sorted by length together; larger chunks pad less but hold more in memory.
CHUNK_BATCHES = 16


def check_texts(texts: list, offset: int = 0) -> None:
    """Raise :class:`~seqkit.errors.DataError` naming the first item of ``texts`` that is not a string."""
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise DataError(f"Text {offset + index} is {type(text).__name__}, not a string; pass strings only.")


def _chunks(items: Iterable[str], size: int) -> Iterator[list[str]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


@torch.inference_mode()
def iter_classify(
    module: torch.nn.Module,
    tokenizer,
    texts: Iterable[str],
    batch_size: int,
    max_length: int | None,
    truncation: Truncation,
    progress: Callable[[int], object] | None = None,
) -> Iterator[dict]:
    """Yield one prediction record per text, in input order, reading ``texts`` lazily chunk by chunk.

    Args:
        module: A trained classifier (put in eval mode here); batches go to the device of its parameters.
        tokenizer: The run's tokenizer.
        texts: Any iterable of strings (a file can be streamed).
        batch_size: Texts per forward pass.
        max_length: Keep at most this many tokens per text (``None``: all), cut by ``truncation``; a trained
            model's own values are in :meth:`ClassifierPredictor.truncation`.
        truncation: ``head``, ``tail`` or ``head+tail``, as in :func:`seqkit.data.encoding.truncate`.
        progress: Called with the number of texts done after every batch (e.g. a progress bar's ``update``).

    Records: ``{"label": int, "probabilities": [C floats], "label_name": str}`` (the name when the run has them);
    a blank text gets :func:`~seqkit.inference.blank.blank_record` (label and probabilities ``None``).
    """
    module.eval()
    device = next(module.parameters()).device
    names = module.hparams.get("label_names")
    pad_id = tokenizer.pad_id
    done = 0
    for chunk in _chunks(texts, batch_size * CHUNK_BATCHES):
        check_texts(chunk, done)
        done += len(chunk)
        # Blank texts keep their place with a blank record (seqkit.inference.blank); the rest are classified.
        kept = [i for i, text in enumerate(chunk) if not is_blank(text)]
        if progress is not None and len(kept) < len(chunk):
            progress(len(chunk) - len(kept))
        ids = tokenizer.encode_batch([chunk[i] for i in kept]) if kept else []
        if max_length is not None:
            ids = [truncate(row, max_length, truncation) for row in ids]
        # Sorting by length keeps padding low; padding does not change the results, so order is restored freely.
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        probabilities: list[list[float]] = [[] for _ in ids]
        for start in range(0, len(order), batch_size):
            indices = order[start : start + batch_size]
            padded, lengths = pad_ids(pa.array([ids[i] for i in indices], pa.list_(pa.int64())), pad_id)  # (B, T)
            batch, lengths = torch.from_numpy(padded).to(device), torch.from_numpy(lengths).to(device)
            probs = module(batch, lengths).float().softmax(-1).cpu()  # (B, C)
            for i, row in zip(indices, probs.tolist(), strict=True):
                probabilities[i] = row
            if progress is not None:
                progress(len(indices))
        records = dict(zip(kept, probabilities, strict=True))
        for index in range(len(chunk)):
            row = records.get(index)
            yield blank_record(names) if row is None else prediction_record(row, names)


class ClassifierPredictor(Predictor):
    """A :class:`~seqkit.tasks.SequenceClassifier` (or CNN+RNN classifier) with its tokenizer: ``classify``.

    Texts are truncated as in training (``max_length`` and ``truncation`` of the run's data settings).
    """

    def truncation(self) -> dict:
        """``{"max_length", "truncation"}`` the model was trained with."""
        return {name: self.data_setting(name, TextClassificationDataModule) for name in ("max_length", "truncation")}

    def iter_classify(self, texts: Iterable[str], batch_size: int = 64, max_length: int | None = None,
                      truncation: Truncation | None = None,
                      progress: Callable[[int], object] | None = None) -> Iterator[dict]:
        """:func:`iter_classify` with the training truncation unless ``max_length``/``truncation`` are given."""
        limits = self.truncation()
        return iter_classify(self.module, self.tokenizer, texts, batch_size,
                             limits["max_length"] if max_length is None else max_length,
                             truncation or limits["truncation"], progress)

    def classify(self, texts: str | Iterable[str], batch_size: int = 64) -> dict | list[dict]:
        """``{"label", "label_name"?, "probabilities"}`` for one text, or a list of them for several."""
        single = isinstance(texts, str)
        records = list(self.iter_classify([texts] if single else texts, batch_size))
        return records[0] if single else records
