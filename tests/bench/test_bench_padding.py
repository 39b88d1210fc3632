"""seqkit bench padding: padding share of a recipe's epoch, bucketed against random batches."""

from __future__ import annotations

import numpy as np

from seqkit.bench.padding import epoch_padding
from seqkit.cli import main
from tests.helpers import REPO


def test_bucketing_pads_less_than_random_batches():
    lengths = np.random.default_rng(0).integers(1, 400, size=2000)
    bucketed = epoch_padding(lengths, 32, None, bucket=True)
    random = epoch_padding(lengths, 32, None, bucket=False)
    assert bucketed["batches"] == random["batches"] == 63
    assert bucketed["padding"] < 0.05 < 0.3 < random["padding"]
    assert bucketed["padded_tokens"] < random["padded_tokens"]


def test_bench_padding_on_a_recipe(data_root, capsys):
    code = main(["bench", "padding", "--recipe", str(REPO / "recipes" / "sentiment" / "sst2_tiny.yaml"),
                 "--max_rows", "300"])
    assert code == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith(("| bucketed", "| random"))]
    fractions = [float(row.split("|")[-2]) for row in rows]
    assert len(fractions) == 2 and fractions[0] < fractions[1]
