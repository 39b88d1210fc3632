"""Classifier from a pretrained language model: weights loaded, tokenizer checked, discriminative rates, unfreezing."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from seqkit.callbacks import GradualUnfreezing
from seqkit.cli import main
from seqkit.data.tokenizers import TokenizerConfig, train_tokenizer
from seqkit.errors import CheckpointError
from seqkit.inference import load
from seqkit.tasks import SequenceClassifier
from tests.helpers import REPO

LM_TINY = str(REPO / "recipes" / "lm" / "tiny.yaml")
CLASSIFIER_TINY = str(REPO / "recipes" / "sentiment" / "sst2_tiny.yaml")
QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
         "--trainer.num_sanity_val_steps", "0"]


@pytest.fixture(scope="module")
def lm_run(data_root, tmp_path_factory) -> Path:
    """A tiny LSTM language model trained a few steps on SST-2 text, with the tiny classifier's tokenizer."""
    run = tmp_path_factory.mktemp("lm") / "run"
    code = main([
        "fit", "--config", LM_TINY, "--run_dir", str(run), *QUIET,
        "--data.init_args.source.name", "sst2",
        "--data.init_args.tokenizer.split_punctuation", "true", "--data.init_args.tokenizer.lowercase", "true",
        "--data.init_args.tokenizer.vocab_size", "5000",
        "--data.init_args.splits.max_rows", "{train: 2000, validation: 100, test: 100}",
        "--trainer.max_steps", "5", "--trainer.limit_val_batches", "2",
    ])
    assert code == 0
    return run


def _lm_weights(run: Path) -> dict[str, torch.Tensor]:
    state = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)["state_dict"]
    prefixes = ("network.embedding.", "network.layers.")
    return {k.removeprefix("network."): v for k, v in state.items() if k.startswith(prefixes)}


def test_classifier_loads_exactly_the_language_models_encoder(lm_run):
    from seqkit.data.tokenizers import load_tokenizer

    tokenizer = load_tokenizer(lm_run / "tokenizer")
    model = SequenceClassifier(vocab_size=tokenizer.vocab_size, num_classes=2, pretrained_lm=str(lm_run),
                               network={"pooling": "concat"})
    assert model.hparams.lm_architecture["num_layers"] == 2 and model.hparams.lm_architecture["embedding_dim"] == 64
    loaded = model.load_language_model(str(lm_run), tokenizer)
    expected = _lm_weights(lm_run)
    assert sorted(loaded) == sorted(expected)  # embedding and both layers (with weight drop's parametrization)
    own = model.network.encoder.lm.state_dict()
    for name, value in expected.items():
        assert torch.equal(own[name], value), name
    assert model.network.encoder.lm.decoder is None  # the next-token layer is not carried along
    model.eval()
    logits = model(torch.tensor([[5, 6, 7], [8, 9, 0]]), torch.tensor([3, 2]))
    assert logits.shape == (2, 2) and model.network.head[1].in_features == 3 * 64  # concat: last, max, mean


def test_a_different_tokenizer_is_refused_with_a_clear_message(lm_run):
    from seqkit.data.tokenizers import load_tokenizer

    lm_vocab = load_tokenizer(lm_run / "tokenizer").vocab_size
    with pytest.raises(CheckpointError, match="different tokenizer.*tokenizer.path"):
        SequenceClassifier(vocab_size=lm_vocab + 7, num_classes=2, pretrained_lm=str(lm_run))

    # Same number of ids, other tokens: caught when the weights are loaded, before anything is copied.
    words = [f"w{i}" for i in range(lm_vocab)]
    other = train_tokenizer(TokenizerConfig(kind="word", vocab_size=lm_vocab), [[" ".join(words)]])
    assert other.vocab_size == lm_vocab
    model = SequenceClassifier(vocab_size=lm_vocab, num_classes=2, pretrained_lm=str(lm_run))
    before = model.network.encoder.lm.embedding.weight.clone()
    with pytest.raises(CheckpointError, match="different tokenizer"):
        model.load_language_model(str(lm_run), other)
    assert torch.equal(model.network.encoder.lm.embedding.weight, before) and model.loaded_lm_weights is None


def test_not_a_language_model_checkpoint(tmp_path):
    run = tmp_path / "run" / "checkpoints"
    run.mkdir(parents=True)
    torch.save({"state_dict": {"encoder.rnn.weight": torch.zeros(1)}, "hyper_parameters": {}}, run / "best.ckpt")
    with pytest.raises(CheckpointError, match="not a seqkit LanguageModel checkpoint"):
        SequenceClassifier(vocab_size=10, num_classes=2, pretrained_lm=str(tmp_path / "run"))


def test_fine_tuning_with_gradual_unfreezing_keeps_frozen_layers_and_saves_a_standalone_checkpoint(lm_run, tmp_path):
    run = tmp_path / "classifier"
    code = main([
        "fit", "--config", CLASSIFIER_TINY, "--run_dir", str(run), *QUIET,
        "--data.init_args.tokenizer.path", str(lm_run / "tokenizer"),
        "--data.init_args.splits.max_rows", "{train: 200, validation: 64, test: 64}",
        "--model.init_args.pretrained_lm", str(lm_run), "--model.init_args.layer_lr_decay", "2.6",
        "--trainer.callbacks+=seqkit.callbacks.GradualUnfreezing", "--trainer.callbacks.every", "100",
        "--trainer.callbacks.interval", "step", "--trainer.max_steps", "3", "--trainer.limit_val_batches", "1",
    ])
    assert code == 0
    saved = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert saved["hyper_parameters"]["lm_architecture"]["vocab_size"] == saved["hyper_parameters"]["vocab_size"]
    # Only the head trained in these 3 steps (the next group unfreezes at step 100): the encoder is the LM's.
    for name, value in _lm_weights(lm_run).items():
        assert torch.equal(saved["state_dict"][f"network.encoder.lm.{name}"], value), name

    # The classifier checkpoint stands alone: it loads without the language model's files.
    (lm_run / "checkpoints").rename(lm_run / "moved")
    try:
        module = load(run, task=SequenceClassifier).module
    finally:
        (lm_run / "moved").rename(lm_run / "checkpoints")
    assert module.loaded_lm_weights is None and module.network.encoder.output_size == 64


def test_layer_groups_cover_every_parameter_once_and_get_decayed_rates():
    model = SequenceClassifier(vocab_size=30, num_classes=3,
                               network={"encoder": {"embedding_dim": 8, "hidden_size": 6, "num_layers": 2},
                                        "pooling": "attention"}, layer_lr_decay=2.0,
                               optimizer=lambda params: torch.optim.AdamW(params, lr=0.4))
    groups = model.layer_groups()
    assert len(groups) == 4  # embeddings, layer 0 (both directions), layer 1, attention + head
    ids = [id(p) for group in groups for p in group]
    assert len(ids) == len(set(ids)) and set(ids) == {id(p) for p in model.parameters()}
    optimizer = model.configure_optimizers()
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([0.05, 0.1, 0.2, 0.4])
    assert all(g["weight_decay"] == 0.01 for g in optimizer.param_groups)


def test_gradual_unfreezing_opens_one_group_at_a_time():
    model = SequenceClassifier(vocab_size=30, num_classes=2,
                               network={"encoder": {"embedding_dim": 8, "hidden_size": 6, "num_layers": 2}})
    callback = GradualUnfreezing(every=2, interval="step")

    class Trainer:  # the two counters the callback reads
        current_epoch = 0
        global_step = 0

    trainer = Trainer()
    seen = []
    for step in range(8):
        trainer.global_step = step
        callback.on_train_batch_start(trainer, model, None, step)
        seen.append([all(p.requires_grad for p in group) for group in model.layer_groups()])
    assert seen[0] == [False, False, False, True] and seen[1] == seen[0]
    assert seen[2] == [False, False, True, True] and seen[4] == [False, True, True, True]
    assert seen[6] == [True, True, True, True] and seen[7] == seen[6]
    callback.on_train_end(trainer, model)
    assert all(p.requires_grad for p in model.parameters())


@pytest.mark.parametrize("pooling", ["last", "max", "concat", "attention"])
def test_a_language_model_encoder_is_padding_invariant(pooling):
    architecture = {"vocab_size": 40, "embedding_dim": 12, "hidden_size": 16, "num_layers": 2, "cell": "lstm",
                    "weight_drop": 0.2, "tie_weights": True, "pad_id": 0}
    torch.manual_seed(0)
    model = SequenceClassifier(vocab_size=40, num_classes=3, lm_architecture=architecture,
                               network={"pooling": pooling}).eval()
    rows = [[5, 6, 7, 8, 9, 10, 11], [12, 13], [14]]
    batch = torch.zeros(3, 10, dtype=torch.long)
    for i, row in enumerate(rows):
        batch[i, : len(row)] = torch.tensor(row)
    with torch.no_grad():
        together = model(batch, torch.tensor([7, 2, 1])).softmax(-1)
        for i, row in enumerate(rows):
            alone = model(torch.tensor([row]), torch.tensor([len(row)])).softmax(-1)
            torch.testing.assert_close(together[i : i + 1], alone, rtol=1e-5, atol=1e-6)
