"""The Free Spoken Digit Dataset (FSDD) from its git repository, every recording checked against a pinned list.

FSDD (Zohar Jackson and contributors, github.com/Jakobovski/free-spoken-digit-dataset; CC BY-SA 4.0) holds 3,000
recordings, 6 speakers x 10 digits x 50 takes, mono 8 kHz 16-bit WAV, named ``{digit}_{speaker}_{take}.wav``. No
copy on the HuggingFace Hub could be tied to a commit of that repository from public records, so seqkit reads an
archive of the commit below and checks each of its recordings against the commit's SHA-256 list
(``checksums/fsdd-26eb9aaf.sha256``, shipped with seqkit): a missing, extra or changed recording is refused, naming
it. The split is the dataset's own: takes 0-4 are the test split (300 recordings), takes 5-49 train (2,700).
The columns match the local copy (``$SEQKIT_DATA_DIR/fsdd/``): ``audio`` (the WAV bytes, unchanged),
``sampling_rate``, ``channels``, ``sample_width``, ``num_frames``, ``label``, ``speaker``, ``take``, ``file``.
"""

from __future__ import annotations

import hashlib
import io
import re
import wave
from pathlib import Path

from seqkit.data.tarballs import matching_members
from seqkit.errors import DataError

FSDD_COMMIT = "26eb9aaf76e81b692f806f9140c2d2777410d7a1"
FSDD_URL = f"https://github.com/Jakobovski/free-spoken-digit-dataset/archive/{FSDD_COMMIT}.tar.gz"
CHECKSUMS = Path(__file__).with_name("checksums") / "fsdd-26eb9aaf.sha256"
#: ``<top folder>/recordings/{digit}_{speaker}_{take}.wav`` inside the archive.
_MEMBER = re.compile(r"^[^/]+/(recordings/(\d)_([A-Za-z]+)_(\d+)\.wav)$")
#: Takes below this are the official test split.
TEST_TAKES = 5


def expected_checksums(path: Path = CHECKSUMS) -> dict[str, str]:
    """``{"recordings/<file>": sha256}`` from a ``sha256sum`` list."""
    checksums = {}
    for line in path.read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            checksums[name.strip().lstrip("*")] = digest
    return checksums


def wav_header(data: bytes, name: str) -> dict[str, int]:
    """``sampling_rate``, ``channels``, ``sample_width`` (bytes) and ``num_frames`` of a WAV file's header."""
    try:
        with wave.open(io.BytesIO(data)) as handle:
            return {"sampling_rate": handle.getframerate(), "channels": handle.getnchannels(),
                    "sample_width": handle.getsampwidth(), "num_frames": handle.getnframes()}
    except (wave.Error, EOFError) as error:
        raise DataError(f"{name} is not a readable WAV file ({error}).") from None


def read_fsdd_archive(path: Path, url: str, checksums: dict[str, str] | None = None) -> dict[str, dict[str, list]]:
    """``{"train": columns, "test": columns}`` of an FSDD archive, every recording checked (see the module)."""
    expected = expected_checksums() if checksums is None else checksums
    rows: dict[str, dict[str, list]] = {}
    seen: set[str] = set()
    for match, data in matching_members(path, _MEMBER):
        name, digit, speaker, take = match.groups()
        if name not in expected:
            raise DataError(f"{url} holds {name}, which commit {FSDD_COMMIT[:8]} does not have; refusing the "
                            "archive (is it another version of the dataset?).")
        if hashlib.sha256(data).hexdigest() != expected[name]:
            raise DataError(f"{name} in {url} does not match its SHA-256 at commit {FSDD_COMMIT[:8]}: the "
                            "download is damaged or the file changed. Nothing was kept.")
        seen.add(name)
        split = "test" if int(take) < TEST_TAKES else "train"
        table = rows.setdefault(split, {key: [] for key in (
            "audio", "sampling_rate", "channels", "sample_width", "num_frames", "label", "speaker", "take",
            "file")})
        header = wav_header(data, name)
        for key, value in {"audio": data, **header, "label": int(digit), "speaker": speaker, "take": int(take),
                           "file": name.rsplit("/", 1)[-1]}.items():
            table[key].append(value)
    missing = sorted(set(expected) - seen)
    if missing:
        raise DataError(f"{url} lacks {len(missing)} of the {len(expected)} recordings of commit {FSDD_COMMIT[:8]} "
                        f"(first: {missing[0]}); refusing an incomplete dataset.")
    return rows
