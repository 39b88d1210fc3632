"""``seqkit transcribe``: the words a trained speech model hears in audio files, one JSON line per file.

Each argument is an audio file (WAV, FLAC, OGG, MP3: whatever libsndfile reads, at any rate, mono or stereo), a
``.txt`` list of audio paths (one per line) or a ``.jsonl`` list (the ``--path_field`` of each line), or ``-`` for
such a list on standard input. Paths in a list are relative to the list's folder. Every file's header is checked
before the model is loaded, so an empty file, a text file named ``.wav`` or a file with no samples stops the
command at once with one line naming it. Output lines are ``{"file", "text", "confidence", ...}`` in input order;
``--plot DIR`` also draws each file's features, per-step posteriors (or pooling weights) and the text heard.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TextIO

from jsonargparse.typing import PositiveFloat, PositiveInt

from seqkit.commands.files import atomic_output, check_output, decoded_lines, json_field, read_lines
from seqkit.errors import ConfigError, DataError

#: Arguments read as lists of audio paths rather than as audio.
LIST_SUFFIXES = (".txt", ".jsonl", ".json")


def _list_entries(lines: Iterator[str], name: str, base: Path, jsonl: bool, path_field: str) -> Iterator[Path]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        entry = line.strip()
        if jsonl:
            entry = json_field(line, number, name, path_field, "path", "--path_field")
        path = Path(entry).expanduser()
        yield path if path.is_absolute() else base / path


def audio_paths(arguments: list[str], path_field: str = "path") -> list[Path]:
    """The audio files named by the command's arguments (files, ``.txt``/``.jsonl`` lists, ``-``), in order."""
    paths: list[Path] = []
    for argument in arguments:
        if argument == "-":
            stdin = sys.stdin.buffer if hasattr(sys.stdin, "buffer") else sys.stdin
            paths += _list_entries(decoded_lines(stdin, "standard input"), "standard input", Path.cwd(), False,
                                   path_field)
            continue
        path = Path(argument).expanduser()
        if path.suffix.lower() in LIST_SUFFIXES:
            jsonl = path.suffix.lower() != ".txt"
            paths += _list_entries(read_lines(path), str(path), path.parent, jsonl, path_field)
        else:
            paths.append(path)
    if not paths:
        raise DataError("No audio files given: name WAV (or FLAC, OGG, MP3) files, a .txt/.jsonl list, or - for a "
                        "list on standard input.")
    return paths


def _plot_names(paths: list[Path]) -> list[str]:
    """A PNG name per input: its stem, numbered when two inputs share one."""
    stems = [p.stem for p in paths]
    return [f"{stem}.png" if stems.count(stem) == 1 else f"{index:04d}-{stem}.png"
            for index, stem in enumerate(stems)]


def transcribe(*, checkpoint: str, files: list[str] | None = None, output: Path | None = None,
               plot: Path | None = None, beam_size: PositiveInt | None = None, batch_size: PositiveInt = 8,
               max_seconds: PositiveFloat | None = None, path_field: str = "path", device: str | None = None) -> int:
    """Transcribe audio files with a trained speech model (CTC recognizer or word classifier), one JSON line each.

    Args:
        checkpoint: run directory (uses checkpoints/best.ckpt), .ckpt file, published model folder or Hub id
        files: audio files, .txt/.jsonl lists of them, or - for a list on standard input
        output: write JSON lines here (default: standard output)
        plot: folder for one PNG per file: features, per-step posteriors (or pooling weights), text heard
        beam_size: CTC decoding: 1 greedy, more: prefix beam search (default: the model's)
        batch_size: files run through the network together
        max_seconds: refuse files longer than this (default: any length, read block by block)
        path_field: field of each .jsonl line holding the audio path
        device: cpu, cuda, cuda:1... (default: cuda when available)
    """
    if not files:
        raise ConfigError("give audio files, .txt/.jsonl lists of them, or - (a list on standard input).")
    paths = audio_paths(list(files), path_field)
    from seqkit.data.audio import check_audio

    for path in paths:  # every header before the model is loaded: a bad file costs nothing
        check_audio(path, str(path), max_seconds)
    output = check_output(output, paths) if output else None
    if plot is not None:
        plot = plot.expanduser()
        if plot.exists() and not plot.is_dir():
            raise DataError(f"--plot {plot} is a file; give a folder.")
        try:
            import matplotlib  # noqa: F401
        except ImportError as error:
            raise DataError("--plot needs matplotlib: pip install 'seqkit[plot]'") from error
        plot.mkdir(parents=True, exist_ok=True)
    import torch

    from seqkit.inference.loading import load
    from seqkit.inference.transcribe import render_heard_png
    from seqkit.tasks import CTCSpeechRecognizer, SpeechClassifier

    predictor = load(checkpoint, task=(CTCSpeechRecognizer, SpeechClassifier),
                     device=device or ("cuda" if torch.cuda.is_available() else "cpu"))
    names = _plot_names(paths)
    with ExitStack() as stack:
        out: TextIO = stack.enter_context(atomic_output(output))
        heard_all = predictor.hear(paths, batch_size, beam_size, max_seconds, names=[str(p) for p in paths])
        for path, name, heard in zip(paths, names, heard_all, strict=True):
            out.write(json.dumps({"file": str(path), **heard.record}, ensure_ascii=False) + "\n")
            out.flush()
            if plot is not None:
                with atomic_output(plot / name, binary=True) as png:
                    render_heard_png(heard, png, title=path.name)
    if plot is not None:
        print(f"Plots: {plot} ({len(paths)} PNG files)", file=sys.stderr)
    return 0
