"""``seqkit classify``: label texts (arguments, or a .jsonl/.txt file) with a trained classifier, as JSON lines.

Each output line is ``{"line"?, "text", "label", "label_name"?, "probabilities"}``, in input order; with ``--input``,
``line`` is the input line the record answers (blank lines are skipped). A blank text (an empty argument or .jsonl
field) gets ``"label": null`` and ``"blank": true`` (see :mod:`seqkit.inference.blank`). Texts are truncated as
in training (``max_length`` and ``truncation`` from the run's ``config.yaml``) unless overridden.
"""

from __future__ import annotations

import json
import sys
from collections import deque
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Literal, TextIO

from jsonargparse.typing import PositiveInt

from seqkit.commands.files import atomic_output, check_input, check_output, is_stdio, json_field, read_lines
from seqkit.errors import ConfigError


def _count_lines(path: Path) -> int | None:
    """Lines in ``path``, for the progress bar; ``None`` for a stream (standard input, a pipe): it is read once."""
    if is_stdio(path) or not path.is_file():
        return None
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


def read_records(path: Path, text_field: str = "text") -> Iterator[tuple[int, str]]:
    """``(line number, text)`` for each text of a ``.jsonl`` file (field ``text_field`` of each line) or of any other
    UTF-8 file (one text per line; ``-`` is standard input). Blank lines are skipped; the line numbers keep outputs
    matched to inputs."""
    jsonl = path.suffix in (".jsonl", ".json")
    for number, line in enumerate(read_lines(path), start=1):
        if not line.strip():
            continue
        if not jsonl:
            yield number, line
            continue
        yield number, json_field(line, number, path, text_field, "text", "--text_field")


def read_texts(path: Path, text_field: str = "text") -> Iterator[str]:
    """The texts of :func:`read_records`, without line numbers."""
    for _, text in read_records(path, text_field):
        yield text


def classify(*, checkpoint: str, texts: list[str] | None = None, input: Path | None = None, text_field: str = "text",
             output: Path | None = None, batch_size: PositiveInt = 64, max_length: PositiveInt | None = None,
             truncation: Literal["head", "tail", "head+tail"] | None = None, no_text: bool = False,
             device: str | None = None) -> int:
    """Classify texts with a trained sequence or tree classifier, printing one JSON line per text.

    A tree classifier reads PTB bracketings, or plain text as a right-branching tree.

    Args:
        checkpoint: run directory (uses checkpoints/best.ckpt), .ckpt file, published model folder or Hub id
        texts: texts to classify, as positional arguments (or use --input)
        input: .jsonl (one object per line) or .txt (one text per line) file; - reads texts from standard input
        text_field: field of each .jsonl object holding the text
        output: write JSON lines here (default, or -: standard output)
        batch_size: texts per batch
        max_length: tokens kept per text (default: the run's)
        truncation: which part of a long text to keep (default: the run's)
        no_text: leave the text out of the output records
        device: cpu, cuda, cuda:1... (default: cuda when available)
    """

    if bool(texts) == bool(input):
        raise ConfigError("give texts as arguments or one --input file (not both).")
    path = check_input(input) if input else None  # before loading anything or creating the output file
    output = check_output(output, [path]) if output else None
    import torch

    from seqkit.inference.loading import load
    from seqkit.tasks import SequenceClassifier, TreeClassifier

    predictor = load(checkpoint, task=(SequenceClassifier, TreeClassifier),
                     device=device or ("cuda" if torch.cuda.is_available() else "cpu"))
    trees = isinstance(predictor.module, TreeClassifier)
    limits = {} if trees else {"max_length": max_length, "truncation": truncation}

    bar = None
    if path is not None:
        from tqdm import tqdm

        numbered = read_records(path, text_field)
        total = _count_lines(path)  # an upper bound when there are blank lines; good enough for a bar
        bar = tqdm(total=total, unit="text", file=sys.stderr, desc="Classifying", dynamic_ncols=True,
                   disable=None)  # no bar when standard error is not a terminal (logs, pipes)
    else:
        numbered = iter(enumerate(texts, start=1))

    # iter_classify reads texts a chunk ahead of its records, in order: a queue pairs them, one chunk at a time.
    seen: deque[tuple[int, str]] = deque()

    def remember(stream: Iterator[tuple[int, str]]) -> Iterator[str]:
        for number, text in stream:
            seen.append((number, text))
            yield text

    with ExitStack() as stack:
        out: TextIO = stack.enter_context(atomic_output(output))
        if bar is not None:
            stack.callback(bar.close)
        progress = bar.update if bar is not None else None
        records = predictor.iter_classify(remember(numbered), batch_size, progress=progress, **limits)
        for record in records:
            number, text = seen.popleft()
            where = {"line": number} if path is not None else {}
            row = {**where, **record} if no_text else {**where, "text": text, **record}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        out.flush()
    return 0
