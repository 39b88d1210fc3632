"""`seqkit bench gpu` runs on a CPU-only machine too: every part that can runs, the cuDNN one says it is skipped."""

from __future__ import annotations

import torch

from seqkit.cli import main
from tests.helpers import REPO


def test_the_gpu_check_runs_on_cpu_and_says_what_it_skips(data_root, capsys):
    before = torch.get_num_threads()
    try:
        code = main(["bench", "gpu", "--lm_recipes", f"[{REPO / 'recipes' / 'lm' / 'tiny.yaml'}]", "--steps", "2",
                     "--warmup", "1", "--sentences", "4", "--documents", "8", "--speedrun_minutes", "0"])
    finally:
        torch.set_num_threads(before)
    assert code == 0
    out = capsys.readouterr().out
    assert "no CUDA device" in out
    for number in range(1, 6):
        assert f"[{number}/5]" in out
    lm_line = next(line for line in out.splitlines() if "tiny.yaml" in line and "tok/s" in line)
    assert "fp32" in lm_line and "bf16" in lm_line and "bf16/fp32" in lm_line
    assert "speed-up of batched search" in out
    assert "median" in out  # the HAN table
    assert "skipped: no CUDA device" in out and "skipped: --speedrun_minutes 0" in out
