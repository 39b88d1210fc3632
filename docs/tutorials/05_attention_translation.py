"""Tutorial 5: attention for translation, Bahdanau (additive) vs Luong (general) scores on a Multi30k slice.

Two small attentional GRU encoder-decoders, identical except for how a decoder state scores the source words, are
trained for the same steps on German->English sentence pairs. The run prints validation BLEU of both, greedy and beam
outputs of a few sentences, and draws the attention of each model on one sentence.

    python docs/tutorials/05_attention_translation.py --out docs/tutorials/generated
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

from seqkit.data import Batching, DataSource, Splits, TokenizerConfig, TranslationDataModule
from seqkit.inference.translate import iter_translate
from seqkit.models.seq2seq import Seq2SeqConfig
from seqkit.tasks import Seq2SeqTranslator

parser = argparse.ArgumentParser(description="Bahdanau vs Luong attention on a Multi30k slice.")
parser.add_argument("--out", type=Path, default=Path("docs/tutorials/generated"), help="folder for the figures")
out = parser.parse_args().out
out.mkdir(parents=True, exist_ok=True)
warnings.filterwarnings("ignore", ".*does not have many workers.*")

# --8<-- [start:data]
data = TranslationDataModule(
    DataSource(name="multi30k"),  # $SEQKIT_DATA_DIR/multi30k/
    source_lang="de",
    target_lang="en",
    tokenizer=TokenizerConfig(kind="word", vocab_size=3000, lowercase=True),  # one joint word vocabulary
    max_length=20,
    batching=Batching(batch_size=64),
    splits=Splits(test=None, max_rows={"train": 8000, "validation": 200}),  # of 29,000 and 1,014 pairs
)
data.prepare_data()
data.setup("fit")
print(f"Multi30k de->en slice: {len(data.raw['train']):,} training and {len(data.raw['validation']):,} validation "
      f"pairs, a joint vocabulary of {data.vocab_size:,} words")
# --8<-- [end:data]


# --8<-- [start:models]
def translator(attention: str) -> Seq2SeqTranslator:
    """The same small encoder-decoder every time; only the attention score changes."""
    torch.manual_seed(0)
    return Seq2SeqTranslator(
        data.src_vocab_size, data.tgt_vocab_size, pad_id=data.pad_id,
        network=Seq2SeqConfig(embedding_dim=64, hidden_size=64, decoder_hidden_size=128, cell="gru",
                              attention=attention, dropout=0.1),
        label_smoothing=0.1, beam_size=4, optimizer=lambda params: torch.optim.Adam(params, lr=3e-3),
    )


# "bahdanau": v^T tanh(W_q h_t + W_k s_j), a small MLP;  "general" (Luong): h_t^T W s_j, one bilinear product.
models = {"Bahdanau (additive)": translator("bahdanau"), "Luong (general)": translator("general")}
# --8<-- [end:models]


# --8<-- [start:train]
def train(model: Seq2SeqTranslator, epochs: int = 2) -> dict[str, float]:
    """Train with a plain Lightning Trainer; validation BLEU uses greedy search on the 200 validation pairs."""
    trainer = L.Trainer(max_epochs=epochs, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, num_sanity_val_steps=0, gradient_clip_val=1.0,
                        default_root_dir=scratch.name)
    start = time.perf_counter()
    trainer.fit(model, datamodule=data)
    seconds = time.perf_counter() - start
    [metrics] = trainer.validate(model, datamodule=data, verbose=False)
    return {"steps": trainer.global_step, "seconds": seconds, "val_ppl": metrics["val_ppl"],
            "val_bleu": metrics["val_bleu"]}


scratch = tempfile.TemporaryDirectory(prefix="seqkit-tutorial-")  # removed on exit
results = {name: train(model) for name, model in models.items()}
print(f"\nGRU 64x2 encoder, GRU 128 decoder, 2 epochs of batches of 64 (one thread)\n"
      f"{'attention':<22}{'steps':>8}{'seconds':>10}{'val ppl':>10}{'val BLEU':>10}")
for name, row in results.items():
    print(f"{name:<22}{row['steps']:>8}{row['seconds']:>10.1f}{row['val_ppl']:>10.1f}{row['val_bleu']:>10.2f}")
# --8<-- [end:train]

# --8<-- [start:search]
validation = data.raw["validation"]
sentences = validation["de"][:4]
references = validation["en"][:4]
outputs = {}
for name, model in models.items():
    greedy = list(iter_translate(model, data.src_tokenizer, data.tgt_tokenizer, sentences, beam=1,
                                 return_attention=True))
    beam = list(iter_translate(model, data.src_tokenizer, data.tgt_tokenizer, sentences, beam=4))
    outputs[name] = greedy
    print(f"\n{name}")
    for source, reference, g, b in zip(sentences, references, greedy, beam):
        print(f"  source    {source}\n  reference {reference}\n  greedy    {g.text}  ({g.score:.2f})\n"
              f"  beam 4    {b.text}  ({b.score:.2f})")
# --8<-- [end:search]

# The attention of both models on the first validation sentence, one row per generated target token.
figure = Figure(figsize=(11, 4.8), layout="constrained")
FigureCanvasAgg(figure)
for ax, (name, translations) in zip(figure.subplots(1, 2), outputs.items()):
    record = translations[0]
    weights = record.attention.float().numpy()  # (target tokens, source tokens)
    ax.imshow(weights, cmap="Greys", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(record.source_pieces)), record.source_pieces, rotation=60, ha="right", fontsize=9)
    ax.set_yticks(range(len(record.target_pieces)), record.target_pieces, fontsize=9)
    ax.set_title(name)
    diagonal = weights.max(1).mean()
    print(f"\n{name}: mean of each target token's largest attention weight on sentence 1: {diagonal:.2f}")
figure.savefig(out / "05_attention_translation.png", dpi=110)
print(f"\nwrote {out / '05_attention_translation.png'}")
