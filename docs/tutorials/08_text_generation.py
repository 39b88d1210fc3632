"""Tutorial 8: sampling text from a language model: temperature, top-k and top-p on the same checkpoint.

A small LSTM language model is trained on Yelp reviews, then continues the same prompts under several decoding
settings. For each setting the run measures diversity (distinct-1 and distinct-2: the share of unique words and word
pairs among all generated) and how likely the model itself finds what it wrote (mean negative log-likelihood per
token under the unmodified model), prints samples side by side and draws the trade-off.

    python docs/tutorials/08_text_generation.py --out docs/tutorials/generated
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import lightning as L
import torch
import torch.nn.functional as F
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from seqkit.data import Batching, DataSource, LanguageModelingDataModule, Splits, TokenizerConfig
from seqkit.models.rnn_lm import RNNLMConfig
from seqkit.search import generate
from seqkit.tasks import LanguageModel

parser = argparse.ArgumentParser(description="Temperature, top-k and top-p sampling side by side.")
parser.add_argument("--out", type=Path, default=Path("docs/tutorials/generated"), help="folder for the figures")
out = parser.parse_args().out
out.mkdir(parents=True, exist_ok=True)
warnings.filterwarnings("ignore", ".*does not have many workers.*")

# --8<-- [start:train]
data = LanguageModelingDataModule(
    DataSource(name="yelp_reviews"),
    TokenizerConfig(kind="word", vocab_size=6000, min_frequency=2, lowercase=True),
    bptt=35,
    batching=Batching(batch_size=32, eval_batch_size=32),
    splits=Splits(test=None, max_rows={"train": 3000, "validation": 200}),  # 3,000 of the 8,000 training reviews
)
data.setup("fit")
scratch = tempfile.TemporaryDirectory(prefix="seqkit-tutorial-")  # removed on exit
torch.manual_seed(0)
network = RNNLMConfig(embedding_dim=64, hidden_size=128, num_layers=1, dropout=0.1, dropout_input=0.1,
                      dropout_hidden=0.1, dropout_embedding=0.0, weight_drop=0.0, tie_weights=False)
module = LanguageModel(data.vocab_size, network=network, optimizer=lambda params: torch.optim.Adam(params, lr=3e-3))
trainer = L.Trainer(max_steps=300, gradient_clip_val=0.25, logger=False, enable_checkpointing=False,
                    enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
                    default_root_dir=scratch.name)
start = time.perf_counter()
trainer.fit(module, datamodule=data)
[metrics] = trainer.validate(module, datamodule=data, verbose=False)
print(f"language model: LSTM 128 on 3,000 Yelp reviews, {trainer.global_step} steps in "
      f"{time.perf_counter() - start:.1f} s; validation perplexity {metrics['val_ppl']:.1f}")
# --8<-- [end:train]

# --8<-- [start:sample]
tokenizer, model = data.tokenizer, module.network  # the RNNLanguageModel inside the Lightning module
prompts = ["the food was", "our server", "i would not", "the best thing about this place", "we ordered the",
           "this hotel", "my husband and i", "the pizza"]
settings = {  # name: (temperature, top_k, top_p); temperature 0 is greedy
    "greedy": (0.0, None, None), "T = 0.7": (0.7, None, None), "T = 1.0": (1.0, None, None),
    "T = 1.3": (1.3, None, None), "top-k 10": (1.0, 10, None), "top-p 0.9": (1.0, None, 0.9),
}
SAMPLES, LENGTH = 4, 30  # four continuations of 30 tokens per prompt and setting
prompt_ids = [tokenizer.encode(p) for p in prompts for _ in range(SAMPLES)]


def continuations(temperature: float, top_k: int | None, top_p: float | None) -> torch.Tensor:
    """Generated ids ``(len(prompt_ids), LENGTH)``, all prompts in one batch, reproducibly seeded."""
    steps = generate(model, prompt_ids, LENGTH, temperature, top_k, top_p, seed=0)
    return torch.stack(list(steps), 1)


@torch.no_grad()
def own_nll(generated: torch.Tensor) -> float:
    """Mean negative log-likelihood of the generated tokens under the plain model (no temperature, no cut-off)."""
    total = 0.0
    for prompt, row in zip(prompt_ids, generated):
        ids = torch.tensor(prompt + row.tolist())[None]  # (1, P + LENGTH)
        logits, _ = module(ids[:, :-1])
        nll = F.cross_entropy(logits[0, len(prompt) - 1 :], ids[0, len(prompt) :], reduction="mean")
        total += float(nll)
    return total / len(prompt_ids)


def distinct(generated: torch.Tensor, n: int) -> float:
    """Unique n-grams over all n-grams of all continuations (Li et al. 2016)."""
    grams = [tuple(row[i : i + n]) for row in generated.tolist() for i in range(len(row) - n + 1)]
    return len(set(grams)) / len(grams)


results, texts = {}, {}
for name, (temperature, top_k, top_p) in settings.items():
    generated = continuations(temperature, top_k, top_p)
    results[name] = {"distinct-1": distinct(generated, 1), "distinct-2": distinct(generated, 2),
                     "nll": own_nll(generated)}
    texts[name] = tokenizer.decode_batch(generated.tolist())
# --8<-- [end:sample]

print(f"\n{len(prompts)} prompts x {SAMPLES} samples x {LENGTH} tokens per setting\n"
      f"{'setting':<12}{'distinct-1':>12}{'distinct-2':>12}{'own NLL':>10}{'own ppl':>10}")
for name, row in results.items():
    print(f"{name:<12}{row['distinct-1']:>12.3f}{row['distinct-2']:>12.3f}{row['nll']:>10.2f}"
          f"{torch.tensor(row['nll']).exp():>10.1f}")
for prompt_number in (0, 4):
    print(f"\nprompt: {prompts[prompt_number]!r}, first sample of each setting")
    for name in settings:
        print(f"  {name:<10} ... {texts[name][prompt_number * SAMPLES][:110]}")

figure = Figure(figsize=(6.5, 4.2), layout="constrained")
FigureCanvasAgg(figure)
ax = figure.subplots()
curve = [name for name, (_, top_k, top_p) in settings.items() if top_k is None and top_p is None]
ax.plot([results[n]["nll"] for n in curve], [results[n]["distinct-2"] for n in curve], color="lightgray", zorder=0)
for name, row in results.items():
    ax.scatter(row["nll"], row["distinct-2"], s=30)
    left = name.startswith("top")  # cut-off settings labelled on the left, temperatures on the right
    ax.annotate(name, (row["nll"], row["distinct-2"]), xytext=(-6 if left else 6, 4), textcoords="offset points",
                ha="right" if left else "left", fontsize=9)
ax.set_xlabel("mean NLL of the samples under the model (lower: more predictable)")
ax.set_ylabel("distinct-2 (higher: more varied)")
ax.set_title("Decoding settings on one checkpoint (gray: temperature only)")
ax.margins(0.15)
figure.savefig(out / "08_text_generation.png", dpi=110)
print(f"\nwrote {out / '08_text_generation.png'}")
