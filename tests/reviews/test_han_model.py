"""HierarchicalClassifier with two-level batches: padding invariance and attention weights."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyarrow as pa
import pytest
import torch

from seqkit.data.hierarchical import HierarchicalCollator
from seqkit.tasks.hierarchical import INPUTS, HierarchicalClassifier

PAD = 0


def documents(seed: int = 0, count: int = 6) -> list[list[list[int]]]:
    """Documents of 1-5 sentences of 1-9 token ids each (ids 4..49)."""
    rng = np.random.default_rng(seed)
    return [[rng.integers(4, 50, size=rng.integers(1, 10)).tolist() for _ in range(rng.integers(1, 6))]
            for _ in range(count)]


def table(docs: list[list[list[int]]], labels: list[int] | None = None) -> pa.Table:
    """Documents as HierarchicalDataModule stores them: flat ids and sentence lengths."""
    columns = {
        "input_ids": [[i for sentence in doc for i in sentence] for doc in docs],
        "sentence_lengths": [[len(sentence) for sentence in doc] for doc in docs],
    }
    columns["label"] = labels if labels is not None else [0] * len(docs)
    return pa.table(columns)


@pytest.fixture(params=["gru", "lstm"])
def model(request) -> HierarchicalClassifier:
    torch.manual_seed(0)
    return HierarchicalClassifier(50, 3, PAD, {"encoder": {"embedding_dim": 8, "hidden_size": 6, "cell": request.param},
                                              "sentence_hidden_size": 5, "word_attention_size": 7,
                                              "sentence_attention_size": 4}).eval()


def test_collator_packs_every_sentence_once_and_regroups_them():
    docs = documents()
    batch = HierarchicalCollator(PAD)(table(docs))
    ids, lengths, index, mask = (batch[k] for k in INPUTS)
    assert ids.shape == (sum(map(len, docs)), max(len(s) for d in docs for s in d))
    assert (lengths[:-1] >= lengths[1:]).all()  # longest first
    assert mask.sum(1).tolist() == [len(d) for d in docs] == batch["document_lengths"].tolist()
    assert (index[~mask] == len(ids)).all()
    for b, doc in enumerate(docs):
        for s, sentence in enumerate(doc):
            row = int(index[b, s])
            assert ids[row, : lengths[row]].tolist() == sentence and (ids[row, lengths[row] :] == PAD).all()


def test_a_batch_gives_the_same_outputs_as_each_document_alone(model):
    docs = documents(1, count=8)
    collate = HierarchicalCollator(PAD)
    together = model.attention_weights(collate(table(docs)))
    for b, doc in enumerate(docs):
        alone = model.attention_weights(collate(table([doc])))
        torch.testing.assert_close(together["probabilities"][b], alone["probabilities"][0], atol=1e-5, rtol=1e-4)
        s = len(doc)
        torch.testing.assert_close(together["sentence_weights"][b, :s], alone["sentence_weights"][0, :s])
        w = alone["word_weights"].shape[2]
        torch.testing.assert_close(together["word_weights"][b, :s, :w], alone["word_weights"][0, :s, :w])


def test_attention_sums_to_one_over_real_positions_and_is_exactly_zero_on_padding(model):
    docs = documents(2, count=7)
    batch = HierarchicalCollator(PAD)(table(docs))
    out = model.attention_weights(batch)
    mask = batch["document_mask"]
    sentence_w, word_w = out["sentence_weights"], out["word_weights"]
    torch.testing.assert_close(sentence_w.sum(1), torch.ones(len(docs)))
    assert (sentence_w[~mask] == 0).all()
    word_mask = torch.zeros_like(word_w, dtype=torch.bool)
    for b, doc in enumerate(docs):
        for s, sentence in enumerate(doc):
            word_mask[b, s, : len(sentence)] = True
    torch.testing.assert_close(word_w.sum(2)[mask], torch.ones(int(mask.sum())))
    assert (word_w[~word_mask] == 0).all()


def test_forward_is_tensor_only_and_trains(model):
    batch = HierarchicalCollator(PAD)(table(documents(3), labels=[0, 1, 2, 0, 1, 2]))
    model.train()
    logits = model(*(batch[name] for name in INPUTS))
    assert logits.shape == (6, 3)
    torch.nn.functional.cross_entropy(logits, batch["labels"]).backward()
    assert model.network.encoder.embedding.weight.grad is not None
    assert model.network.sentence_encoder.weight_hh_l0.grad.abs().sum() > 0


def test_empty_documents_do_not_break_the_batch(model):
    batch = HierarchicalCollator(PAD)(table([[], [[5, 6]], []]))
    out = model.attention_weights(batch)
    assert torch.isfinite(out["probabilities"]).all()
    assert out["sentence_weights"][0].sum() == 0 and out["sentence_weights"][1].sum() == pytest.approx(1.0)
    only_empty = model.attention_weights(HierarchicalCollator(PAD)(table([[]])))
    assert torch.isfinite(only_empty["probabilities"]).all()


def test_word_buckets_change_speed_not_results(model):
    batch = HierarchicalCollator(PAD)(table(documents(4, count=9)))
    expected = model.attention_weights(batch)
    for buckets in (1, 3, 50):
        model.network.config = replace(model.network.config, word_buckets=buckets)
        got = model.attention_weights(batch)
        for key, value in expected.items():
            torch.testing.assert_close(got[key], value)
