"""The Hub repos seqkit's recipes name, rebuilt at test time from small slices of ``../shared/data``.

Each repo has the real repo's file layout, file format and column names (as read from the Hub's pages): JSON Lines
at the top level for ``SetFit/sst2`` and ``bentrevett/multi30k``, parquet under a config folder with a README that
declares the configs for ``Salesforce/wikitext`` and the other parquet repos, and for PTB a loading-script repo whose
parquet export lives on the ``refs/convert/parquet`` branch. The aclImdb archive is served as a plain file.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tests.fake_hub import FakeHub

#: Rows per split in the stand-in repos: enough for a few batches of every recipe.
ROWS = 240
WIKITEXT_REVISION = "b08601e04326c79dfdd32d625aee71d232d685c3"
#: The commits the recipes pin (public records of each repository's history).
IMDB_REVISION = "e6281661ce1c48d982bc483cf8a173c1bbeb5d31"
YELP_REVISION = "c1f9ee939b7d05667af864ee1cb066393154bf85"
GLUE_REVISION = "bcdcba79d07bc864c1c254ccfcedcce55bcc9a8c"


def _rows(data_root: Path, name: str, split: str, rows: int = ROWS) -> pa.Table:
    table = pq.read_table(data_root / name / f"{split}.parquet")
    return table.slice(0, min(rows, table.num_rows))


def _parquet(table: pa.Table) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


def _jsonl(table: pa.Table) -> bytes:
    return "".join(json.dumps(row) + "\n" for row in table.to_pylist()).encode()


def _readme(config: str, splits: list[str]) -> bytes:
    lines = ["---", "configs:", f"- config_name: {config}", "  data_files:"]
    for split in splits:
        lines += [f"  - split: {split}", f"    path: {config}/{split}-*"]
    return ("\n".join(lines) + "\n---\n# Dataset card\n").encode()


def _mixed(table: pa.Table, rows: int = ROWS) -> pa.Table:
    """``rows`` rows of both labels, from both ends of a local IMDB file (they are sorted by label)."""
    return pa.concat_tables([table.slice(0, rows // 2), table.slice(table.num_rows - rows // 2)])


def build(hub: FakeHub, data_root: Path) -> dict[str, str]:
    """Add every recipe's Hub repo to ``hub``; returns facts tests need (archive URL and checksum, revisions)."""
    sst2 = {s: _rows(data_root, "sst2", s) for s in ("train", "validation", "test")}
    files = {"README.md": b"---\nlicense: mit\n---\n# sst2\n"}
    for split, file in (("train", "train.jsonl"), ("validation", "dev.jsonl"), ("test", "test.jsonl")):
        table = sst2[split]
        names = pa.array(["negative" if v == 0 else "positive" for v in table.column("label").to_pylist()])
        files[file] = _jsonl(table.append_column("label_text", names))
    hub.add_repo("dataset", "SetFit/sst2", files)
    glue = {"README.md": _readme("sst2", ["train", "validation", "test"])}
    for split in ("train", "validation", "test"):  # GLUE's sentences end with a space; its test labels are hidden
        table = sst2[split]
        labels = table.column("label") if split != "test" else pa.array([-1] * table.num_rows, pa.int64())
        glue[f"sst2/{split}-00000-of-00001.parquet"] = _parquet(pa.table({
            "sentence": [text + " " for text in table.column("text").to_pylist()], "label": labels,
            "idx": pa.array(range(table.num_rows), pa.int32())}))
    hub.add_repo("dataset", "nyu-mll/glue", glue, sha=GLUE_REVISION)

    plain = {s: _mixed(pq.read_table(data_root / "imdb" / f"{s}.parquet")).select(["text", "label"])
             for s in ("train", "test")}
    unsup = plain["train"].set_column(1, "label", pa.array([-1] * plain["train"].num_rows, pa.int64()))
    hub.add_repo("dataset", "stanfordnlp/imdb", {
        "README.md": _readme("plain_text", ["train", "test", "unsupervised"]),
        "plain_text/train-00000-of-00001.parquet": _parquet(plain["train"]),
        "plain_text/test-00000-of-00001.parquet": _parquet(plain["test"]),
        "plain_text/unsupervised-00000-of-00001.parquet": _parquet(unsup),
    }, sha=IMDB_REVISION)

    wikitext = {"README.md": _readme("wikitext-2-v1", ["test", "train", "validation"])}
    for split in ("train", "validation", "test"):
        lines = _rows(data_root, "wikitext2", split, 4 * ROWS).column("text").to_pylist()
        # The Hub copy: blank lines are "", other lines keep their leading space and the newline.
        hub_lines = ["" if not line.strip() else f"{line}\n" for line in lines]
        wikitext[f"wikitext-2-v1/{split}-00000-of-00001.parquet"] = _parquet(pa.table({"text": hub_lines}))
    hub.add_repo("dataset", "Salesforce/wikitext", wikitext, sha=WIKITEXT_REVISION)

    hub.add_repo("dataset", "ptb-text-only/ptb_text_only", {
        "README.md": b"---\nlicense: other\n---\n# Penn Treebank\n", "ptb_text_only.py": b"import datasets\n"})
    lines = {split: _rows(data_root, "ptb", split, 4 * ROWS).column("text").to_pylist()
             for split in ("train", "validation", "test")}
    hub.add_repo("dataset", "ptb-text-only/ptb_text_only", {  # its loading script strips each line
        f"penn_treebank/{split}/0000.parquet": _parquet(pa.table({"sentence": [line.strip() for line in rows]}))
        for split, rows in lines.items()
    }, ref="refs/convert/parquet")

    multi30k = {"README.md": b"---\nlicense: unknown\n---\n# Multi30k\n"}
    for split, file in (("train", "train.jsonl"), ("validation", "val.jsonl"), ("test_2016_flickr", "test.jsonl")):
        multi30k[file] = _jsonl(_rows(data_root, "multi30k", split).select(["en", "de"]))
    hub.add_repo("dataset", "bentrevett/multi30k", multi30k)

    tatoeba = _rows(data_root, "tatoeba_eng_fra", "train", 2 * ROWS)
    pairs = pa.table({"english": tatoeba.column("en"), "non_english": tatoeba.column("fr")})
    hub.add_repo("dataset", "sentence-transformers/parallel-sentences-tatoeba", {
        "README.md": _readme("en-fr", ["train", "dev"]),
        "en-fr/train-00000-of-00001.parquet": _parquet(pairs.slice(0, ROWS)),
        "en-fr/dev-00000-of-00001.parquet": _parquet(pairs.slice(ROWS)),
    })

    yelp = {s: _rows(data_root, "yelp_reviews", s).select(["label", "text"]) for s in ("train", "test")}
    hub.add_repo("dataset", "Yelp/yelp_review_full", {
        "README.md": _readme("yelp_review_full", ["train", "test"]),
        **{f"yelp_review_full/{s}-00000-of-00001.parquet": _parquet(t) for s, t in yelp.items()},
    }, sha=YELP_REVISION)

    amazon = _rows(data_root, "amazon_multidomain", "train", 2 * ROWS)
    polarity = pa.table({"label": amazon.column("label"), "title": amazon.column("title"),
                         "content": amazon.column("text")})
    hub.add_repo("dataset", "fancyzhx/amazon_polarity", {
        "README.md": _readme("amazon_polarity", ["train", "test"]),
        **{f"amazon_polarity/train-0000{shard}-of-00004.parquet": _parquet(polarity.slice(shard * ROWS // 2, ROWS // 2))
           for shard in range(4)},  # the recipe reads the first shard only
        "amazon_polarity/test-00000-of-00001.parquet": _parquet(polarity.slice(0, ROWS // 4)),
    })

    archive = aclimdb_archive(data_root)
    hub.plain_files["aclImdb_v1.tar.gz"] = archive
    recordings = {row["file"]: row["audio"] for split in ("train", "test") for row in
                  pq.read_table(data_root / "fsdd" / f"{split}.parquet", columns=["file", "audio"]).to_pylist()}
    hub.plain_files[FSDD_ARCHIVE] = fsdd_archive(recordings)
    series = etth1_csv(data_root)
    hub.plain_files[ETTH1_CSV] = series
    return {"archive_url": f"{hub.url}/files/aclImdb_v1.tar.gz", "archive_sha256": hashlib.sha256(archive).hexdigest(),
            "etth1_url": f"{hub.url}/files/{ETTH1_CSV}", "etth1_sha256": hashlib.sha256(series).hexdigest(),
            # Repos the recipes pin by file checksums: the stand-in's files have their own.
            "sha256": {repo: {split: hashlib.sha256(hub.repos[("dataset", repo)].refs["main"].files[path]).hexdigest()
                              for split, path in files.items()} for repo, files in CHECKSUMMED.items()}}


#: ``{repo: {hub split: file}}`` of the repos the recipes pin by file checksums.
CHECKSUMMED = {"bentrevett/multi30k": {"train": "train.jsonl", "validation": "val.jsonl", "test": "test.jsonl"},
               "fancyzhx/amazon_polarity": {"train": "amazon_polarity/train-00000-of-00004.parquet"}}


#: ETTh1 as the ETDataset repository publishes it (``date,HUFL,...,OT``), served under ``/files/``.
ETTH1_CSV = "ETTh1.csv"


def etth1_csv(data_root: Path) -> bytes:
    """The local ETTh1 series written as the published CSV: ``YYYY-MM-DD HH:MM:SS`` dates, shortest exact floats."""
    table = pq.read_table(data_root / "etth1" / "series.parquet")
    columns = table.column_names
    lines = [",".join(columns)]
    for row in table.to_pylist():
        lines.append(",".join(row[c].strftime("%Y-%m-%d %H:%M:%S") if c == "date" else repr(row[c]) for c in columns))
    return ("\n".join(lines) + "\n").encode()


#: The FSDD archive's name under ``/files/`` (the speech recipes read it, every recording checked by SHA-256).
FSDD_ARCHIVE = "fsdd.tar"


def fsdd_archive(recordings: dict[str, bytes]) -> bytes:
    """A tar archive laid out as a code host's archive of FSDD's commit: ``<top>/recordings/<file>`` and a README."""
    from seqkit.data.fsdd import FSDD_COMMIT

    top = f"free-spoken-digit-dataset-{FSDD_COMMIT}"
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in {**{f"recordings/{n}": d for n, d in recordings.items()}, "README.md": b"# FSDD\n"}.items():
            member = tarfile.TarInfo(f"{top}/{name}")
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    return out.getvalue()


def aclimdb_archive(data_root: Path, per_split: int = ROWS) -> bytes:
    """A small archive in the aclImdb layout (``aclImdb/<split>/<pos|neg>/<id>_<rating>.txt``) from local rows."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for split in ("train", "test"):
            table = _mixed(pq.read_table(data_root / "imdb" / f"{split}.parquet"), per_split)
            for number, row in enumerate(table.to_pylist()):
                folder = "pos" if row["label"] == 1 else "neg"
                data = row["text"].encode()
                member = tarfile.TarInfo(f"aclImdb/{split}/{folder}/{number}_{row['rating']}.txt")
                member.size = len(data)
                tar.addfile(member, io.BytesIO(data))
        readme = b"Large Movie Review Dataset v1.0\n"
        member = tarfile.TarInfo("aclImdb/README")
        member.size = len(readme)
        tar.addfile(member, io.BytesIO(readme))
    return out.getvalue()
