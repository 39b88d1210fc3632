"""`seqkit bench lm` runs end to end on the tiny recipe and prints its comparison (no timing is asserted)."""

from __future__ import annotations

import os

from seqkit.cli import main
from tests.helpers import REPO


def test_bench_lm_prints_both_rates_and_the_ratio(data_root, capsys):
    code = main(["bench", "lm", "--recipe", str(REPO / "recipes" / "lm" / "tiny.yaml"), "--steps", "3",
                 "--warmup", "1", "--rounds", "2"])
    assert code == 0
    assert "SEQKIT_RUN_DIR" not in os.environ  # the next run in this process gets its own folder
    out = capsys.readouterr().out
    assert "seqkit wall" in out and "bare cpu" in out
    last = out.strip().splitlines()[-1]
    assert last.strip().startswith("median ratio seqkit/bare: wall") and "cpu" in last
