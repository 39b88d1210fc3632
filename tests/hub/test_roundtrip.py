"""Published model folders: save -> load gives identical outputs for every task; damaged folders are refused."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from huggingface_hub import ModelCard

import seqkit
from seqkit.data.tokenizers import TokenizerConfig, train_tokenizer
from seqkit.errors import CheckpointError
from seqkit.inference import load, load_model
from seqkit.pretrained import SeqkitModel
from seqkit.tasks import LanguageModel, SequenceClassifier
from tests.helpers import subprocess_env

#: A small hierarchical network.
HAN_SMALL = {"encoder": {"embedding_dim": 8, "hidden_size": 8}, "sentence_hidden_size": 8,
             "word_attention_size": 8, "sentence_attention_size": 8}

TEXTS = ["a good film", "a bad film", "the cat sat on the mat", "what a gripping story"]
CONFIG = {"data": {"class_path": "seqkit.data.TextClassificationDataModule",
                   "init_args": {"source": {"name": "toy"}, "tokenizer": {"kind": "word"}, "max_length": 6}}}


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer(TokenizerConfig(kind="word", vocab_size=100), [TEXTS])


def _modules(vocab_size: int) -> list:
    torch.manual_seed(0)
    return [
        SequenceClassifier(vocab_size, 3, network={"encoder": {"embedding_dim": 8, "hidden_size": 8, "num_layers": 2},
                                    "pooling": "attention"},
                           label_names=["neg", "mid", "pos"]),
        SequenceClassifier(vocab_size, 2, network={"encoder": {"embedding_dim": 8, "hidden_size": 8, "cell": "gru"},
                                    "pooling": "last"}),
        LanguageModel(vocab_size, network={"embedding_dim": 8, "hidden_size": 12, "num_layers": 2, "weight_drop": 0.2,
                                           "tie_weights": True}),
        LanguageModel(vocab_size, network={"embedding_dim": 8, "hidden_size": 12, "num_layers": 1, "cell": "gru",
                                           "tie_weights": False}),
    ]


def _outputs(module, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    module.eval()
    with torch.no_grad():
        return module(ids, lengths) if isinstance(module, SequenceClassifier) else module(ids)[0]


def test_save_then_load_gives_identical_outputs_for_every_task(tokenizer, tmp_path):
    ids, lengths = torch.randint(4, tokenizer.vocab_size, (3, 6)), torch.tensor([6, 2, 4])
    for index, module in enumerate(_modules(tokenizer.vocab_size)):
        folder = tmp_path / f"model{index}"
        SeqkitModel(module, {"tokenizer": tokenizer}, CONFIG, {"val_acc": 0.5}).save_pretrained(folder)
        loaded = SeqkitModel.from_pretrained(folder)  # huggingface_hub's entry point, on a local folder
        assert type(loaded.module) is type(module)
        assert torch.equal(_outputs(module, ids, lengths), _outputs(loaded.module, ids, lengths))
        assert loaded.tokenizer.encode_batch(TEXTS) == tokenizer.encode_batch(TEXTS)
        state, loaded_state = module.state_dict(), loaded.module.state_dict()
        assert state.keys() == loaded_state.keys()
        assert all(torch.equal(state[k], loaded_state[k]) for k in state)
    lm = load_model(tmp_path / "model2").module.network
    assert lm.decoder.weight is lm.embedding.weight  # tied weights stay tied


def test_load_returns_a_ready_predictor(tokenizer, tmp_path):
    classifier, _, lm, _ = _modules(tokenizer.vocab_size)
    SeqkitModel(classifier, {"tokenizer": tokenizer}, CONFIG).save_pretrained(tmp_path / "clf")
    SeqkitModel(lm, {"tokenizer": tokenizer}, CONFIG).save_pretrained(tmp_path / "lm")
    predictor = seqkit.load(tmp_path / "clf")
    record = predictor.classify("a good film")
    assert record["label_name"] in ("neg", "mid", "pos") and len(record["probabilities"]) == 3
    assert predictor.classify(TEXTS)[1] == predictor.classify(TEXTS[1])
    generator = load(tmp_path / "lm")
    assert generator.generate("the cat", max_new_tokens=4, seed=1) == generator.generate("the cat", 4, seed=1)
    assert isinstance(generator.generate(["a", "the"], max_new_tokens=3, temperature=0), list)


def test_import_seqkit_stays_light():
    code = "import sys, seqkit; print(sorted({'torch', 'lightning', 'huggingface_hub'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=subprocess_env(), check=True)
    assert out.stdout.strip() == "[]"


@pytest.fixture()
def folder(tokenizer, tmp_path):
    path = tmp_path / "published"
    SeqkitModel(_modules(tokenizer.vocab_size)[0], {"tokenizer": tokenizer}, CONFIG).save_pretrained(path)
    return path


def test_a_missing_file_gives_a_clear_error(folder):
    (folder / "tokenizer.json").unlink()
    with pytest.raises(CheckpointError, match="is missing tokenizer.json"):
        load(folder)


@pytest.mark.parametrize("name", ["model.safetensors", "tokenizer.json", "config.yaml"])
def test_a_tampered_file_gives_a_clear_error(folder, name):
    path = folder / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=f"{name} in .* does not match its SHA-256"):
        load(folder)


def test_config_json_cannot_name_arbitrary_classes(folder):
    config = json.loads((folder / "config.json").read_text())
    config["task"] = "subprocess.Popen"
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="'subprocess.Popen' is not a seqkit task"):
        load(folder)


def test_the_model_card_parses_back(folder):
    card = ModelCard.load(folder / "README.md")
    assert card.data.library_name == "seqkit" and card.data.pipeline_tag == "text-classification"
    assert card.data.datasets == ["toy"] and "seqkit" in card.data.tags


def test_wrong_task_or_unknown_path_is_a_clear_error(folder, tmp_path):
    with pytest.raises(CheckpointError, match="holds a SequenceClassifier, not a LanguageModel"):
        load(folder, task=LanguageModel)
    with pytest.raises(CheckpointError, match="neither a run directory"):
        load(tmp_path / "nothing-here")


def test_translator_and_review_models_round_trip_with_their_predictors(tokenizer, tmp_path):
    from seqkit.inference import HierarchicalPredictor, TranslatorPredictor
    from seqkit.tasks.hierarchical import HierarchicalClassifier
    from seqkit.tasks.translation import Seq2SeqTranslator

    torch.manual_seed(0)
    vocab = tokenizer.vocab_size
    translator = Seq2SeqTranslator(vocab, vocab, network={"embedding_dim": 8, "hidden_size": 8}, beam_size=2).eval()
    tokenizers = {"tokenizer": tokenizer, "tokenizer_target": tokenizer}
    SeqkitModel(translator, tokenizers).save_pretrained(tmp_path / "mt")
    loaded = load(tmp_path / "mt")
    assert isinstance(loaded, TranslatorPredictor) and set(loaded.tokenizers) == set(tokenizers)
    src, lengths, tgt = torch.randint(4, vocab, (2, 5)), torch.tensor([5, 3]), torch.randint(4, vocab, (2, 4))
    with torch.no_grad():
        assert torch.equal(translator(src, lengths, tgt), loaded.module(src, lengths, tgt))
    original = TranslatorPredictor(SeqkitModel(translator, tokenizers))
    assert loaded.translate(TEXTS) == original.translate(TEXTS)

    reviews = HierarchicalClassifier(vocab, 2, network=HAN_SMALL).eval()
    SeqkitModel(reviews, {"tokenizer": tokenizer}).save_pretrained(tmp_path / "han")
    loaded = load(tmp_path / "han")
    assert isinstance(loaded, HierarchicalPredictor)
    documents = ["a good film. the cat sat on the mat.", "a bad film."]
    expected = HierarchicalPredictor(SeqkitModel(reviews, {"tokenizer": tokenizer})).explain(documents)
    got = loaded.explain(documents)
    assert [e.probabilities for e in got] == [e.probabilities for e in expected]
    assert [e.sentence_weights for e in got] == [e.sentence_weights for e in expected]
    assert loaded.classify(documents[0])["probabilities"] == got[0].probabilities


def test_generate_command_takes_a_published_folder(tokenizer, tmp_path, capsys):
    from seqkit.cli import main

    lm = _modules(tokenizer.vocab_size)[2]
    SeqkitModel(lm, {"tokenizer": tokenizer}).save_pretrained(tmp_path / "lm")
    args = ["generate", "--checkpoint", str(tmp_path / "lm"), "--prompt", "the cat", "--max_new_tokens", "4"]
    assert main([*args, "--seed", "0"]) == 0
    first = capsys.readouterr().out
    assert main([*args, "--seed", "0"]) == 0
    assert capsys.readouterr().out == first and first.startswith("the cat")


def test_translate_and_explain_commands_take_a_published_folder(tokenizer, tmp_path, capsys):
    from seqkit.cli import main
    from seqkit.tasks.hierarchical import HierarchicalClassifier
    from seqkit.tasks.translation import Seq2SeqTranslator

    torch.manual_seed(0)
    vocab = tokenizer.vocab_size
    translator = Seq2SeqTranslator(vocab, vocab, network={"embedding_dim": 8, "hidden_size": 8}, beam_size=2)
    SeqkitModel(translator, {"tokenizer": tokenizer}).save_pretrained(tmp_path / "mt")
    source = tmp_path / "source.txt"
    source.write_text("a good film\nthe cat sat\n")
    assert main(["translate", "--checkpoint", str(tmp_path / "mt"), "--input", str(source), "--quiet"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2

    reviews = HierarchicalClassifier(vocab, 2, network=HAN_SMALL)
    SeqkitModel(reviews, {"tokenizer": tokenizer}).save_pretrained(tmp_path / "han")
    html = tmp_path / "out.html"
    assert main(["explain", "--checkpoint", str(tmp_path / "han"), "--input", str(source), "--html", str(html)]) == 0
    assert html.is_file() and "2 documents" in capsys.readouterr().out
