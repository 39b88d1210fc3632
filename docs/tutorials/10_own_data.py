"""Tutorial 10: seqkit's tasks with your own data, your own tokenizers and a plain Lightning Trainer.

Three plain ``LightningDataModule`` classes, written here from scratch (tensors in, nothing of seqkit's data
classes), feed a language model (WikiText-2 lines, a BPE tokenizer), a sentiment classifier (SST-2) and an
attentional translator (Multi30k German -> English). Each DataModule describes what the task reads besides its batches
with ``data_info()`` (a :class:`seqkit.data.DataInfo`), so every metric appears: per-word perplexity, accuracy and
F1, BLEU. The run also shows the one-line error a task gives when an item it needs is missing.

    python docs/tutorials/10_own_data.py --out docs/tutorials/generated
"""

from __future__ import annotations

import argparse
import csv
import os
import tempfile
import time
import warnings
from pathlib import Path

import lightning as L
import pyarrow.parquet as pq
import torch
from lightning.pytorch.loggers import CSVLogger
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import DataLoader

from seqkit.data import DataInfo
from seqkit.errors import DataError
from seqkit.models.classifier import ClassifierConfig
from seqkit.models.rnn_lm import RNNLMConfig
from seqkit.models.seq2seq import Seq2SeqConfig
from seqkit.nn import EncoderConfig
from seqkit.tasks import LanguageModel, Seq2SeqTranslator, SequenceClassifier

parser = argparse.ArgumentParser(description="seqkit's tasks trained from plain LightningDataModules.")
parser.add_argument("--out", type=Path, default=Path("docs/tutorials/generated"), help="folder for the figure")
out = parser.parse_args().out
out.mkdir(parents=True, exist_ok=True)
warnings.filterwarnings("ignore", ".*does not have many workers.*")
scratch = tempfile.TemporaryDirectory()

# --8<-- [start:files]
DATA = Path(os.environ.get("SEQKIT_DATA_DIR", "data"))  # your files; here WikiText-2, SST-2 and Multi30k as parquet
SPECIALS = ["<pad>", "<unk>", "<bos>", "<eos>"]  # ids 0-3 in every tokenizer below


def read(file: str, *columns: str, rows: int) -> list[list]:
    """The first ``rows`` values of each column of a parquet file."""
    table = pq.read_table(DATA / file, columns=list(columns)).slice(0, rows)
    return [table.column(name).to_pylist() for name in columns]


def train_tokenizer(texts: list[str], vocab_size: int, bpe: bool = False) -> Tokenizer:
    """A HuggingFace ``tokenizers`` tokenizer of lower-cased words (or BPE pieces) trained on ``texts``."""
    model = models.BPE(unk_token="<unk>") if bpe else models.WordLevel(unk_token="<unk>")
    trainer = (trainers.BpeTrainer if bpe else trainers.WordLevelTrainer)(vocab_size=vocab_size,
                                                                         special_tokens=SPECIALS)
    tokenizer = Tokenizer(model)
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.train_from_iterator(texts, trainer)
    return tokenizer
# --8<-- [end:files]


# --8<-- [start:lm_data]
class TokenStream(L.LightningDataModule):
    """Language-model data: each split's lines as one stream of token ids (``<eos>`` after every line), cut into
    ``(batch_size, bptt)`` chunks of inputs and next-token targets, in order (the model carries its state on)."""

    def __init__(self, tokenizer: Tokenizer, lines: dict[str, list[str]], batch_size: int = 32, bptt: int = 35):
        super().__init__()
        self.batch_size, self.bptt = batch_size, bptt
        eos = tokenizer.token_to_id("<eos>")
        self.streams = {split: torch.tensor([i for encoding in tokenizer.encode_batch(texts)
                                             for i in [*encoding.ids, eos]]) for split, texts in lines.items()}
        # A word is a whitespace-separated word or a line end, as in WikiText's word-level perplexity.
        self.words = {split: sum(len(text.split()) + 1 for text in texts) for split, texts in lines.items()}

    def _chunks(self, split: str) -> DataLoader:
        stream = self.streams[split]
        columns = (len(stream) - 1) // self.batch_size
        inputs = stream[: columns * self.batch_size].view(self.batch_size, columns)
        targets = stream[1 : columns * self.batch_size + 1].view(self.batch_size, columns)
        chunks = [{"input_ids": inputs[:, i : i + self.bptt], "target_ids": targets[:, i : i + self.bptt]}
                  for i in range(0, columns, self.bptt)]
        return DataLoader(chunks, batch_size=None)

    def train_dataloader(self) -> DataLoader:
        return self._chunks("train")

    def val_dataloader(self) -> DataLoader:
        return self._chunks("validation")

    def data_info(self) -> DataInfo:
        # Per-word perplexity is the per-token loss times the tokens per word, exponentiated.
        return DataInfo(bptt=self.bptt, tokens_per_word={split: len(self.streams[split]) / self.words[split]
                                                         for split in self.streams})
# --8<-- [end:lm_data]


# --8<-- [start:classifier_data]
class LabelledSentences(L.LightningDataModule):
    """Classification data: padded token ids, their lengths and the labels."""

    def __init__(self, tokenizer: Tokenizer, splits: dict[str, tuple[list[str], list[int]]], batch_size: int = 64):
        super().__init__()
        self.batch_size = batch_size
        self.rows = {split: list(zip((torch.tensor(e.ids) for e in tokenizer.encode_batch(texts)), labels,
                                     strict=True)) for split, (texts, labels) in splits.items()}

    @staticmethod
    def collate(rows: list[tuple[torch.Tensor, int]]) -> dict[str, torch.Tensor]:
        ids, labels = zip(*rows, strict=True)
        return {"input_ids": pad_sequence(ids, batch_first=True, padding_value=0),
                "input_lengths": torch.tensor([len(row) for row in ids]), "labels": torch.tensor(labels)}

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.rows["train"], self.batch_size, shuffle=True, collate_fn=self.collate)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.rows["validation"], self.batch_size, collate_fn=self.collate)

    def data_info(self) -> DataInfo:
        return DataInfo(label_names=["negative", "positive"])
# --8<-- [end:classifier_data]


# --8<-- [start:translation_data]
class SentencePairs(L.LightningDataModule):
    """Translation data: padded source ids and their lengths, target ids framed by ``<bos>``/``<eos>``, and each
    pair's row number, which BLEU uses to find the pair's reference text."""

    def __init__(self, source: Tokenizer, target: Tokenizer, splits: dict[str, tuple[list[str], list[str]]],
                 batch_size: int = 64):
        super().__init__()
        self.target, self.batch_size = target, batch_size
        self.references = {split: targets for split, (_, targets) in splits.items()}
        bos, eos = target.token_to_id("<bos>"), target.token_to_id("<eos>")
        self.rows = {split: [(torch.tensor(s.ids), torch.tensor([bos, *t.ids, eos]), row) for row, (s, t) in
                             enumerate(zip(source.encode_batch(sources), target.encode_batch(targets), strict=True))]
                     for split, (sources, targets) in splits.items()}

    @staticmethod
    def collate(rows: list[tuple[torch.Tensor, torch.Tensor, int]]) -> dict[str, torch.Tensor]:
        sources, targets, numbers = zip(*rows, strict=True)
        return {"src_ids": pad_sequence(sources, batch_first=True), "tgt_ids": pad_sequence(targets, batch_first=True),
                "src_lengths": torch.tensor([len(s) for s in sources]), "rows": torch.tensor(numbers)}

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.rows["train"], self.batch_size, shuffle=True, collate_fn=self.collate)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.rows["validation"], self.batch_size, collate_fn=self.collate)

    def data_info(self) -> DataInfo:
        # BLEU decodes the outputs with the target tokenizer (HuggingFace's has decode_batch) and scores them
        # against the reference texts, indexed by the batches' "rows".
        return DataInfo(target_tokenizer=self.target, references=self.references)
# --8<-- [end:translation_data]


# --8<-- [start:build]
wiki = {split: [line for line in read(f"wikitext2/{split}.parquet", "text", rows=rows)[0] if line.strip()]
        for split, rows in (("train", 5000), ("validation", 600))}
lm_data = TokenStream(train_tokenizer(wiki["train"], 2000, bpe=True), wiki)

sst = {split: tuple(read(f"sst2/{split}.parquet", "text", "label", rows=rows))
       for split, rows in (("train", 8000), ("validation", 872))}
classifier_data = LabelledSentences(train_tokenizer(sst["train"][0], 5000), sst)

pairs = {split: tuple(read(f"multi30k/{split}.parquet", "de", "en", rows=rows))
         for split, rows in (("train", 8000), ("validation", 200))}
german, english = train_tokenizer(pairs["train"][0], 3000), train_tokenizer(pairs["train"][1], 3000)
pairs = {split: (sources, [text.lower() for text in targets]) for split, (sources, targets) in pairs.items()}
translation_data = SentencePairs(german, english, pairs)

torch.manual_seed(0)
tasks = {
    "language model": (LanguageModel(
        2000, pad_id=0, network=RNNLMConfig(embedding_dim=128, hidden_size=192, num_layers=1, dropout=0.2,
                                            dropout_input=0.1, dropout_hidden=0.0, weight_drop=0.2),
        optimizer=lambda params: torch.optim.Adam(params, lr=3e-3)), lm_data),
    "sentiment classifier": (SequenceClassifier(
        5000, 2, pad_id=0, network=ClassifierConfig(EncoderConfig(embedding_dim=64, hidden_size=64), pooling="max"),
        optimizer=lambda params: torch.optim.Adam(params, lr=3e-3)), classifier_data),
    "translator": (Seq2SeqTranslator(
        3000, 3000, pad_id=0, bos_id=2, eos_id=3, beam_size=1,
        network=Seq2SeqConfig(embedding_dim=64, hidden_size=64, decoder_hidden_size=128, dropout=0.1),
        optimizer=lambda params: torch.optim.Adam(params, lr=3e-3)), translation_data),
}
# --8<-- [end:build]


# --8<-- [start:train]
def train(name: str, task: L.LightningModule, data: L.LightningDataModule, epochs: int = 3) -> dict[str, float]:
    """A plain Lightning Trainer: validation twice an epoch, metrics into a CSV log."""
    trainer = L.Trainer(max_epochs=epochs, val_check_interval=0.5, num_sanity_val_steps=0, gradient_clip_val=0.5,
                        logger=CSVLogger(scratch.name, name=name.replace(" ", "_")), enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, accelerator="cpu")
    trainer.fit(task, datamodule=data)
    return {key: float(value) for key, value in trainer.callback_metrics.items() if key.startswith("val_")}
# --8<-- [end:train]


results, seconds, steps = {}, {}, {}
for name, (task, data) in tasks.items():
    start = time.perf_counter()
    results[name] = train(name, task, data)
    seconds[name], steps[name] = time.perf_counter() - start, task.global_step

# --8<-- [start:missing]
# The same translator with the loaders alone (no DataModule, so no data_info): it stops before the first step.
try:
    L.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
              enable_model_summary=False).fit(tasks["translator"][0], translation_data.train_dataloader(),
                                              translation_data.val_dataloader())
except DataError as error:
    print(f"without data_info(): DataError: {error}\n")
# --8<-- [end:missing]

print(f"{'task':<22} {'steps':>6} {'seconds':>8}  validation metrics after 3 epochs")
for name, metrics in results.items():
    shown = "  ".join(f"{key} {value:.3f}" for key, value in sorted(metrics.items()) if key != "val_loss")
    print(f"{name:<22} {steps[name]:>6} {seconds[name]:>8.1f}  {shown}")
print(f"tokens per word (BPE, WikiText-2 validation): {lm_data.data_info().tokens_per_word['validation']:.3f}")


def curves(name: str) -> dict[str, list[tuple[int, float]]]:
    """Each validation metric of a run, as (step, value) pairs, from its CSV log."""
    [log] = Path(scratch.name, name.replace(" ", "_")).rglob("metrics.csv")
    points: dict[str, list[tuple[int, float]]] = {}
    for row in csv.DictReader(log.open()):
        for key, value in row.items():
            if key.startswith("val_") and value:
                points.setdefault(key, []).append((int(row["step"]), float(value)))
    return points


figure = Figure(figsize=(12, 3.6), layout="constrained")
panels = (("language model", ("val_ppl", "val_word_ppl"), "perplexity"),
          ("sentiment classifier", ("val_acc", "val_f1"), "accuracy / F1"),
          ("translator", ("val_bleu",), "BLEU"))
for axes, (name, keys, label) in zip(figure.subplots(1, 3), panels, strict=True):
    points = curves(name)
    for key in keys:
        if key in points:
            steps, values = zip(*points[key], strict=True)
            axes.plot(steps, values, marker="o", label=key)
    axes.set(title=name, xlabel="training step", ylabel=label, yscale="log" if name == "language model" else "linear")
    axes.legend()
    axes.grid(alpha=0.3)
FigureCanvasAgg(figure).print_png(out / "10_own_data.png")
