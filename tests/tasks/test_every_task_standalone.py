"""Every task stands alone: built from its config alone (a recipe's ``model:`` section), trained for a few steps by
a plain Lightning Trainer from a user's LightningDataModule of tensors (no seqkit data class), with its data items
given by ``attach_data``."""

from __future__ import annotations

import textwrap
from collections.abc import Callable

import lightning as L
import pytest
import torch
import yaml
from jsonargparse import ArgumentParser
from torch.utils.data import DataLoader

import seqkit.tasks
from seqkit.data import DataInfo
from seqkit.data.features import AudioFeatures

V, C, B, T = 20, 3, 4, 6  # vocabulary, classes, batch rows, time steps
FEATURES = AudioFeatures().num_features

# ----------------------------------------------------------------------------- each task's config, as in a recipe
#: The ``model:`` section a recipe would hold for each task: nothing else builds the task.
CONFIGS = {
    "LanguageModel": f"""
        class_path: seqkit.tasks.LanguageModel
        init_args:
          vocab_size: {V}
          pad_id: 0
          network: {{embedding_dim: 8, hidden_size: 8, num_layers: 1, weight_drop: 0.0}}""",
    "CharCNNLanguageModel": f"""
        class_path: seqkit.tasks.CharCNNLanguageModel
        init_args:
          vocab_size: {V}
          pad_id: 0
          network: {{char_dim: 4, filters: {{1: 4, 2: 4}}, max_word_length: 8, hidden_size: 8, num_layers: 1}}""",
    "EchoStateLM": f"""
        class_path: seqkit.tasks.EchoStateLM
        init_args:
          vocab_size: {V}
          network: {{reservoir: {{embedding_dim: 8, reservoir_size: 16, density: 0.25}}}}""",
    "HistoryCompressorLM": f"""
        class_path: seqkit.tasks.HistoryCompressorLM
        init_args:
          vocab_size: {V}
          network: {{lower_size: 8, higher_size: 8}}""",
    "SequenceClassifier": f"""
        class_path: seqkit.tasks.SequenceClassifier
        init_args:
          vocab_size: {V}
          num_classes: {C}
          network: {{encoder: {{embedding_dim: 8, hidden_size: 8}}, pooling: attention, attention_size: 8}}""",
    "CNNRNNClassifier": f"""
        class_path: seqkit.tasks.CNNRNNClassifier
        init_args:
          vocab_size: {V}
          num_classes: {C}
          network: {{embedding_dim: 8, channels: 4, widths: [3], hidden_size: 8}}""",
    "EchoStateClassifier": f"""
        class_path: seqkit.tasks.EchoStateClassifier
        init_args:
          vocab_size: {V}
          num_classes: {C}
          network: {{reservoir: {{embedding_dim: 8, reservoir_size: 16}}}}""",
    "TreeClassifier": f"""
        class_path: seqkit.tasks.TreeClassifier
        init_args:
          vocab_size: {V}
          num_classes: {C}
          network: {{embedding_dim: 8, hidden_size: 8}}""",
    "HierarchicalClassifier": f"""
        class_path: seqkit.tasks.HierarchicalClassifier
        init_args:
          vocab_size: {V}
          num_classes: {C}
          network:
            encoder: {{embedding_dim: 8, hidden_size: 8}}
            sentence_hidden_size: 8
            word_attention_size: 8
            sentence_attention_size: 8""",
    "Seq2SeqTranslator": f"""
        class_path: seqkit.tasks.Seq2SeqTranslator
        init_args:
          src_vocab_size: {V}
          tgt_vocab_size: {V}
          bos_id: 2
          eos_id: 3
          beam_size: 2
          network: {{embedding_dim: 8, hidden_size: 8}}""",
    "Forecaster": f"""
        class_path: seqkit.tasks.Forecaster
        init_args:
          num_inputs: 2
          num_targets: 2
          lookback: {T}
          horizon: 2
          network: {{hidden_size: 8, num_layers: 1}}""",
    "SpeechClassifier": f"""
        class_path: seqkit.tasks.SpeechClassifier
        init_args:
          num_features: {FEATURES}
          num_classes: {C}
          network: {{hidden_size: 8, num_layers: 1}}""",
    "CTCSpeechRecognizer": f"""
        class_path: seqkit.tasks.CTCSpeechRecognizer
        init_args:
          num_features: {FEATURES}
          num_classes: {C}
          network: {{hidden_size: 8, num_layers: 1}}""",
}


def task_from_config(config: str) -> L.LightningModule:
    """Build a task from its YAML config the way ``seqkit fit`` does (jsonargparse, typed by the task's signature)."""
    parser = ArgumentParser(exit_on_error=False)
    parser.add_subclass_arguments(L.LightningModule, "model")
    parsed = parser.parse_object({"model": yaml.safe_load(textwrap.dedent(config))})
    return parser.instantiate(parsed).model


# ----------------------------------------------------------------------------- a user's tensors


class Words:
    """A user's vocabulary: ids 0-3 are <pad>, <unk>, <bos>, <eos>; the others spell "w4", "w5"..."""

    bos_id, eos_id = 2, 3

    def id_to_token(self, i: int) -> str:
        return ["<pad>", "<unk>", "<bos>", "<eos>"][i] if i < 4 else f"w{i}"

    def decode_batch(self, batch: list[list[int]]) -> list[str]:
        return [" ".join(self.id_to_token(i) for i in ids if i >= 4) for ids in batch]


def ids(*shape: int) -> torch.Tensor:
    return torch.randint(4, V, shape)


def stream_batch() -> dict:
    tokens = ids(B, T + 1)
    return {"input_ids": tokens[:, :-1], "target_ids": tokens[:, 1:]}


def text_batch() -> dict:
    return {"input_ids": ids(B, T), "input_lengths": torch.full((B,), T), "labels": torch.randint(0, C, (B,))}


def tree_batch() -> dict:
    # Two trees of two leaves each: leaves 0-3, then their parents 4 and 5 (one level up).
    return {"input_ids": ids(4), "children": torch.tensor([[0, 1], [2, 3]]), "level_sizes": torch.tensor([4, 2]),
            "roots": torch.tensor([4, 5]), "node_labels": torch.randint(0, C, (6,)),
            "labels": torch.randint(0, C, (2,))}


def document_batch() -> dict:
    # Two documents of two sentences each; rows of sentence_ids in document order.
    return {"sentence_ids": ids(4, T), "sentence_lengths": torch.full((4,), T),
            "document_index": torch.tensor([[0, 1], [2, 3]]), "document_mask": torch.ones(2, 2, dtype=torch.bool),
            "labels": torch.randint(0, C, (2,))}


def pair_batch() -> dict:
    tgt = torch.cat([torch.full((B, 1), 2), ids(B, T), torch.full((B, 1), 3)], dim=1)
    return {"src_ids": ids(B, T), "src_lengths": torch.full((B,), T), "tgt_ids": tgt, "rows": torch.arange(B)}


def window_batch() -> dict:
    return {"x": torch.randn(B, T, 2), "y": torch.randn(B, 2, 2), "start": torch.arange(B)}


def audio_batch() -> dict:
    return {"features": torch.randn(B, 12, FEATURES), "feature_lengths": torch.full((B,), 12),
            "labels": torch.randint(0, C, (B,))}


def spoken_batch() -> dict:
    return {"features": torch.randn(B, 12, FEATURES), "feature_lengths": torch.full((B,), 12),
            "targets": torch.randint(0, C, (B, 2)), "target_lengths": torch.full((B,), 2)}


class UserData(L.LightningDataModule):
    """A user's DataModule: a few batches of plain tensors, the same for every split."""

    def __init__(self, make_batch: Callable[[], dict]) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.batches = [make_batch() for _ in range(2)]

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.batches, batch_size=None)

    val_dataloader = test_dataloader = train_dataloader


WORDS = Words()
STREAM_INFO = DataInfo(tokenizer=WORDS, tokens_per_word={"validation": 1.25, "test": 1.25})
REFERENCES = {split: [f"w{4 + i} w5" for i in range(B)] for split in ("validation", "test")}

#: batch maker, data items, a metric validation must log
CASES = {
    "LanguageModel": (stream_batch, STREAM_INFO, "val_word_ppl"),
    "CharCNNLanguageModel": (stream_batch, STREAM_INFO, "val_word_ppl"),
    "EchoStateLM": (stream_batch, None, "val_ppl"),
    "HistoryCompressorLM": (stream_batch, None, "val_bpc"),
    "SequenceClassifier": (text_batch, None, "val_acc"),
    "CNNRNNClassifier": (text_batch, None, "val_acc"),
    "EchoStateClassifier": (text_batch, None, "val_acc"),
    "TreeClassifier": (tree_batch, None, "val_acc"),
    "HierarchicalClassifier": (document_batch, None, "val_acc"),
    "Seq2SeqTranslator": (pair_batch, DataInfo(target_tokenizer=WORDS, references=REFERENCES), "val_bleu"),
    "Forecaster": (window_batch, None, "val_mse"),
    "SpeechClassifier": (audio_batch, None, "val_acc"),
    "CTCSpeechRecognizer": (spoken_batch, None, "val_wer"),
}


def test_every_task_has_a_config_and_a_case() -> None:
    assert sorted(CONFIGS) == sorted(CASES) == sorted(seqkit.tasks.__all__)


@pytest.mark.parametrize("name", sorted(CASES))
def test_task_trains_from_a_users_datamodule(name: str, tmp_path) -> None:
    make_batch, info, metric = CASES[name]
    task = task_from_config(CONFIGS[name])
    assert type(task).__name__ == name
    if info is not None:
        task.attach_data(info)
    # One epoch of the two batches (the echo-state tasks solve their readout without optimizer steps).
    trainer = L.Trainer(max_epochs=1, limit_val_batches=1, limit_test_batches=1, accelerator="cpu", logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                        num_sanity_val_steps=0, default_root_dir=tmp_path)
    data = UserData(make_batch)
    trainer.fit(task, datamodule=data)
    metrics = trainer.validate(task, datamodule=data, verbose=False)[0]
    assert metric in metrics and torch.isfinite(torch.tensor(metrics[metric])), (name, sorted(metrics))
