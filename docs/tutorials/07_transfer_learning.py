"""Tutorial 7: transfer learning, ULMFiT-style: pretrain a language model on reviews, fine-tune a classifier from it.

A small LSTM language model first learns to predict the next word of Yelp reviews (no labels needed). Its embeddings
and LSTM then become the encoder of an SST-2 sentiment classifier (``SequenceClassifier(pretrained_lm=...)``),
fine-tuned with discriminative learning rates and gradual unfreezing. The same classifier trained from random
weights for the same number of steps is the baseline; the run prints both and draws their validation curves.

    python docs/tutorials/07_transfer_learning.py --out docs/tutorials/generated
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

from seqkit.callbacks import GradualUnfreezing
from seqkit.data import (
    Batching,
    DataSource,
    LanguageModelingDataModule,
    Splits,
    TextClassificationDataModule,
    TokenizerConfig,
)
from seqkit.models.classifier import ClassifierConfig
from seqkit.models.rnn_lm import RNNLMConfig
from seqkit.nn import EncoderConfig
from seqkit.tasks import LanguageModel, SequenceClassifier

parser = argparse.ArgumentParser(description="Language-model pretraining vs training from scratch, Yelp text to SST-2.")
parser.add_argument("--out", type=Path, default=Path("docs/tutorials/generated"), help="folder for the figures")
out = parser.parse_args().out
out.mkdir(parents=True, exist_ok=True)
warnings.filterwarnings("ignore", ".*does not have many workers.*")
workdir = tempfile.TemporaryDirectory(prefix="seqkit-tutorial-")  # removed on exit
scratch = Path(workdir.name)
quiet = {"logger": False, "enable_checkpointing": False, "enable_progress_bar": False, "enable_model_summary": False,
         "num_sanity_val_steps": 0}

# --8<-- [start:pretrain]
# Stage 1: a language model on the text of 3,000 Yelp reviews (their star ratings are not used).
lm_data = LanguageModelingDataModule(
    DataSource(name="yelp_reviews"),
    TokenizerConfig(kind="word", vocab_size=8000, min_frequency=2, lowercase=True),
    bptt=35,
    batching=Batching(batch_size=32, eval_batch_size=32),
    splits=Splits(test=None, max_rows={"train": 3000, "validation": 200}),
)
lm_data.setup("fit")
torch.manual_seed(0)
network = RNNLMConfig(embedding_dim=64, hidden_size=128, num_layers=1, dropout=0.1, dropout_input=0.1,
                      dropout_hidden=0.1, dropout_embedding=0.0, weight_drop=0.0, tie_weights=False)
lm = LanguageModel(lm_data.vocab_size, network=network, optimizer=lambda params: torch.optim.Adam(params, lr=3e-3))
trainer = L.Trainer(max_steps=300, gradient_clip_val=0.25, default_root_dir=scratch, **quiet)
start = time.perf_counter()
trainer.fit(lm, datamodule=lm_data)
[lm_metrics] = trainer.validate(lm, datamodule=lm_data, verbose=False)
print(f"language model: LSTM 128, {trainer.global_step} steps of 32 x 35 tokens in {time.perf_counter() - start:.1f} s;"
      f" validation perplexity {lm_metrics['val_ppl']:.1f} (vocabulary {lm_data.vocab_size:,})")
# A run folder as seqkit writes it: the checkpoint and the tokenizer the classifier must share.
run = scratch / "lm"
trainer.save_checkpoint(run / "checkpoints" / "last.ckpt")
lm_data.tokenizer.save(run / "tokenizer")
# --8<-- [end:pretrain]

# --8<-- [start:data]
# Stage 2: sentiment of movie-review sentences (SST-2, positive or negative) from only 1,000 labelled examples.
data = TextClassificationDataModule(
    DataSource(name="sst2"),
    TokenizerConfig(path=str(run / "tokenizer")),  # the language model's vocabulary: same ids, same words
    label_names=["negative", "positive"], max_length=50,
    batching=Batching(batch_size=32),
    splits=Splits(test=None, max_rows={"train": 1000}),  # 1,000 of 67,349 training sentences; all 872 validation
)
data.setup("fit")
# --8<-- [end:data]


# --8<-- [start:classifiers]
def classifier(**options) -> SequenceClassifier:
    torch.manual_seed(0)
    return SequenceClassifier(data.vocab_size, data.num_classes,
                              pad_id=data.pad_id,  # the architecture comes from the LM, all but dropout
                              network=ClassifierConfig(encoder=EncoderConfig(dropout=0.2), pooling="concat"),
                              optimizer=lambda params: torch.optim.AdamW(params, lr=3e-3, weight_decay=0.01),
                              **options)


checkpoint = str(run / "checkpoints" / "last.ckpt")
# ULMFiT: the language model's encoder, lower layers at 1/2.6 the learning rate of the layer above, and the layers
# unfrozen one at a time from the top (Howard and Ruder 2018).
ulmfit = classifier(pretrained_lm=checkpoint, layer_lr_decay=2.6)
# The same pretrained start, fine-tuned plainly: one learning rate for all, nothing frozen.
plain = classifier(pretrained_lm=checkpoint)
# From scratch: exactly the same architecture, random weights, one learning rate for all.
from_scratch = classifier(lm_architecture=ulmfit.hparams.lm_architecture)
# --8<-- [end:classifiers]


# --8<-- [start:train]
class Curve(L.Callback):
    """Validation accuracy after every validation run, with the step it was measured at."""

    def __init__(self) -> None:
        self.points: list[tuple[int, float]] = []

    def on_validation_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.points.append((trainer.global_step, float(trainer.callback_metrics["val_acc"])))


def fine_tune(model: SequenceClassifier, callbacks: list[L.Callback], steps: int = 160) -> list[tuple[int, float]]:
    curve = Curve()
    trainer = L.Trainer(max_steps=steps, val_check_interval=20, check_val_every_n_epoch=None,
                        gradient_clip_val=0.25, callbacks=[curve, *callbacks], default_root_dir=scratch, **quiet)
    torch.manual_seed(1)  # the same batch order and dropout draws for every model
    start = time.perf_counter()
    trainer.fit(model, datamodule=data)
    print(f"  {trainer.global_step} steps in {time.perf_counter() - start:.1f} s")
    return curve.points


print("\nfine-tuning from the language model, ULMFiT-style")
curves = {"LM + ULMFiT schedule": fine_tune(ulmfit, [GradualUnfreezing(every=20, interval="step")])}
print("fine-tuning from the language model, plainly")
curves["LM + plain fine-tuning"] = fine_tune(plain, [])
print("training from scratch")
curves["from scratch"] = fine_tune(from_scratch, [])
print(f"\nSST-2 validation accuracy (872 sentences, half positive) every 20 steps:\n{'step':<26}"
      + "".join(f"{step:>6}" for step, _ in curves["from scratch"]))
for name, points in curves.items():
    print(f"{name:<26}" + "".join(f"{acc:>6.3f}" for _, acc in points))
print("best: " + ", ".join(f"{name} {max(acc for _, acc in points):.3f}" for name, points in curves.items()))
# --8<-- [end:train]

figure = Figure(figsize=(6.5, 4), layout="constrained")
FigureCanvasAgg(figure)
ax = figure.subplots()
for name, points in curves.items():
    ax.plot(*zip(*points), marker="o", label=name)
ax.set_xlabel("training step (batches of 32 labelled sentences)")
ax.set_ylabel("validation accuracy")
ax.set_title("SST-2 from 1,000 labelled sentences, after a Yelp language model")
ax.legend()
figure.savefig(out / "07_transfer_learning.png", dpi=110)
print(f"\nwrote {out / '07_transfer_learning.png'}")
