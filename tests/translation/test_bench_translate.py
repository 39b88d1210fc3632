"""``seqkit bench translate`` runs and reports both modes and their agreement."""

from __future__ import annotations

from seqkit.cli import main


def test_bench_translate_untrained_model(capsys, one_thread):
    assert main(["bench", "translate", "--sentences", "6", "--beam", "2", "--batch_size", "4"]) == 0
    out = capsys.readouterr().out
    assert "batched (4)" in out and "one at a time" in out and "speed-up of batched search" in out
    assert "identical best hypotheses: 6/6" in out
