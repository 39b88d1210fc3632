"""TranslationDataModule: columns, <bos>/<eos> targets, joint or separate vocabularies, seeded held-out splits."""

from __future__ import annotations

import pytest

from seqkit.data import DataSource, TokenizerConfig, TranslationDataModule
from seqkit.data.options import Batching, Splits
from seqkit.errors import DataError


def _tatoeba(seed: int = 0, **kwargs) -> TranslationDataModule:
    return TranslationDataModule(
        DataSource(name="tatoeba_eng_fra"), source_lang="en", target_lang="fr",
        tokenizer=TokenizerConfig(kind="sentencepiece_bpe", vocab_size=300), test_from_train=0.1,
        batching=Batching(batch_size=16),
        splits=Splits(val_from_train=0.1, max_rows={"train": 300, "validation": 50, "test": 50}, seed=seed), **kwargs,
    )


def test_seeded_split_of_a_single_split_corpus(data_root):
    first, again, other = _tatoeba(seed=3), _tatoeba(seed=3), _tatoeba(seed=4)
    assert {role: len(d) for role, d in first.raw.items()} == {"train": 300, "validation": 50, "test": 50}
    assert first.raw["test"]["en"] == again.raw["test"]["en"]
    assert first.raw["test"]["en"] != other.raw["test"]["en"]


def test_separate_vocabularies_and_batches(data_root, tmp_path):
    data = _tatoeba(target_tokenizer=TokenizerConfig(kind="word", vocab_size=500))
    assert not data.joint_vocabulary and data.src_tokenizer is not data.tgt_tokenizer
    assert data.src_vocab_size <= 300 and data.tgt_vocab_size <= 500
    data.setup("fit")
    batch = next(iter(data.train_dataloader()))
    assert set(batch) >= {"src_ids", "src_lengths", "src_mask", "tgt_ids", "tgt_lengths", "rows"}
    tgt, lengths = batch["tgt_ids"], batch["tgt_lengths"]
    assert (tgt[:, 0] == data.tgt_tokenizer.bos_id).all()
    assert (tgt.gather(1, (lengths - 1)[:, None]).squeeze(1) == data.tgt_tokenizer.eos_id).all()
    row = int(batch["rows"][0])
    reference = data.references("train")[row]
    assert data.tgt_tokenizer.decode(tgt[0, : lengths[0]].tolist()) == data.tgt_tokenizer.decode(
        data.tgt_tokenizer.encode(reference))


def test_joint_vocabulary_and_bad_columns(data_root):
    data = TranslationDataModule(DataSource(name="multi30k"), source_lang="de", target_lang="en",
                                 tokenizer=TokenizerConfig(kind="sentencepiece_unigram", vocab_size=400),
                                 splits=Splits(max_rows=200, test="test_2016_flickr"))
    assert data.joint_vocabulary and data.src_tokenizer is data.tgt_tokenizer
    assert data.src_vocab_size == data.tgt_vocab_size and data.pad_id == 0
    wrong = TranslationDataModule(DataSource(name="multi30k"), source_lang="de", target_lang="xx",
                                  splits=Splits(max_rows=20, test="test_2016_flickr"))
    with pytest.raises(DataError, match="Column 'xx' not found"):
        _ = wrong.raw
