"""``seqkit bench layers`` runs and prints its tables (tiny shapes; no timing assertions)."""

from __future__ import annotations

from seqkit.bench import BENCHMARKS
from seqkit.cli import main


def test_bench_layers_is_listed():
    assert "layers" in BENCHMARKS


def test_layer_table(capsys):
    args = ["--batch", "2", "--length", "3", "--input_size", "4", "--hidden_size", "4", "--layers", "1",
            "--repeats", "1", "--no_compile", "--cells", "lstm,gru,rnn"]
    assert main(["bench", "layers", *args]) == 0
    out = capsys.readouterr().out
    assert "batch 2 x length 3" in out and "threads" in out
    assert sum(line.split()[1:2] == ["fused"] for line in out.splitlines()) == 3
    assert "cell loop" in out and "compiled" not in out


def test_lengths_table(capsys):
    args = ["--batch", "3", "--input_size", "4", "--hidden_size", "4", "--layers", "1", "--repeats", "1",
            "--lengths", "4,6", "--cells", "gru"]
    assert main(["bench", "layers", *args]) == 0
    out = capsys.readouterr().out
    assert "pack/split" in out and "bigru" in out


def test_unknown_cell_is_an_error(capsys):
    assert main(["bench", "layers", "--cells", "transformer"]) == 2


def test_scan_table(capsys):
    args = ["--batch", "2", "--input_size", "4", "--hidden_size", "4", "--layers", "1", "--repeats", "1",
            "--scan", "3,5"]
    assert main(["bench", "layers", *args]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.split()[:1] in (["3"], ["5"])]
    assert len(rows) == 2 and all(len(row) == 1 + 4 + 3 for row in rows)
