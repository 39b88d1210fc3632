"""``examples/lm_minimal.py``: seqkit's language model trained by a plain PyTorch loop, without Lightning."""

from __future__ import annotations

import math
import random
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "lm_minimal.py"


def _write_corpus(folder: Path) -> int:
    """Generated WikiText-like lines (a small grammar, so a model can learn it); returns the vocabulary size."""
    rng = random.Random(0)
    subjects, verbs, objects = ["the cat", "a dog", "the bird"], ["sees", "likes", "chases"], ["the ball", "a tree"]
    words = {w for phrase in subjects + verbs + objects for w in phrase.split()} | {".", "<eos>"}
    for split, rows in (("train", 600), ("validation", 60), ("test", 60)):
        lines = [" " if index % 7 == 0 else f" {rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)} . "
                 for index in range(rows)]
        pd.DataFrame({"text": lines}).to_parquet(folder / f"{split}.parquet")
    return len(words)


def test_the_minimal_loop_learns_a_small_grammar(tmp_path):
    vocab_size = _write_corpus(tmp_path)
    result = subprocess.run([sys.executable, str(EXAMPLE), "--data_dir", str(tmp_path), "--epochs", "3",
                             "--hidden_size", "32", "--lr", "5", "--batch_size", "8", "--bptt", "10"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"vocabulary {vocab_size:,}" in result.stdout
    test_ppl = float(re.search(r"test ppl ([\d.]+)", result.stdout).group(1))
    # Uniform guessing is ppl = vocabulary size; the grammar allows ~3 choices at most per position.
    assert math.isfinite(test_ppl) and test_ppl < 4.0, result.stdout
