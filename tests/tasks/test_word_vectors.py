"""Pretrained word vectors: GloVe and word2vec text files, coverage, and initialising a classifier through the CLI."""

from __future__ import annotations

import csv
import gzip

import pytest
import torch
from torch import nn

from seqkit.cli import main
from seqkit.data.tokenizers import TokenizerConfig, load_tokenizer, train_tokenizer
from seqkit.errors import DataError
from seqkit.nn import load_word_vectors
from tests.helpers import REPO

TINY = str(REPO / "recipes" / "sentiment" / "sst2_tiny.yaml")


def _vector(seed: int, dim: int = 4) -> list[float]:
    return [round(seed + k / 10, 2) for k in range(dim)]


def _line(word: str, values: list[float]) -> str:
    return word + " " + " ".join(map(str, values)) + "\n"


@pytest.fixture()
def tokenizer():
    # Vocabulary: 4 specials + The, movie, was, great, bad, Film (cased: "The" and "Film" need the lowercase look-up)
    return train_tokenizer(TokenizerConfig(kind="word", vocab_size=100),
                           [["The movie was great", "bad Film", "The movie"]])


def _embedding(tokenizer, dim: int = 4) -> nn.Embedding:
    torch.manual_seed(0)
    return nn.Embedding(tokenizer.vocab_size, dim, padding_idx=tokenizer.pad_id)


def test_glove_vectors_fill_exact_then_lowercase_matches(tokenizer, tmp_path):
    path = tmp_path / "glove.txt"
    # "the" and "film" match lowercased tokens; "Film" exact would win over "film" if both were present.
    path.write_text(_line("the", _vector(1)) + _line("movie", _vector(2)) + _line("film", _vector(3))
                    + _line("unrelated", _vector(9)) + _line("movie", _vector(7)))
    embedding = _embedding(tokenizer)
    before = embedding.weight.detach().clone()
    coverage = load_word_vectors(path, tokenizer, embedding)
    vocab = {tokenizer.id_to_token(i): i for i in range(tokenizer.vocab_size)}
    assert coverage == pytest.approx(3 / 6)  # The, movie, Film of The, movie, was, great, bad, Film
    weight = embedding.weight.detach()
    assert weight[vocab["The"]].tolist() == pytest.approx(_vector(1))
    assert weight[vocab["movie"]].tolist() == pytest.approx(_vector(2))  # the first of a repeated word
    assert weight[vocab["Film"]].tolist() == pytest.approx(_vector(3))
    for kept in ("was", "great", "bad", "<unk>"):
        assert torch.equal(weight[vocab[kept]], before[vocab[kept]])
    assert torch.all(weight[tokenizer.pad_id] == 0)


def test_exact_spelling_wins_over_lowercase(tokenizer, tmp_path):
    path = tmp_path / "glove.txt"
    path.write_text(_line("film", _vector(3)) + _line("Film", _vector(5)))
    embedding = _embedding(tokenizer)
    load_word_vectors(path, tokenizer, embedding)
    film = next(i for i in range(tokenizer.vocab_size) if tokenizer.id_to_token(i) == "Film")
    assert embedding.weight[film].tolist() == pytest.approx(_vector(5))


def test_word2vec_text_format_with_header_gzipped(tokenizer, tmp_path):
    path = tmp_path / "vectors.txt.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("3 4\n" + _line("was", _vector(1)) + _line("great", _vector(2)) + _line("bad", _vector(3)))
    assert load_word_vectors(path, tokenizer, _embedding(tokenizer)) == pytest.approx(3 / 6)


def test_wrong_dimension_and_missing_file_are_clear_errors(tokenizer, tmp_path):
    path = tmp_path / "glove.txt"
    path.write_text(_line("movie", _vector(1, dim=3)))
    with pytest.raises(DataError, match="have 3 dimensions but the embedding has 4"):
        load_word_vectors(path, tokenizer, _embedding(tokenizer))
    with pytest.raises(DataError, match="does not exist"):
        load_word_vectors(tmp_path / "nope.txt", tokenizer, _embedding(tokenizer))


@pytest.mark.full_data
def test_classifier_loads_vectors_from_the_recipe_and_can_freeze_them(data_root, tmp_path):
    words = ["the", "movie", "film", "good", "bad", "great", "not", "is", "zzzunseen"]
    path = tmp_path / "glove.32d.txt"
    path.write_text("".join(_line(w, _vector(i, dim=32)) for i, w in enumerate(words)))
    run = tmp_path / "run"
    code = main([
        "fit", "--config", TINY, "--run_dir", str(run),
        "--model.init_args.word_vectors", str(path), "--model.init_args.freeze_embeddings", "true",
        "--data.init_args.splits.max_rows", "{train: 200, validation: 32, test: 32}",
        "--trainer.limit_train_batches", "3", "--trainer.max_epochs", "1", "--trainer.num_sanity_val_steps", "0",
        "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
    ])
    assert code == 0
    with (run / "metrics.csv").open() as handle:
        coverage = [float(r["word_vector_coverage"]) for r in csv.DictReader(handle) if r.get("word_vector_coverage")]
    tokenizer = load_tokenizer(run / "tokenizer")
    assert coverage == [pytest.approx(8 / (tokenizer.vocab_size - 4))]
    state = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    embedding = state["network.encoder.embedding.weight"]
    movie = tokenizer.encode("movie")[0]
    assert embedding[movie].tolist() == pytest.approx(_vector(1, dim=32))  # loaded, and frozen through training
