"""ONNX export: onnxruntime reproduces PyTorch for classifiers and language models, on shapes not traced."""

from __future__ import annotations

import json

import numpy as np
import onnxruntime as ort
import pytest
import torch

from seqkit.cli import main
from seqkit.export import export_classifier, export_language_model
from seqkit.models.classifier import ClassifierConfig
from seqkit.nn import EncoderConfig
from seqkit.tasks import LanguageModel, SequenceClassifier


@pytest.mark.parametrize(("cell", "pooling", "bidirectional"), [
    ("lstm", "attention", True), ("gru", "last", True), ("rnn", "max", False), ("lstm", "concat", True),
])
def test_classifier_export_matches_pytorch(tmp_path, cell, pooling, bidirectional):
    torch.manual_seed(0)
    module = SequenceClassifier(60, 3, network=ClassifierConfig(pooling=pooling, encoder=EncoderConfig(
        embedding_dim=8, hidden_size=8, num_layers=2, cell=cell, bidirectional=bidirectional))).eval()
    report = export_classifier(module, tmp_path / "model.onnx")
    assert report.max_abs_diff < 1e-5
    ids = torch.randint(4, 60, (6, 15))
    lengths = torch.tensor([15, 1, 7, 15, 3, 0])  # an empty text too
    session = ort.InferenceSession(str(tmp_path / "model.onnx"))
    (logits,) = session.run(None, {"input_ids": ids.numpy(), "input_lengths": lengths.numpy()})
    with torch.no_grad():
        expected = module(ids, lengths).numpy()
    np.testing.assert_allclose(logits, expected, atol=1e-5)


def test_language_model_export_carries_state_like_pytorch(tmp_path):
    torch.manual_seed(0)
    network = {"embedding_dim": 8, "hidden_size": 12, "num_layers": 2, "weight_drop": 0.3}
    module = LanguageModel(60, network=network).eval()
    report = export_language_model(module, tmp_path / "lm.onnx")
    assert report.inputs == ["input_ids", "h_l0", "c_l0", "h_l1", "c_l1"] and report.max_abs_diff < 1e-5
    session = ort.InferenceSession(str(tmp_path / "lm.onnx"))
    ids = torch.randint(4, 60, (3, 10))
    with torch.no_grad():
        logits, state = module(ids[:, :6])
        logits2, _ = module(ids[:, 6:], state)
    feed = {"input_ids": ids[:, :6].numpy(), **{name: np.zeros((1, 3, size), np.float32) for name, size in
                                                 [("h_l0", 12), ("c_l0", 12), ("h_l1", 8), ("c_l1", 8)]}}
    first = session.run(None, feed)
    np.testing.assert_allclose(first[0], logits.numpy(), atol=1e-5)
    second = session.run(None, {"input_ids": ids[:, 6:].numpy(),
                                **dict(zip(["h_l0", "c_l0", "h_l1", "c_l1"], first[1:], strict=True))})
    np.testing.assert_allclose(second[0], logits2.numpy(), atol=1e-5)


def test_export_command_on_a_run(classifier_run, tmp_path, capsys):
    out = tmp_path / "sst2.onnx"
    assert main(["export", "onnx", str(out), "--checkpoint", str(classifier_run)]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out.is_file() and report["max_abs_diff"] < 1e-4 and report["outputs"] == ["logits"]


def test_translator_exports_its_encoder_and_decoder_step(tmp_path):
    from seqkit.export import export_translator
    from seqkit.tasks.translation import Seq2SeqTranslator

    torch.manual_seed(0)
    network = {"embedding_dim": 8, "hidden_size": 8, "cell": "lstm", "encoder_layers": 2}
    module = Seq2SeqTranslator(40, 40, network=network).eval()
    report = export_translator(module, tmp_path / "mt.onnx")
    assert report.max_abs_diff < 1e-5
    encoder = ort.InferenceSession(str(tmp_path / "mt.onnx"))
    step = ort.InferenceSession(report.extra["decoder_step"]["onnx"])
    src, lengths = torch.randint(4, 40, (2, 9)), torch.tensor([9, 4])
    memory, keys, mask, hidden, feed = encoder.run(None, {"src_ids": src.numpy(), "src_lengths": lengths.numpy()})
    tokens = np.full((2,), module.hparams.bos_id, dtype=np.int64)
    with torch.no_grad():
        state = module.encode(src, lengths)
        expected, *_ = module.decode_step(torch.from_numpy(tokens), state[3], state[4], *state[:3])
    log_probs, *_ = step.run(None, {"prev_tokens": tokens, "hidden": hidden, "feed": feed, "memory": memory,
                                    "keys": keys, "mask": mask})
    np.testing.assert_allclose(log_probs, expected.numpy(), atol=1e-5)
