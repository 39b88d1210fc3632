"""ONNX export of models that have trained (not only freshly built ones): every task, including weight drop.

A fused RNN that has run a training step keeps that step's (weight-dropped, non-leaf) weights, which a deep copy
refuses; the export must work on exactly such a model. The hierarchical classifier is not exportable and says why
in one line.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from seqkit.export import ExportError, export_onnx
from seqkit.tasks import LanguageModel, SequenceClassifier
from seqkit.tasks.hierarchical import HierarchicalClassifier
from seqkit.tasks.translation import Seq2SeqTranslator

#: A small hierarchical network.
HAN_SMALL = {"encoder": {"embedding_dim": 8, "hidden_size": 8}, "sentence_hidden_size": 8,
             "word_attention_size": 8, "sentence_attention_size": 8}

VOCAB = 40


def _train(module: torch.nn.Module, loss_fn, steps: int = 3) -> None:
    """A few real optimisation steps in training mode (dropout, weight drop and all)."""
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-2)
    module.train()
    for _ in range(steps):
        optimizer.zero_grad()
        loss_fn().backward()
        optimizer.step()


def test_a_trained_language_model_with_weight_drop_exports(tmp_path):
    torch.manual_seed(0)
    module = LanguageModel(VOCAB, network={"embedding_dim": 8, "hidden_size": 12, "num_layers": 2,
                                           "weight_drop": 0.5})
    ids = torch.randint(4, VOCAB, (3, 9))
    _train(module, lambda: F.cross_entropy(module(ids[:, :-1])[0].reshape(-1, VOCAB), ids[:, 1:].reshape(-1)))
    report = export_onnx(module, tmp_path / "lm.onnx")
    assert report.max_abs_diff < 1e-4


def test_a_trained_classifier_exports(tmp_path):
    torch.manual_seed(0)
    module = SequenceClassifier(VOCAB, 3, network={"encoder": {"embedding_dim": 8, "hidden_size": 8},
                                                   "pooling": "attention"})
    ids, lengths, labels = torch.randint(4, VOCAB, (4, 7)), torch.tensor([7, 3, 5, 1]), torch.tensor([0, 1, 2, 1])
    _train(module, lambda: F.cross_entropy(module(ids, lengths), labels))
    assert export_onnx(module, tmp_path / "clf.onnx").max_abs_diff < 1e-4


def test_a_trained_translator_exports(tmp_path):
    torch.manual_seed(0)
    module = Seq2SeqTranslator(VOCAB, VOCAB, network={"embedding_dim": 8, "hidden_size": 8}, beam_size=2)
    src, lengths, tgt = torch.randint(4, VOCAB, (3, 6)), torch.tensor([6, 4, 2]), torch.randint(4, VOCAB, (3, 5))
    _train(module, lambda: F.cross_entropy(module(src, lengths, tgt[:, :-1]).reshape(-1, VOCAB),
                                           tgt[:, 1:].reshape(-1)))
    report = export_onnx(module, tmp_path / "mt.onnx")
    assert report.max_abs_diff < 1e-4 and "decoder_step" in report.extra


def test_the_hierarchical_classifier_says_why_it_does_not_export(tmp_path):
    module = HierarchicalClassifier(VOCAB, 2, network=HAN_SMALL)
    with pytest.raises(ExportError, match="not available for HierarchicalClassifier: .*sentence splitter"):
        export_onnx(module, tmp_path / "han.onnx")
    assert not (tmp_path / "han.onnx").exists()
