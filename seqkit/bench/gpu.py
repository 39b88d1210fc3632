"""The GPU check: one command that measures, on the device at hand, what seqkit's GPU speed claims rest on."""

from __future__ import annotations

import tempfile

import torch
from jsonargparse.typing import NonNegativeFloat, PositiveInt

from seqkit.bench import layers, reviews, translate
from seqkit.bench.timing import recipe_batches, timed_fit


def bench(*, lm_recipes: list[str] | None = None, steps: PositiveInt = 30, warmup: PositiveInt = 5,
          sentences: PositiveInt = 500, documents: PositiveInt = 512, scan_lengths: str = "35,400,2000",
          speedrun_minutes: NonNegativeFloat = 5.0) -> int:
    """The GPU check (sized for under 8 minutes on one H100): LM training tokens/s in fp32 and bf16, batched against
    one-at-a-time beam search, the HAN's two-level batching against a loop over documents, minGRU/minLSTM against
    cuDNN's LSTM, and WikiText-2 validation perplexity after a few minutes of the speedrun recipe.

    Without a CUDA device every part that can runs on the CPU, and the cuDNN comparison is skipped, saying so.

    Args:
        lm_recipes: LM recipes to time (default: lm/wikitext2, the 650-unit LSTM, and lm/wikitext2_awd)
        steps: timed training steps per LM recipe and precision
        warmup: untimed steps before them
        sentences: sentences translated in each beam-search mode
        documents: documents in each HAN mode
        scan_lengths: sequence lengths of the minGRU/minLSTM against LSTM table
        speedrun_minutes: training minutes of `seqkit speedrun lm` (0 skips it)
    """
    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    if cuda:
        print(f"seqkit bench gpu: {torch.cuda.get_device_name()}, torch {torch.__version__}, CUDA {torch.version.cuda}")
    else:
        print(f"seqkit bench gpu: no CUDA device; the parts that can run on the CPU do, the cuDNN comparison is "
              f"skipped (torch {torch.__version__})")

    _section(1, "LM training tokens/s, fp32 and bf16 autocast")
    with tempfile.TemporaryDirectory() as tmp:
        for recipe in lm_recipes or ["lm/wikitext2", "lm/wikitext2_awd"]:
            cli, batches = recipe_batches(recipe, warmup + steps, tmp, overrides=["--trainer.accelerator", device])
            tokens = sum(batch["input_ids"].numel() for batch in batches[warmup:])
            rates = {}
            for precision in ("32-true", "bf16-mixed"):
                wall, _ = timed_fit(cli.model, batches, cli.trainer, warmup, tmp, precision=precision)
                rates[precision] = tokens / wall
            print(f"  {recipe:<22} fp32 {rates['32-true']:>10,.0f} tok/s   bf16 {rates['bf16-mixed']:>10,.0f} tok/s   "
                  f"bf16/fp32 {rates['bf16-mixed'] / rates['32-true']:.2f}x")

    _section(2, "beam search: batched against one sentence at a time (target: at least 5x)")
    translate.bench(sentences=sentences, device=device)

    _section(3, "hierarchical attention: two-level batching against a loop over documents")
    reviews.bench(documents=documents, rounds=1, device=device)

    _section(4, "minGRU / minLSTM (parallel scan) against cuDNN's LSTM")
    if cuda:
        layers.bench(scan=scan_lengths, repeats=5, device="cuda")
    else:
        print("  skipped: no CUDA device (the CPU table is `seqkit bench layers --scan 35,70,400,2000`)")

    _section(5, f"WikiText-2 validation perplexity after {speedrun_minutes:g} minutes of recipes/lm/speedrun.yaml")
    if speedrun_minutes > 0:
        from seqkit.commands.speedrun import speedrun

        speedrun("lm", minutes=speedrun_minutes)
    else:
        print("  skipped: --speedrun_minutes 0")
    return 0


def _section(number: int, title: str) -> None:
    print(f"\n[{number}/5] {title}", flush=True)
