"""Every task stands alone: built from its own arguments, trained for a few steps by a plain Lightning Trainer from a
user's LightningDataModule of tensors (no seqkit data class), with its data items given by ``attach_data``."""

from __future__ import annotations

from collections.abc import Callable

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader

import seqkit.tasks
from seqkit.data import DataInfo
from seqkit.data.features import AudioFeatures
from seqkit.models.echo_state import ReservoirConfig
from seqkit.nn import EncoderConfig
from seqkit.tasks import (
    CharCNNLanguageModel,
    CNNRNNClassifier,
    CTCSpeechRecognizer,
    EchoStateClassifier,
    EchoStateLM,
    Forecaster,
    HierarchicalClassifier,
    HistoryCompressorLM,
    LanguageModel,
    Seq2SeqTranslator,
    SequenceClassifier,
    SpeechClassifier,
    TreeClassifier,
)

V, C, B, T = 20, 3, 4, 6  # vocabulary, classes, batch rows, time steps
FEATURES = AudioFeatures().num_features

# ----------------------------------------------------------------------------- one construction per task


def language_model() -> LanguageModel:
    return LanguageModel(V, 0, embedding_dim=8, hidden_size=8, num_layers=1, weight_drop=0.0)


def char_cnn_language_model() -> CharCNNLanguageModel:
    return CharCNNLanguageModel(V, 0, char_dim=4, filters={1: 4, 2: 4}, max_word_length=8, hidden_size=8, num_layers=1)


def echo_state_lm() -> EchoStateLM:
    return EchoStateLM(V, reservoir=ReservoirConfig(embedding_dim=8, reservoir_size=16))


def history_compressor_lm() -> HistoryCompressorLM:
    return HistoryCompressorLM(V, lower_size=8, higher_size=8)


def sequence_classifier() -> SequenceClassifier:
    return SequenceClassifier(V, C, 0, encoder=EncoderConfig(embedding_dim=8, hidden_size=8))


def cnn_rnn_classifier() -> CNNRNNClassifier:
    return CNNRNNClassifier(V, C, 0, embedding_dim=8, channels=4, widths=[3], hidden_size=8)


def echo_state_classifier() -> EchoStateClassifier:
    return EchoStateClassifier(V, C, 0, reservoir=ReservoirConfig(embedding_dim=8, reservoir_size=16))


def tree_classifier() -> TreeClassifier:
    return TreeClassifier(V, C, 0, embedding_dim=8, hidden_size=8)


def hierarchical_classifier() -> HierarchicalClassifier:
    return HierarchicalClassifier(V, C, 0, encoder=EncoderConfig(embedding_dim=8, hidden_size=8),
                                  sentence_hidden_size=8, word_attention_size=8, sentence_attention_size=8)


def translator() -> Seq2SeqTranslator:
    return Seq2SeqTranslator(V, V, 0, 2, 3, embedding_dim=8, hidden_size=8, beam_size=2)


def forecaster() -> Forecaster:
    return Forecaster(2, 2, lookback=T, horizon=2, hidden_size=8, num_layers=1)


def speech_classifier() -> SpeechClassifier:
    return SpeechClassifier(FEATURES, C, network={"hidden_size": 8, "num_layers": 1})


def ctc_recognizer() -> CTCSpeechRecognizer:
    return CTCSpeechRecognizer(FEATURES, C, network={"hidden_size": 8, "num_layers": 1})


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
            "roots": torch.tensor([4, 5]), "node_labels": torch.randint(0, C, (6,)), "labels": torch.randint(0, C, (2,))}


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

#: task factory, batch maker, data items, a metric validation must log
CASES = {
    "LanguageModel": (language_model, stream_batch, STREAM_INFO, "val_word_ppl"),
    "CharCNNLanguageModel": (char_cnn_language_model, stream_batch, STREAM_INFO, "val_word_ppl"),
    "EchoStateLM": (echo_state_lm, stream_batch, None, "val_ppl"),
    "HistoryCompressorLM": (history_compressor_lm, stream_batch, None, "val_bpc"),
    "SequenceClassifier": (sequence_classifier, text_batch, None, "val_acc"),
    "CNNRNNClassifier": (cnn_rnn_classifier, text_batch, None, "val_acc"),
    "EchoStateClassifier": (echo_state_classifier, text_batch, None, "val_acc"),
    "TreeClassifier": (tree_classifier, tree_batch, None, "val_acc"),
    "HierarchicalClassifier": (hierarchical_classifier, document_batch, None, "val_acc"),
    "Seq2SeqTranslator": (translator, pair_batch, DataInfo(target_tokenizer=WORDS, references=REFERENCES),
                          "val_bleu"),
    "Forecaster": (forecaster, window_batch, None, "val_mse"),
    "SpeechClassifier": (speech_classifier, audio_batch, None, "val_acc"),
    "CTCSpeechRecognizer": (ctc_recognizer, spoken_batch, None, "val_wer"),
}


def test_every_task_has_a_case() -> None:
    assert sorted(CASES) == sorted(seqkit.tasks.__all__)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_task_trains_from_a_users_datamodule(name: str, tmp_path) -> None:
    make_task, make_batch, info, metric = CASES[name]
    task = make_task()
    if info is not None:
        task.attach_data(info)
    trainer = L.Trainer(max_steps=2, limit_val_batches=1, limit_test_batches=1, accelerator="cpu", logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                        num_sanity_val_steps=0, val_check_interval=2, default_root_dir=tmp_path)
    data = UserData(make_batch)
    trainer.fit(task, datamodule=data)
    metrics = trainer.validate(task, datamodule=data, verbose=False)[0]
    assert metric in metrics and torch.isfinite(torch.tensor(metrics[metric])), (name, sorted(metrics))
