"""Replacing a folder whole: the new folder is written beside the old one and swapped in by renames.

An interrupted or failing write never leaves the old folder half-emptied: until the swap the old folder is untouched,
and the swap itself is one atomic exchange of the two names where the system has one (Linux ``renameat2``), else
two renames with the old folder kept whole under a hidden ``.NAME.*.old`` name in between.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _exchange(first: Path, second: Path) -> bool:
    """Swap the names of two existing paths in one step; ``False`` where the system or file system cannot."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # not Linux, or a C library without renameat2
        return False
    return renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0


def _swap_in(staging: Path, folder: Path, old_files: list[Path]) -> None:
    """Put the complete folder ``staging`` in place of ``folder``, then delete the old folder's files (only
    ``old_files``, paths inside ``folder``) and the old folder once empty."""
    if not folder.exists():
        os.rename(staging, folder)
        return
    if _exchange(staging, folder):
        retired = staging  # the old folder now has the temporary name
    else:
        retired = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.", suffix=".old"))
        os.rename(folder, retired)  # over the empty folder just made: the name is never shared
        try:
            os.rename(staging, folder)
        except BaseException:
            os.rename(retired, folder)  # put the old folder back
            raise
    # The new folder is in place: a failure while tidying the old one must not undo the swap (the caller would remove
    # ``staging``, which after an exchange is the old folder), so what cannot be removed is left behind.
    with contextlib.suppress(OSError):
        for path in old_files:
            old = retired / path.relative_to(folder)
            if old.is_symlink() or old.is_file():
                old.unlink()
        retired.rmdir()  # fails, and is left, when something else appeared in it meanwhile


@contextlib.contextmanager
def replacing(folder: Path, old_files: list[Path]) -> Iterator[Path]:
    """A new empty folder beside ``folder`` to write into; when the block succeeds it replaces ``folder`` (whose
    files, ``old_files``, were checked as safe to delete), when it fails it is removed and ``folder`` is untouched."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.", suffix=".new"))
    try:
        yield staging
        os.chmod(staging, 0o777 & ~_umask())  # mkdtemp makes the folder private; a published folder is shared
        _swap_in(staging, folder, old_files)
    except BaseException:
        if staging.is_dir():
            shutil.rmtree(staging, ignore_errors=True)
        raise
