"""Tutorial 3: word embeddings vs one-hot vectors on an SST-2 slice.

One-hot vectors are an embedding table frozen to the identity matrix. The same GRU classifier is trained twice,
once reading one-hot vectors and once reading learned 32-dimensional embeddings; the run prints size, speed and
accuracy side by side and the nearest neighbours of a few words in the learned space, and writes two figures.

    python docs/tutorials/03_embeddings.py --out docs/tutorials/generated
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

from seqkit.data import Batching, DataSource, Splits, TextClassificationDataModule, TokenizerConfig
from seqkit.models.classifier import ClassifierConfig
from seqkit.nn import EncoderConfig
from seqkit.tasks import SequenceClassifier

parser = argparse.ArgumentParser(description="Word embeddings vs one-hot vectors on an SST-2 slice.")
parser.add_argument("--out", type=Path, default=Path("docs/tutorials/generated"), help="folder for the figures")
out = parser.parse_args().out
out.mkdir(parents=True, exist_ok=True)
warnings.filterwarnings("ignore", ".*does not have many workers.*")

# --8<-- [start:data]
data = TextClassificationDataModule(
    DataSource(name="sst2"),  # $SEQKIT_DATA_DIR/sst2/, else SetFit/sst2 from the Hub
    TokenizerConfig(kind="word", vocab_size=2000, lowercase=True),
    max_length=40,
    batching=Batching(batch_size=64),
    splits=Splits(test=None, max_rows={"train": 6000}),  # 6,000 of 67,349 training sentences; all 872 validation
)
data.prepare_data()
data.setup("fit")
V = data.vocab_size
word_id = {data.tokenizer.id_to_token(i): i for i in range(V)}
print(f"SST-2 slice: {len(data.raw['train']):,} training and {len(data.raw['validation']):,} validation "
      f"sentences,\na vocabulary of {V:,} words")
# --8<-- [end:data]


# --8<-- [start:models]
def classifier(embedding_dim: int) -> SequenceClassifier:
    """The same GRU classifier every time; only the width of its input vectors changes."""
    torch.manual_seed(0)
    encoder = EncoderConfig(embedding_dim=embedding_dim, hidden_size=64, cell="gru", bidirectional=False, dropout=0.0)
    return SequenceClassifier(V, data.num_classes, pad_id=data.pad_id,
                              network=ClassifierConfig(encoder=encoder, pooling="mean"),
                              optimizer=lambda params: torch.optim.Adam(params, lr=5e-3))


one_hot = classifier(embedding_dim=V)
with torch.no_grad():  # token i becomes the unit vector e_i: a V x V identity table, nothing to learn
    one_hot.network.encoder.embedding.weight.copy_(torch.eye(V))
one_hot.network.encoder.embedding.weight.requires_grad_(False)

models = {"one-hot": one_hot, "embedding 32": classifier(embedding_dim=32)}
# --8<-- [end:models]


# --8<-- [start:train]
def train(model: SequenceClassifier, epochs: int = 3) -> dict[str, float]:
    """Train with a plain Lightning Trainer; returns size, speed and validation accuracy."""
    trainer = L.Trainer(max_epochs=epochs, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, use_distributed_sampler=False, num_sanity_val_steps=0,
                        default_root_dir=scratch)  # where the DataModule saves its tokenizer
    start = time.perf_counter()
    trainer.fit(model, datamodule=data)
    seconds = time.perf_counter() - start
    [metrics] = trainer.validate(model, datamodule=data, verbose=False)
    return {
        "input size": model.network.encoder.embedding.embedding_dim,
        "trainable": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "all": sum(p.numel() for p in model.parameters()),
        "steps/s": trainer.global_step / seconds,
        "seconds": seconds,
        "val acc": metrics["val_acc"],
    }


scratch = tempfile.mkdtemp(prefix="seqkit-tutorial-")
results = {name: train(model) for name, model in models.items()}
print(f"\nGRU 64, mean pooling, 3 epochs of batches of 64 (one thread)\n{'input':<13}" +
      "".join(f"{key:>10}" for key in results["one-hot"]))
for name, row in results.items():
    print(f"{name:<13}{row['input size']:>10,}{row['trainable']:>10,}{row['all']:>10,}{row['steps/s']:>10.1f}"
          f"{row['seconds']:>10.1f}{row['val acc']:>10.3f}")
fewer = results["one-hot"]["trainable"] / results["embedding 32"]["trainable"]
faster = results["embedding 32"]["steps/s"] / results["one-hot"]["steps/s"]
print(f"embeddings: {fewer:.1f}x fewer trainable parameters, {faster:.1f}x the training steps per second")
# --8<-- [end:train]


# --8<-- [start:neighbours]
def nearest(table: torch.Tensor, word: str, k: int = 6, among: int = 1000) -> list[str]:
    """The ``k`` words among the ``among`` most frequent whose vectors in ``table`` ``(V, E)`` have the highest
    cosine similarity with ``word``'s. Rare words are left out: their vectors barely moved from the random start."""
    vectors = F.normalize(table[:among], dim=-1)  # word-level ids are in order of frequency
    scores = vectors @ F.normalize(table[word_id[word]], dim=0)  # (among,)
    scores[word_id[word]] = -2.0  # leave the word itself out
    return [data.tokenizer.id_to_token(int(i)) for i in scores.topk(k).indices]


learned = models["embedding 32"].network.encoder.embedding.weight.detach()
print("\nnearest neighbours by cosine similarity of the learned embeddings")
for word in ["good", "bad", "funny", "boring", "best", "worst"]:
    print(f"  {word:<8} {', '.join(nearest(learned, word))}")
print(f"  one-hot 'good': {', '.join(nearest(one_hot.network.encoder.embedding.weight, 'good', 3))} "
      "(all pairs have similarity 0: an arbitrary order)")
# --8<-- [end:neighbours]

# Figures: the two runs side by side, and the learned embeddings of some words projected on two dimensions.
names = list(results)
figure = Figure(figsize=(11, 3.2), layout="constrained")
FigureCanvasAgg(figure)
for ax, (title, key, fmt) in zip(figure.subplots(1, 3), [("trainable parameters", "trainable", "{:,.0f}"),
                                                         ("training steps per second", "steps/s", "{:.1f}"),
                                                         ("validation accuracy", "val acc", "{:.3f}")]):
    values = [results[name][key] for name in names]
    ax.bar_label(ax.bar(names, values, color=["tab:gray", "tab:blue"]), [fmt.format(v) for v in values])
    ax.set_title(title)
    ax.margins(y=0.2)
figure.savefig(out / "03_embeddings.png", dpi=110)

words = [w for w in ["good", "great", "best", "wonderful", "beautiful", "funny", "fun", "enjoyable", "moving", "bad",
                     "worst", "boring", "dull", "stupid", "mess", "flat", "tedious", "awful", "the", "a", "of",
                     "and", "film", "movie", "story", "characters"] if w in word_id]
vectors = learned[[word_id[w] for w in words]]
vectors = vectors - vectors.mean(0)
xy = vectors @ torch.linalg.svd(vectors, full_matrices=False).Vh[:2].T  # first two principal components
figure = Figure(figsize=(6.5, 5), layout="constrained")
FigureCanvasAgg(figure)
ax = figure.subplots()
ax.scatter(xy[:, 0], xy[:, 1], s=12)
for (x, y), word in zip(xy.tolist(), words):
    ax.annotate(word, (x, y), fontsize=9, xytext=(3, 3), textcoords="offset points")
ax.set_title("Learned 32-d word embeddings, first two principal components")
figure.savefig(out / "03_embeddings_pca.png", dpi=110)
print("\nwrote 03_embeddings.png and 03_embeddings_pca.png")
