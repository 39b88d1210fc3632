"""Classifying texts with a trained :class:`~seqkit.tasks.SequenceClassifier`, outside Lightning.

The counterpart of :mod:`seqkit.decoding` for classifiers: tokenise, truncate as in training, batch texts of
similar length together (less padding), and return one record per text in input order::

    from seqkit.classify import classify_texts
    from seqkit.runs import load_run
    from seqkit.tasks import SequenceClassifier

    module, tokenizer = load_run("runs/sst2/20250101-120000", SequenceClassifier)
    classify_texts(module, tokenizer, ["a gripping film", "dull"], **run_truncation("runs/sst2/20250101-120000"))
    # [{"label": 1, "probabilities": [0.08, 0.92], "label_name": "positive"}, ...]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from pathlib import Path

import pyarrow as pa
import torch

from seqkit.data.encoding import Truncation, pad_ids, truncate
from seqkit.errors import DataError
from seqkit.tasks.classification import SequenceClassifier
from seqkit.tasks.classifier_steps import prediction_record

#: Texts tokenised and sorted by length together; larger chunks pad less but hold more in memory.
CHUNK_BATCHES = 16


def run_truncation(path: str | Path) -> dict:
    """``{"max_length", "truncation"}`` the run at ``path`` (run directory, checkpoint or published folder) was
    trained with.

    Read from the run's ``config.yaml`` (``data.init_args``); missing values get the DataModule's defaults.
    """
    import yaml

    from seqkit.pretrained.folder import is_model_folder
    from seqkit.runs import find_checkpoint

    # A published model folder keeps the training config beside its weights.
    run_dir = Path(path) if is_model_folder(path) else find_checkpoint(path)[1]
    config_file = run_dir / "config.yaml"
    config = yaml.safe_load(config_file.read_text()) if config_file.is_file() else {}
    data = ((config or {}).get("data") or {}).get("init_args") or {}
    return {"max_length": data.get("max_length", 512), "truncation": data.get("truncation", "head")}


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
    module: SequenceClassifier,
    tokenizer,
    texts: Iterable[str],
    batch_size: int = 64,
    max_length: int | None = None,
    truncation: Truncation = "head",
    progress: Callable[[int], object] | None = None,
) -> Iterator[dict]:
    """Yield one prediction record per text, in input order, reading ``texts`` lazily chunk by chunk.

    Args:
        module: A trained classifier (put in eval mode here); batches go to the device of its parameters.
        tokenizer: The run's tokenizer.
        texts: Any iterable of strings (a file can be streamed).
        batch_size: Texts per forward pass.
        max_length: Keep at most this many tokens per text (``None``: all), cut by ``truncation``.
        truncation: ``head``, ``tail`` or ``head+tail``, as in :func:`seqkit.data.encoding.truncate`.
        progress: Called with the number of texts done after every batch (e.g. a progress bar's ``update``).

    Records: ``{"label": int, "probabilities": [C floats], "label_name": str}`` (the name when the run has them).
    """
    module.eval()
    device = next(module.parameters()).device
    names = module.hparams.get("label_names")
    pad_id = tokenizer.pad_id
    done = 0
    for chunk in _chunks(texts, batch_size * CHUNK_BATCHES):
        check_texts(chunk, done)
        done += len(chunk)
        ids = tokenizer.encode_batch(chunk)
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
        for row in probabilities:
            yield prediction_record(row, names)


def classify_texts(
    module: SequenceClassifier,
    tokenizer,
    texts: Iterable[str],
    batch_size: int = 64,
    max_length: int | None = None,
    truncation: Truncation = "head",
) -> list[dict]:
    """Classify ``texts``: one ``{"label", "label_name"?, "probabilities"}`` record per text, in input order.

    See :func:`iter_classify` (the streaming version) for the arguments.
    """
    return list(iter_classify(module, tokenizer, texts, batch_size, max_length, truncation))
