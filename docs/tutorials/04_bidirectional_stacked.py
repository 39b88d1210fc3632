"""Tutorial 4: bidirectional and stacked recurrent encoders for sentiment, measured on an SST-2 slice.

Four encoders that differ only in direction (one or both) and depth (one or two layers) are trained the same way;
the run prints their size, training time and validation accuracy (overall, by sentence length, and on sentences
with a negation), and draws two figures.

    python docs/tutorials/04_bidirectional_stacked.py --out docs/tutorials/generated
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import lightning as L
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from seqkit.data import Batching, DataSource, Splits, TextClassificationDataModule, TokenizerConfig
from seqkit.models.classifier import ClassifierConfig
from seqkit.nn import EncoderConfig
from seqkit.tasks import SequenceClassifier

parser = argparse.ArgumentParser(description="Bidirectional and stacked encoders on an SST-2 slice.")
parser.add_argument("--out", type=Path, default=Path("docs/tutorials/generated"), help="folder for the figures")
out = parser.parse_args().out
out.mkdir(parents=True, exist_ok=True)
warnings.filterwarnings("ignore", ".*does not have many workers.*")

# --8<-- [start:data]
data = TextClassificationDataModule(
    DataSource(name="sst2"),  # $SEQKIT_DATA_DIR/sst2/, else SetFit/sst2 from the Hub
    TokenizerConfig(kind="word", vocab_size=4000, lowercase=True),
    max_length=50,
    # bucketing off: validation batches in file order, so predictions line up with the sentences
    batching=Batching(batch_size=64, bucketing=False),
    splits=Splits(test=None, max_rows={"train": 4000}),  # 4,000 of 67,349 training sentences; all 872 validation
)
data.prepare_data()
data.setup("fit")
# --8<-- [end:data]

# --8<-- [start:models]
SETTINGS = {  # name: (bidirectional, num_layers)
    "1 layer, forward": (False, 1),
    "1 layer, bidirectional": (True, 1),
    "2 layers, forward": (False, 2),
    "2 layers, bidirectional": (True, 2),
}


def encoder_classifier(bidirectional: bool, num_layers: int) -> SequenceClassifier:
    """A 32-unit LSTM classifier that reads the final state (``pooling="last"``): forward only, its summary of
    the sentence is the state after the last word; bidirectional, the backward state after the first word is
    concatenated to it."""
    torch.manual_seed(0)
    encoder = EncoderConfig(embedding_dim=32, hidden_size=32, num_layers=num_layers, bidirectional=bidirectional,
                            cell="lstm", dropout=0.1)
    return SequenceClassifier(data.vocab_size, data.num_classes, pad_id=data.pad_id,
                              network=ClassifierConfig(encoder=encoder, pooling="last"),
                              optimizer=lambda p: torch.optim.Adam(p, lr=5e-3))
# --8<-- [end:models]


# --8<-- [start:train]
def train(model: SequenceClassifier, epochs: int = 2) -> float:
    """Train with a plain Lightning Trainer; returns the training time in seconds."""
    trainer = L.Trainer(max_epochs=epochs, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, use_distributed_sampler=False, num_sanity_val_steps=0,
                        limit_val_batches=0, default_root_dir=scratch)
    start = time.perf_counter()
    trainer.fit(model, datamodule=data)
    return time.perf_counter() - start


@torch.no_grad()
def predict(model: SequenceClassifier) -> torch.Tensor:
    """Predicted classes ``(N,)`` of the validation sentences, in order."""
    model.eval()
    return torch.cat([model(b["input_ids"], b["input_lengths"]).argmax(-1) for b in data.val_dataloader()])


scratch = tempfile.mkdtemp(prefix="seqkit-tutorial-")
validation = data.raw["validation"]
labels = torch.tensor(validation["label"])
lengths = torch.tensor([len(ids) for ids in data.tokenizer.encode_batch(validation["text"])])
negated = torch.tensor([any(w in s.split() for w in ("not", "n't", "no", "never")) for s in validation["text"]])
groups = {"short (< 15 tokens)": lengths < 15, "medium (15-24)": (lengths >= 15) & (lengths < 25),
          "long (25+)": lengths >= 25, "negation": negated}

results = {}
for name, (bidirectional, num_layers) in SETTINGS.items():
    model = encoder_classifier(bidirectional, num_layers)
    seconds = train(model)
    correct = (predict(model) == labels).float()
    results[name] = {"parameters": sum(p.numel() for p in model.parameters()), "seconds": seconds,
                     "accuracy": correct.mean().item(),
                     **{group: correct[mask].mean().item() for group, mask in groups.items()}}
# --8<-- [end:train]

print(f"SST-2 slice: {len(data.raw['train']):,} training sentences, vocabulary {data.vocab_size:,}; "
      f"{len(validation):,} validation sentences,\n{', '.join(f'{g}: {int(m.sum())}' for g, m in groups.items())}")
print("LSTM 32 per direction, embeddings 32, last-state pooling, 2 epochs of batches of 64, one thread\n")
half_width = 1.96 * (0.7 * 0.3 / len(validation)) ** 0.5  # binomial standard error
print(f"(on {len(validation)} sentences an accuracy near 0.7 is known to about +-{half_width:.3f}, 95% interval)")
print(f"{'encoder':<24}{'params':>9}{'train s':>8}{'val acc':>8}" + "".join(f"{g.split(' (')[0]:>9}" for g in groups))
for name, row in results.items():
    print(f"{name:<24}{row['parameters']:>9,}{row['seconds']:>8.1f}{row['accuracy']:>8.3f}"
          + "".join(f"{row[g]:>9.3f}" for g in groups))
base = results["1 layer, forward"]
print("\nagainst one forward layer:")
for name in list(SETTINGS)[1:]:
    row = results[name]
    print(f"  {name}: accuracy {row['accuracy'] - base['accuracy']:+.3f}, {row['seconds'] / base['seconds']:.1f}x "
          f"the time, {row['parameters'] / base['parameters']:.2f}x the parameters")

names = list(results)
colors = ["tab:gray", "tab:blue", "tab:olive", "tab:purple"]
figure = Figure(figsize=(10, 3.4), layout="constrained")
FigureCanvasAgg(figure)
for ax, (title, key, fmt) in zip(figure.subplots(1, 3), [("parameters", "parameters", "{:,.0f}"),
                                                         ("training time (s)", "seconds", "{:.1f}"),
                                                         ("validation accuracy", "accuracy", "{:.3f}")]):
    values = [results[name][key] for name in names]
    ax.bar_label(ax.barh(names, values, color=colors), [fmt.format(v) for v in values], padding=2)
    ax.set_title(title)
    ax.invert_yaxis()
    ax.margins(x=0.3)
    if ax.get_subplotspec().colspan.start > 0:
        ax.set_yticklabels([])
figure.savefig(out / "04_bidirectional_stacked.png", dpi=110)

figure = Figure(figsize=(9, 3.6), layout="constrained")
FigureCanvasAgg(figure)
ax = figure.subplots()
width = 0.8 / len(names)
for index, (name, color) in enumerate(zip(names, colors)):
    xs = [g + (index - 1.5) * width for g in range(len(groups))]
    ax.bar(xs, [results[name][g] for g in groups], width, label=name, color=color)
ax.set_xticks(range(len(groups)), [f"{g}\n{int(m.sum())} sentences" for g, m in groups.items()])
ax.set_ylim(0.5, 1.0)
ax.set_ylabel("validation accuracy")
ax.legend(fontsize="small", ncols=2, loc="upper right")
ax.set_title("Accuracy by sentence length and on sentences with a negation")
figure.savefig(out / "04_bidirectional_stacked_groups.png", dpi=110)
print("\nwrote 04_bidirectional_stacked.png and 04_bidirectional_stacked_groups.png")
