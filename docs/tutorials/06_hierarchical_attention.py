"""Tutorial 6: a hierarchical attention network (HAN) on Yelp reviews, its word and sentence attention drawn.

A tiny HAN (Yang et al. 2016) reads a review as sentences of words: a word-level BiGRU with attention turns every
sentence into a vector, a sentence-level BiGRU with attention turns the sentences into a review vector. It is trained
on a slice of Yelp reviews (1-5 stars); the run prints its validation accuracy, then explains real validation reviews
(which sentences and words the two attentions weighted) and draws them with seqkit's explain rendering.

    python docs/tutorials/06_hierarchical_attention.py --out docs/tutorials/generated
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import lightning as L
import torch

from seqkit.data import Batching, DataSource, HierarchicalDataModule, SentenceSplitter, Splits, TokenizerConfig
from seqkit.inference.explain import explain_texts, render_png
from seqkit.models.hierarchical import HierarchicalConfig
from seqkit.nn import EncoderConfig
from seqkit.tasks import HierarchicalClassifier

parser = argparse.ArgumentParser(description="A tiny hierarchical attention network on Yelp reviews.")
parser.add_argument("--out", type=Path, default=Path("docs/tutorials/generated"), help="folder for the figures")
out = parser.parse_args().out
out.mkdir(parents=True, exist_ok=True)
warnings.filterwarnings("ignore", ".*does not have many workers.*")

# --8<-- [start:data]
data = HierarchicalDataModule(
    DataSource(name="yelp_reviews"),  # $SEQKIT_DATA_DIR/yelp_reviews/: text, label = stars - 1
    TokenizerConfig(kind="word", vocab_size=8000, min_frequency=2, lowercase=True),
    splitter=SentenceSplitter(max_sentences=12, max_words=30, truncation="head+tail"),
    max_words=30,
    num_classes=5,
    label_names=["1 star", "2 stars", "3 stars", "4 stars", "5 stars"],
    batching=Batching(batch_size=32),
    splits=Splits(test=None, max_rows={"train": 4000, "validation": 500}),  # of 8,000 and 1,000 reviews
)
data.prepare_data()
data.setup("fit")
print(f"Yelp slice: {len(data.raw['train']):,} training and {len(data.raw['validation']):,} validation reviews, "
      f"a vocabulary of {data.vocab_size:,} words; at most 12 sentences of 30 words per review")
# --8<-- [end:data]

# --8<-- [start:model]
scratch = tempfile.TemporaryDirectory(prefix="seqkit-tutorial-")  # removed on exit
torch.manual_seed(0)
model = HierarchicalClassifier(
    data.vocab_size, data.num_classes, pad_id=data.pad_id,
    network=HierarchicalConfig(
        encoder=EncoderConfig(embedding_dim=64, hidden_size=32, cell="gru", bidirectional=True, dropout=0.2),
        sentence_hidden_size=32, word_attention_size=32, sentence_attention_size=32,
    ),
    label_names=data.label_names, optimizer=lambda params: torch.optim.AdamW(params, lr=4e-3, weight_decay=0.01),
)
trainer = L.Trainer(max_epochs=3, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                    enable_model_summary=False, num_sanity_val_steps=0, gradient_clip_val=1.0,
                    default_root_dir=scratch.name)
start = time.perf_counter()
trainer.fit(model, datamodule=data)
seconds = time.perf_counter() - start
[metrics] = trainer.validate(model, datamodule=data, verbose=False)
parameters = sum(p.numel() for p in model.parameters())
labels = data.raw["validation"]["label"]
majority = max(labels.count(c) for c in range(5)) / len(labels)
print(f"\nHAN (BiGRU 32 + attention 32 at both levels), {parameters:,} parameters, 3 epochs, {trainer.global_step} "
      f"steps in {seconds:.1f} s (one thread)\nvalidation accuracy {metrics['val_acc']:.3f} (5 classes; always "
      f"predicting the most common class: {majority:.3f})")
# --8<-- [end:model]

# --8<-- [start:explain]
validation = data.raw["validation"]
# Real validation reviews of 3 to 8 lines of print, short enough for a readable picture.
short = [i for i, text in enumerate(validation["text"]) if 200 < len(text) < 500]
explained = dict(zip(short, explain_texts(model, data.tokenizer, [validation["text"][i] for i in short],
                                          data.splitter, data.max_words)))
right = sum(explained[i].label == validation["label"][i] for i in short)
print(f"\n{len(short)} short validation reviews explained, {right} predicted right")
# Shown: the 1-star and the 5-star review the model is most sure of, and right about: what it learned when it works.
# (If it got none of a class right, the review of that class it gives the highest probability to that class.)
chosen = [max((i for i in short if validation["label"][i] == stars),
              key=lambda i: (explained[i].label == stars, explained[i].probabilities[stars])) for stars in (0, 4)]
for number, row in enumerate(chosen, start=1):
    explanation = explained[row]
    stars = data.label_names[validation["label"][row]]
    print(f"\nvalidation review {row} ({stars}), predicted {explanation.label_name} "
          f"(p = {max(explanation.probabilities):.2f})")
    for words, weight, word_weights in zip(explanation.sentences, explanation.sentence_weights,
                                           explanation.word_weights):
        top = sorted(zip(word_weights, words), reverse=True)[:3]
        print(f"  {weight:5.2f}  {' '.join(words)[:70]:<70}  top words: {', '.join(w for _, w in top)}")
    render_png(explanation, out / f"06_hierarchical_attention_{number}.png")
# --8<-- [end:explain]
print(f"\nwrote {out / '06_hierarchical_attention_1.png'} and {out / '06_hierarchical_attention_2.png'}")
