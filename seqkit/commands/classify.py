"""``seqkit classify``: label texts (arguments, or a .jsonl/.txt file) with a trained classifier, as JSON lines.

Each output line is ``{"line"?, "text", "label", "label_name"?, "probabilities"}``, in input order; with ``--input``,
``line`` is the input line the record answers (blank lines are skipped). Texts are truncated as
in training (``max_length`` and ``truncation`` from the run's ``config.yaml``) unless overridden.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import deque
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TextIO

HELP = ("Classify texts with a trained sequence or tree classifier (a run directory, checkpoint, published folder "
        "or Hub id). A tree classifier reads PTB bracketings, or plain text as a right-branching tree.")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="seqkit classify", description=HELP)
    p.add_argument("texts", nargs="*", help="texts to classify (or use --input)")
    p.add_argument("--checkpoint", required=True,
                   help="run directory (uses checkpoints/best.ckpt), .ckpt file, published model folder or Hub id")
    p.add_argument("--input", default=None, help=".jsonl (one object per line) or .txt (one text per line) file")
    p.add_argument("--text-field", default="text", help="field of each .jsonl object holding the text")
    p.add_argument("--output", default=None, help="write JSON lines here (default: standard output)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--max-length", type=int, default=None, help="tokens kept per text (default: the run's)")
    p.add_argument("--truncation", choices=["head", "tail", "head+tail"], default=None,
                   help="which part of a long text to keep (default: the run's)")
    p.add_argument("--no-text", action="store_true", help="leave the text out of the output records")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1... (default: cuda when available)")
    return p


def _count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


def read_records(path: Path, text_field: str = "text") -> Iterator[tuple[int, str]]:
    """``(line number, text)`` for each text of a ``.jsonl`` file (field ``text_field`` of each line) or of any other
    UTF-8 file (one text per line). Blank lines are skipped; the line numbers keep outputs matched to inputs."""
    from seqkit.commands.files import read_lines
    from seqkit.errors import DataError

    jsonl = path.suffix in (".jsonl", ".json")
    for number, line in enumerate(read_lines(path), start=1):
        if not line.strip():
            continue
        if not jsonl:
            yield number, line
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise DataError(f"Line {number} of {path} is not JSON: {error}") from None
        text = record.get(text_field) if isinstance(record, dict) else None
        if not isinstance(text, str):
            raise DataError(f"Line {number} of {path} has no text field {text_field!r}; "
                            "choose the field with --text-field.")
        yield number, text


def read_texts(path: Path, text_field: str = "text") -> Iterator[str]:
    """The texts of :func:`read_records`, without line numbers."""
    for _, text in read_records(path, text_field):
        yield text


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    if bool(args.texts) == bool(args.input):
        parser().error("give texts as arguments or one --input file (not both)")
    if args.batch_size < 1:
        parser().error("--batch-size must be at least 1")
    if args.max_length is not None and args.max_length < 1:
        parser().error("--max-length must be at least 1")
    from seqkit.commands.files import atomic_output, check_output
    from seqkit.errors import DataError

    path = Path(args.input).expanduser() if args.input else None
    if path is not None and not path.is_file():  # before loading anything or creating the output file
        raise DataError(f"Input file {path} does not exist.")
    output = check_output(args.output, [path]) if args.output else None
    import torch

    from seqkit.inference.loading import load
    from seqkit.tasks import SequenceClassifier, TreeClassifier

    predictor = load(args.checkpoint, task=(SequenceClassifier, TreeClassifier),
                     device=args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    trees = isinstance(predictor.module, TreeClassifier)
    limits = {} if trees else {"max_length": args.max_length, "truncation": args.truncation}

    bar = None
    if path is not None:
        from tqdm import tqdm

        numbered = read_records(path, args.text_field)
        total = _count_lines(path)  # an upper bound when there are blank lines; good enough for a bar
        bar = tqdm(total=total, unit="text", file=sys.stderr, desc="Classifying", dynamic_ncols=True,
                   disable=None)  # no bar when standard error is not a terminal (logs, pipes)
    else:
        numbered = iter(enumerate(args.texts, start=1))

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
        records = predictor.iter_classify(remember(numbered), args.batch_size, progress=progress, **limits)
        for record in records:
            number, text = seen.popleft()
            where = {"line": number} if path is not None else {}
            row = {**where, **record} if args.no_text else {**where, "text": text, **record}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        out.flush()
    return 0
