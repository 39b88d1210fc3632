"""Every tokenizer kind: training, encode/decode round trip, saving/loading, cache reuse, bad files."""

from __future__ import annotations

import pytest

from seqkit.data import tokenizers as tk
from seqkit.data.sources import DataSource, load_splits
from seqkit.data.tokenizers import SPECIAL_TOKENS, TokenizerConfig, build_tokenizer, load_tokenizer, train_tokenizer
from seqkit.errors import TokenizerError

KINDS = ["word", "char", "bpe", "wordpiece", "sentencepiece_unigram", "sentencepiece_bpe"]


@pytest.fixture(scope="module")
def corpus(data_root) -> list[str]:
    return load_splits(DataSource(name="sst2"), ["train"])["train"].select(range(3000))["text"]


def _batches(texts: list[str]):
    return (texts[i : i + 500] for i in range(0, len(texts), 500))


@pytest.mark.parametrize("kind", KINDS)
def test_round_trip_and_special_ids(kind, corpus, tmp_path):
    size = 20000 if kind == "word" else 2000  # word level: room for every training word
    tokenizer = train_tokenizer(TokenizerConfig(kind=kind, vocab_size=size), _batches(corpus))
    assert (tokenizer.pad_id, tokenizer.unk_id, tokenizer.bos_id, tokenizer.eos_id) == (0, 1, 2, 3)
    assert [tokenizer.id_to_token(i) for i in range(4)] == SPECIAL_TOKENS
    assert 40 < tokenizer.vocab_size <= size
    texts = corpus[:200]
    ids = tokenizer.encode_batch(texts)
    assert all(0 <= i < tokenizer.vocab_size for row in ids for i in row)
    decoded = tokenizer.decode_batch(ids)
    if kind in ("word", "wordpiece"):  # these split punctuation off words: exact up to those spaces
        from tokenizers.pre_tokenizers import Whitespace

        texts = [" ".join(word for word, _ in Whitespace().pre_tokenize_str(t)) for t in texts]
    assert decoded == texts
    reloaded = load_tokenizer(tokenizer.save(tmp_path))
    assert reloaded.encode_batch(texts) == ids and reloaded.fingerprint == tokenizer.fingerprint


def test_word_level_maps_rare_words_to_unk(corpus):
    tokenizer = train_tokenizer(TokenizerConfig(kind="word", vocab_size=50), _batches(corpus))
    ids = tokenizer.encode("the film is a zyzzyva")
    assert ids[-1] == tokenizer.unk_id and tokenizer.vocab_size == 50
    assert tokenizer.decode(ids).endswith(" <unk>")


@pytest.mark.parametrize("kind", ["word", "char"])
def test_special_tokens_inside_the_corpus_keep_ids_compact(kind):
    # WikiText and PTB contain "<unk>" literally; the ids must stay 0..V-1 with <unk> at its reserved id.
    texts = [" the <unk> sat on the <pad> mat . <eos> ", " a <unk> <unk> ran "] * 20
    tokenizer = train_tokenizer(TokenizerConfig(kind=kind, split_punctuation=False), [texts])
    assert sorted(tokenizer.backend.get_vocab().values()) == list(range(tokenizer.vocab_size))
    assert [tokenizer.id_to_token(i) for i in range(4)] == SPECIAL_TOKENS
    assert tokenizer.unk_id in tokenizer.encode("the <unk> sat")


def test_char_and_bpe_are_exact_on_arbitrary_text(corpus):
    text = "Ünïcode,  double  spaces\tand\nnew lines!"
    for kind in ("char", "bpe"):
        tokenizer = train_tokenizer(TokenizerConfig(kind=kind, vocab_size=3000), [corpus[:1000] + [text]])
        assert tokenizer.decode(tokenizer.encode(text)) == text


def test_lowercase_option(corpus):
    tokenizer = train_tokenizer(TokenizerConfig(kind="word", lowercase=True), _batches(corpus))
    assert tokenizer.encode("The FILM") == tokenizer.encode("the film")


@pytest.mark.parametrize("kind", KINDS)
def test_cache_reuses_trained_tokenizer(kind, corpus, monkeypatch):
    config = TokenizerConfig(kind=kind, vocab_size=1500)
    first = build_tokenizer(config, lambda: _batches(corpus), corpus_fingerprint=f"sst2-3000-{kind}")

    def must_not_train(*args, **kwargs):
        raise AssertionError("trained again instead of using the cache")

    monkeypatch.setattr(tk, "train_tokenizer", must_not_train)
    second = build_tokenizer(config, lambda: _batches(corpus), corpus_fingerprint=f"sst2-3000-{kind}")
    assert second.fingerprint == first.fingerprint
    with pytest.raises(AssertionError, match="trained again"):  # other data or settings: a new key
        build_tokenizer(config, lambda: _batches(corpus), corpus_fingerprint="other-corpus")


def test_path_loads_existing_file(corpus, tmp_path):
    path = train_tokenizer(TokenizerConfig(kind="sentencepiece_bpe", vocab_size=800), _batches(corpus)).save(tmp_path)
    loaded = build_tokenizer(TokenizerConfig(path=str(path)), lambda: iter(()), "unused")
    assert loaded.vocab_size == 800 and loaded.pad_id == 0


@pytest.mark.parametrize("name, content", [("tokenizer.json", b"{not json"), ("spm.model", b"\x00garbage")])
def test_corrupt_tokenizer_file_is_a_clear_error(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(TokenizerError, match=rf"Could not load tokenizer {path}: .*Expected a `tokenizers`"):
        load_tokenizer(path)


def test_missing_tokenizer_file(tmp_path):
    with pytest.raises(TokenizerError, match="holds no tokenizer.json"):
        load_tokenizer(tmp_path)
    with pytest.raises(TokenizerError, match="does not exist"):
        load_tokenizer(tmp_path / "nope.json")


def test_loaded_tokenizer_without_padding_token(tmp_path):
    from tokenizers import Tokenizer, models

    Tokenizer(models.WordLevel({"a": 0, "[UNK]": 1}, unk_token="[UNK]")).save(str(tmp_path / "tokenizer.json"))
    with pytest.raises(TokenizerError, match="has no padding token"):
        load_tokenizer(tmp_path)


def test_min_frequency_drops_rare_words():
    texts = ["common common rare"] * 1 + ["common other other"]
    every = train_tokenizer(TokenizerConfig(kind="word"), [texts])
    frequent = train_tokenizer(TokenizerConfig(kind="word", min_frequency=2), [texts])
    assert every.encode("rare")[0] != every.unk_id
    assert frequent.encode("rare")[0] == frequent.unk_id and frequent.encode("other")[0] != frequent.unk_id


pytestmark = pytest.mark.full_data  # trains on thousands of real rows
