"""The Hub copies' text formats give the same token streams as the local copies (published token counts)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from seqkit.data import DataSource, LanguageModelingDataModule, TokenizerConfig
from seqkit.data.options import Batching

#: Tokens (words + one <eos> per line) of WikiText-2 v1 and PTB, as published and as counted by pytorch/examples.
WIKITEXT2 = {"validation": 217_646, "test": 245_569}
PTB = {"validation": 73_760, "test": 82_430}


def _streams(files: dict[str, str], column: str = "text") -> dict[str, int]:
    module = LanguageModelingDataModule(
        DataSource(data_files=files, columns={"text": column}),
        TokenizerConfig(kind="word", split_punctuation=False, vocab_size=40000), batching=Batching(batch_size=4))
    module.setup("fit")
    return {role: module.streams[role].numel() for role in ("validation", "test")}


def _as_hub_wikitext(data_root, split, folder) -> str:
    """``Salesforce/wikitext`` rows: blank lines are ``""``, others keep the leading space and gain a newline."""
    lines = pq.read_table(data_root / "wikitext2" / f"{split}.parquet").column("text").to_pylist()
    path = folder / f"{split}-00000-of-00001.parquet"
    pq.write_table(pa.table({"text": ["" if not line.strip() else f"{line}\n" for line in lines]}), path)
    return str(path)


@pytest.mark.full_data
@pytest.mark.slow
def test_wikitext2_in_the_hub_format_keeps_the_published_token_counts(data_root, tmp_path):
    local = {s: str(data_root / "wikitext2" / f"{s}.parquet") for s in ("validation", "test")}
    hub = {s: _as_hub_wikitext(data_root, s, tmp_path) for s in ("validation", "test")}
    assert _streams({"train": local["validation"], **local}) == WIKITEXT2
    assert _streams({"train": hub["validation"], **hub}) == WIKITEXT2


@pytest.mark.full_data
@pytest.mark.slow
def test_ptb_parquet_export_column_keeps_the_published_token_counts(data_root, tmp_path):
    files = {}
    for split in ("validation", "test"):
        table = pq.read_table(data_root / "ptb" / f"{split}.parquet")
        files[split] = str(tmp_path / f"{split}.parquet")
        pq.write_table(pa.table({"sentence": table.column("text")}), files[split])
    assert _streams({"train": files["validation"], **files}, column="sentence") == PTB
