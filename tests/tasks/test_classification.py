"""Sequence classification: pooling modes, padding invariance, the confusion matrix of a tiny trained run."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from seqkit.cli import main
from seqkit.inference import load
from seqkit.models.classifier import ClassifierConfig
from seqkit.nn import EncoderConfig
from seqkit.tasks import SequenceClassifier
from tests.helpers import REPO

TINY = str(REPO / "recipes" / "sentiment" / "sst2_tiny.yaml")
POOLINGS = ["last", "mean", "max", "attention", "concat"]
PAD = 0


def _classifier(pooling: str, cell: str = "lstm", bidirectional: bool = True) -> SequenceClassifier:
    torch.manual_seed(0)
    encoder = EncoderConfig(embedding_dim=12, hidden_size=10, num_layers=2, cell=cell, bidirectional=bidirectional,
                            dropout=0.3)
    return SequenceClassifier(vocab_size=40, num_classes=3, pad_id=PAD,
                              network=ClassifierConfig(encoder=encoder, pooling=pooling, attention_size=8))


def _padded(rows: list[list[int]], extra: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ids ``(B, max_len + extra)`` and lengths ``(B,)``."""
    width = max(map(len, rows)) + extra
    ids = torch.full((len(rows), width), PAD)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row)
    return ids, torch.tensor([len(r) for r in rows])


@pytest.mark.parametrize("pooling", POOLINGS)
def test_each_pooling_gives_logits_and_learns(pooling):
    model = _classifier(pooling)
    ids, lengths = _padded([[5, 6, 7, 8], [9, 10], [11, 12, 13]])
    labels = torch.tensor([0, 1, 2])
    assert model(ids, lengths).shape == (3, 3)
    assert (model.network.attention is not None) == (pooling == "attention")
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    model.train()
    first = F.cross_entropy(model(ids, lengths), labels).item()
    for _ in range(30):
        optimizer.zero_grad()
        F.cross_entropy(model(ids, lengths), labels).backward()
        optimizer.step()
    model.eval()
    assert F.cross_entropy(model(ids, lengths), labels).item() < first / 2


@pytest.mark.parametrize("pooling", POOLINGS)
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_a_text_alone_and_in_a_padded_batch_gets_the_same_probabilities(pooling, cell):
    model = _classifier(pooling, cell).eval()
    generator = torch.Generator().manual_seed(1)
    rows = [torch.randint(4, 40, (n,), generator=generator).tolist() for n in (7, 2, 13, 1, 9)]
    with torch.no_grad():
        batch = model(*_padded(rows, extra=5)).softmax(-1)  # extra columns: padding even for the longest
        for i, row in enumerate(rows):
            alone = model(*_padded([row])).softmax(-1)
            torch.testing.assert_close(batch[i : i + 1], alone, rtol=1e-5, atol=1e-6)


def test_max_pooling_of_an_empty_text_is_finite():
    model = _classifier("max").eval()
    ids, _ = _padded([[5, 6], [7]])
    assert torch.isfinite(model(ids, torch.tensor([2, 0]))).all()


def test_attention_pooling_ignores_padding():
    model = _classifier("attention").eval()
    ids, lengths = _padded([[5, 6, 7], [8]], extra=2)
    outputs, _ = model.network.encoder(ids, lengths)
    mask = torch.arange(ids.shape[1]) < lengths[:, None]
    _, weights = model.network.attention(outputs, mask)
    assert torch.all(weights[~mask] == 0)
    torch.testing.assert_close(weights.sum(1), torch.ones(2))


@pytest.fixture(scope="module")
def tiny_run(data_root, tmp_path_factory) -> Path:
    """A tiny SST-2 classifier trained a few steps and tested (shared by the tests that need a real run)."""
    run = tmp_path_factory.mktemp("classifier") / "run"
    code = main([
        "fit", "--config", TINY, "--run_dir", str(run), "--test_after_fit", "true",
        "--data.init_args.splits.max_rows", "{train: 300, validation: 64, test: 100}",
        "--trainer.limit_train_batches", "5", "--trainer.max_epochs", "1", "--trainer.num_sanity_val_steps", "0",
        "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
    ])
    assert code == 0
    return run


def test_testing_writes_the_confusion_matrix(tiny_run):
    with (tiny_run / "confusion_matrix.csv").open() as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    assert header[0] == "true/predicted" and len(header) == 3 and len(body) == 2
    assert sum(int(v) for row in body for v in row[1:]) == 100  # every test example counted once
    metrics = (tiny_run / "metrics.csv").read_text().splitlines()[0].split(",")
    assert "test_acc" in metrics and not any("confusion" in name for name in metrics)


REVIEWS = ["a gripping , beautifully acted film", "dull", "", "the plot is thin but the cast is wonderful and " * 8,
           "not good", "one of the worst movies of the year"]


def test_classify_texts_matches_one_by_one_and_keeps_input_order(tiny_run):
    predictor = load(tiny_run, task=SequenceClassifier)
    assert predictor.truncation() == {"max_length": 48, "truncation": "head"}
    together = predictor.classify(REVIEWS, batch_size=4)
    alone = [predictor.classify(text, batch_size=1) for text in REVIEWS]
    assert len(together) == len(REVIEWS)
    for a, b in zip(together, alone, strict=True):
        assert a["label"] == b["label"] and a.get("label_name") == b.get("label_name")
        if a.get("blank"):  # the empty review: no label, alone or in a batch
            assert a == b and a["label"] is None
            continue
        assert a["probabilities"] == pytest.approx(b["probabilities"], abs=1e-5)
        assert sum(a["probabilities"]) == pytest.approx(1, abs=1e-4)


def test_classify_command_on_arguments(tiny_run, capsys):
    assert main(["classify", "--checkpoint", str(tiny_run), "great fun", "boring"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["text"] for r in records] == ["great fun", "boring"]
    assert all(r["label"] in (0, 1) and len(r["probabilities"]) == 2 for r in records)


def test_classify_command_on_a_jsonl_file_in_small_batches(tiny_run, tmp_path, monkeypatch):
    import seqkit.inference.classify

    monkeypatch.setattr(seqkit.inference.classify, "CHUNK_BATCHES", 2)  # several chunks: order must survive the sorting
    texts = REVIEWS * 5
    source = tmp_path / "reviews.jsonl"
    source.write_text("".join(json.dumps({"id": i, "review": t}) + "\n" for i, t in enumerate(texts)))
    output = tmp_path / "out.jsonl"
    code = main(["classify", "--checkpoint", str(tiny_run / "checkpoints" / "last.ckpt"), "--input", str(source),
                 "--text_field", "review", "--output", str(output), "--batch_size", "3"])
    assert code == 0
    records = [json.loads(line) for line in output.read_text().splitlines()]
    assert [r["text"] for r in records] == texts
    expected = load(tiny_run / "checkpoints" / "last.ckpt").classify(texts)
    for got, want in zip(records, expected, strict=True):
        assert got["probabilities"] == pytest.approx(want["probabilities"], abs=1e-5)


def test_classify_command_on_a_txt_file_and_bad_input(tiny_run, tmp_path, capsys):
    source = tmp_path / "reviews.txt"
    source.write_text("fine\n\nawful\n")
    assert main(["classify", "--checkpoint", str(tiny_run), "--input", str(source), "--no_text"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["line"] for r in records] == [1, 3] and "text" not in records[0]  # the blank line is skipped

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine"}\n{"body": "no text"}\n')
    assert main(["classify", "--checkpoint", str(tiny_run), "--input", str(bad)]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"seqkit: error: Line 2 of {bad} has no text field 'text'; choose the field with --text_field."
    )
    assert main(["classify", "--checkpoint", str(tiny_run), "--input", str(tmp_path / "missing.txt")]) == 2
