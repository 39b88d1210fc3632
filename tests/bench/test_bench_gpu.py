"""`seqkit bench gpu` runs on a CPU-only machine too: every part that can runs, the CUDA ones say they are skipped,
and the results land in the markdown and JSON files asked for."""

from __future__ import annotations

import json

import pytest
import torch

from seqkit.bench.gpu import write_corpus
from seqkit.cli import main
from seqkit.threads import cpu_runs_lstm_in_bf16


@pytest.mark.slow
def test_the_gpu_check_runs_on_cpu_and_says_what_it_skips(tmp_path, capsys):
    before = torch.get_num_threads()
    try:
        code = main(["bench", "gpu", "--markdown", str(tmp_path / "gpu.md"), "--json_file", str(tmp_path / "gpu.json"),
                     "--vocab", "200", "--tokens", "20000", "--hidden", "16", "--layers", "1", "--batch_size", "8",
                     "--bptt", "10", "--throughput_steps", "3", "--quality_epochs", "1", "--kernel_steps", "2"])
    finally:
        torch.set_num_threads(before)
    out = capsys.readouterr().out
    assert code == 0, out[-3000:]
    assert "no CUDA device" in out
    for number in range(1, 6):
        assert f"[{number}/5]" in out
    results = json.loads((tmp_path / "gpu.json").read_text())
    parts = results["parts"]
    assert [row["run"] for row in parts["2"]["rows"]] == ["1 device"]
    assert any("NCCL skipped: no CUDA device" in note for note in parts["2"]["notes"])
    if cpu_runs_lstm_in_bf16():
        assert [row["precision"] for row in parts["3"]["rows"]] == ["32-true", "bf16-mixed"]
        assert any("resumed in fp32: ok" in note for note in parts["3"]["notes"])
    else:
        assert parts["3"]["skipped"] == "this CPU cannot run an LSTM in bf16 (no AVX-512)"
    assert parts["4"]["skipped"] == "no CUDA device"
    assert [row["two runs' weights"] for row in parts["5"]["rows"]][0] == "identical"
    markdown = (tmp_path / "gpu.md").read_text()
    assert ("| precision | validation perplexity by epoch | tokens/s |" if cpu_runs_lstm_in_bf16()
            else "skipped: this CPU cannot run an LSTM in bf16") in markdown
    assert "skipped: no CUDA device" in markdown


def test_the_generated_corpus_has_the_floor_it_states(tmp_path):
    """The perplexity floor follows from the Zipf profile; the text follows the chain (every line 30 words)."""
    import pyarrow.parquet as pq

    result = write_corpus(tmp_path, vocab=50, tokens=3100, successors=5, seed=0)
    lines = pq.read_table(tmp_path / "train.parquet").column("text").to_pylist()
    assert {len(line.split()) for line in lines} == {30}
    followers: dict[str, set[str]] = {}
    for line in lines:
        words = line.split()
        for first, second in zip(words, words[1:], strict=False):
            followers.setdefault(first, set()).add(second)
    assert max(len(after) for after in followers.values()) <= 5
    assert 1.0 < result["floor"] < 50
