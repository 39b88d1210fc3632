"""Reading inputs and writing outputs of the CLI commands without ever losing a file.

- An output is written to a temporary file beside it and renamed over the target only when the command succeeds:
  a failing command leaves an existing output untouched, and no half-written file behind. Only a regular file (or a
  missing path) is ever replaced: a device, a named pipe, a terminal or a link to one is written in place, and ``-``
  is standard output (a target that is this process's standard output is written through it).
- ``-`` as an input is standard input; ``/dev/stdin``, a named pipe or a device are read as they are.
- An output that is one of the inputs is refused before anything is opened (``--output`` equal to ``--input``
  would otherwise empty the input).
- Inputs are read as UTF-8 line by line; a line that is not UTF-8 is a one-line error naming the file and line.
"""

from __future__ import annotations

import errno
import json
import os
import stat
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


STDIO = "-"
#: Errors of the storage rather than of the path: a full disk, an exceeded quota, a read-only file system.
STORAGE_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)


def is_stdio(path: str | Path | None) -> bool:
    """Whether ``path`` is ``-``: standard input for an input, standard output for an output."""
    return path is not None and str(path) == STDIO


def _is_stdout(status: os.stat_result) -> bool:
    try:
        return os.path.samestat(status, os.fstat(sys.stdout.fileno()))
    except (OSError, ValueError, AttributeError):  # no real standard output (captured, closed)
        return False


def _written_in_place(path: Path) -> bool:
    """Whether ``path`` exists and is not replaced by a rename: not a regular file nor a folder (a device, a pipe, a
    socket; links followed), or this process's standard output."""
    try:
        status = os.stat(path)
    except OSError:
        return False
    return (not stat.S_ISREG(status.st_mode) and not stat.S_ISDIR(status.st_mode)) or _is_stdout(status)


def check_input(input: str | Path, option: str = "--input") -> Path:
    """The input path, checked before any work: ``-`` (standard input), or something that exists and can be read
    as a stream (a file, ``/dev/stdin``, a named pipe), not a folder."""
    if is_stdio(input):
        return Path(STDIO)
    path = Path(input).expanduser()
    if path.is_dir():
        raise DataError(f"{option} {path} is a folder; give a file (or - for standard input).")
    if not path.exists():
        raise DataError(f"Input file {path} does not exist.")
    return path


def check_output(output: str | Path, inputs: Iterable[str | Path | None] = (),
                 option: str = "--output") -> Path | None:
    """The output path, checked before any work: not an input, not a folder, in a folder that exists. ``-`` gives
    ``None`` (standard output); a device or named pipe is kept as it is (it is written in place)."""
    if is_stdio(output):
        return None
    path = Path(output).expanduser()
    if _written_in_place(path):  # no temporary file beside it, nothing that can be lost
        if not os.access(path, os.W_OK):
            raise DataError(f"{option} {path} is not writable.")
        return path
    for source in inputs:
        if source is None or is_stdio(source):
            continue
        if _same_file(path, Path(source).expanduser()) or path.resolve() == Path(source).expanduser().resolve():
            raise DataError(f"{option} {path} is also the input file; write to another file (the input would be lost).")
    if path.is_dir():
        raise DataError(f"{option} {path} is a folder; give a file name.")
    folder = Path(os.path.realpath(path)).parent if path.is_file() else path.parent  # a link: its file's folder
    if not folder.is_dir():
        raise DataError(f"{option} {path}: folder {folder} does not exist.")
    if not os.access(folder, os.W_OK):
        raise DataError(f"{option} {path}: folder {folder} is not writable.")
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _rename_target(path: Path) -> Path | None:
    """The file a temporary file is renamed over, or ``None`` when ``path`` is written in place.

    A missing path is created by the rename. A regular file is replaced (through a link: the file it points at, so
    the link stays). Anything else (a device such as ``/dev/null``, a named pipe, a terminal, a link to one) is
    never replaced: as root, a rename over ``/dev/null`` would swap the machine's device for a plain file.
    """
    if _written_in_place(path):
        return None
    return Path(os.path.realpath(path)) if path.is_file() else path


@contextmanager
def _naming(path: Path | str) -> Iterator[None]:
    """Name ``path`` in a storage :class:`OSError` raised without a file name (a write on an open handle to a full
    disk), so that the one-line message says which output could not be written."""
    try:
        yield
    except OSError as error:
        if error.filename is None and error.errno in STORAGE_ERRORS:
            error.filename = str(path)
        raise


@contextmanager
def atomic_output(path: Path | None, binary: bool = False) -> Iterator[TextIO | BinaryIO]:
    """A handle on a temporary file that replaces ``path`` when the block ends without an error (standard output
    when ``path`` is ``None`` or ``-``; the target itself, written in place, when it is not a regular file). On an
    error the temporary file is removed and ``path`` is left as it was."""
    mode, text = ("wb", {}) if binary else ("w", {"encoding": "utf-8"})
    target = None if path is None or is_stdio(path) else _rename_target(path)
    if target is None:
        if path is None or is_stdio(path) or _is_stdout(os.stat(path)):
            stream = sys.stdout
            with _naming("standard output"):
                yield stream.buffer if binary else stream
                stream.flush()
            return
        with _naming(path), open(path, mode, **text) as handle:
            yield handle
        return
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes the file private; outputs follow the umask
        with _naming(path), os.fdopen(descriptor, mode, **text) as handle:
            yield handle
        os.replace(temporary, target)
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


def _stdin() -> BinaryIO | TextIO:
    return getattr(sys.stdin, "buffer", sys.stdin)


def read_lines(path: Path) -> Iterator[str]:
    """Lines of a UTF-8 text file, or of standard input for ``-`` (see :func:`decoded_lines`)."""
    if is_stdio(path):
        yield from decoded_lines(_stdin(), "standard input")
        return
    path = check_input(path)
    with path.open("rb") as handle:
        yield from decoded_lines(handle, str(path))


def json_field(line: str, number: int, where: str | Path, field: str, kind: str, option: str) -> str:
    """The string ``field`` of one JSON-lines record (line ``number`` of ``where``); a line that is not JSON, or whose
    record lacks the field, is a :class:`~seqkit.errors.DataError` naming the line and the ``option`` that picks the
    field (``kind`` says what the field holds: ``"text"``, ``"path"``)."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise DataError(f"Line {number} of {where} is not JSON: {error}") from None
    value = record.get(field) if isinstance(record, dict) else None
    if not isinstance(value, str):
        raise DataError(f"Line {number} of {where} has no {kind} field {field!r}; choose the field with {option}.")
    return value
