"""Reading tar archives as data: the members whose names match a pattern, with their bytes, nothing extracted to
disk (so a member's name can never write outside a folder)."""

from __future__ import annotations

import re
import tarfile
from collections.abc import Iterator
from pathlib import Path


def matching_members(path: Path, pattern: re.Pattern[str]) -> Iterator[tuple[re.Match[str], bytes]]:
    """Every regular file of the tar archive at ``path`` (any compression) whose name ``pattern`` matches: the match
    and the member's bytes, in archive order."""
    with tarfile.open(path, "r:*") as tar:
        for member in tar:
            match = pattern.match(member.name)
            if member.isfile() and match:
                yield match, tar.extractfile(member).read()
