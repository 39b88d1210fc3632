"""Reading inputs and writing outputs of the CLI commands without ever losing a file.

- An output is written to a temporary file beside it and renamed over the target only when the command succeeds:
  a failing command leaves an existing output untouched, and no half-written file behind.
- An output that is one of the inputs is refused before anything is opened (``--output`` equal to ``--input``
  would otherwise empty the input).
- Inputs are read as UTF-8 line by line; a line that is not UTF-8 is a one-line error naming the file and line.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, TextIO

from seqkit.errors import DataError


def _same_file(first: Path, second: Path) -> bool:
    try:
        return first.exists() and second.exists() and os.path.samefile(first, second)
    except OSError:
        return False


def check_output(output: str | Path, inputs: Iterable[str | Path | None] = (), option: str = "--output") -> Path:
    """The output path, checked before any work: not an input, not a folder, in a folder that exists."""
    path = Path(output).expanduser()
    for source in inputs:
        if source is not None and (_same_file(path, Path(source).expanduser())
                                   or path.resolve() == Path(source).expanduser().resolve()):
            raise DataError(f"{option} {path} is also the input file; write to another file (the input would be lost).")
    if path.is_dir():
        raise DataError(f"{option} {path} is a folder; give a file name.")
    if not path.parent.is_dir():
        raise DataError(f"{option} {path}: folder {path.parent} does not exist.")
    if not os.access(path.parent, os.W_OK):
        raise DataError(f"{option} {path}: folder {path.parent} is not writable.")
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_output(path: Path | None, binary: bool = False) -> Iterator[TextIO | BinaryIO]:
    """A handle on a temporary file that replaces ``path`` when the block ends without an error (standard output
    when ``path`` is ``None``). On an error the temporary file is removed and ``path`` is left as it was."""
    if path is None:
        yield sys.stdout.buffer if binary else sys.stdout
        return
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes the file private; outputs follow the umask
        with os.fdopen(descriptor, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"})) as handle:
            yield handle
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def decoded_lines(handle: BinaryIO | TextIO, name: str) -> Iterator[str]:
    """The lines of a binary stream as text (UTF-8, line ends removed); a non-UTF-8 line raises :class:`DataError`
    with its number. A text stream (already decoded) is passed through."""
    for number, raw in enumerate(handle, start=1):
        try:
            line = raw if isinstance(raw, str) else raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise DataError(
                f"Line {number} of {name} is not UTF-8 text (byte {error.start + 1}); convert the file to UTF-8 "
                "(e.g. iconv -f latin1 -t utf-8)."
            ) from None
        yield line.rstrip("\n\r")


def read_lines(path: Path) -> Iterator[str]:
    """Lines of a UTF-8 text file (see :func:`decoded_lines`)."""
    if not path.is_file():
        raise DataError(f"Input file {path} does not exist.")
    with path.open("rb") as handle:
        yield from decoded_lines(handle, str(path))
