"""The data contract: what a task reads from its data besides the batches is one typed object (``DataInfo``), given by
``attach_data`` or the DataModule's ``data_info()``; a missing item stops the run when it starts, with a one-line
message, instead of a metric that silently never appears."""

from __future__ import annotations

import copy
import pickle

import lightning as L
import pytest

from seqkit.data import DataInfo
from seqkit.data.info import NOT_GIVEN
from seqkit.errors import DataError
from tests.tasks.test_every_task_standalone import (
    CONFIGS,
    REFERENCES,
    STREAM_INFO,
    WORDS,
    UserData,
    pair_batch,
    stream_batch,
    task_from_config,
)


def _trainer(tmp_path) -> L.Trainer:
    return L.Trainer(max_epochs=1, limit_val_batches=1, accelerator="cpu", logger=False, enable_checkpointing=False,
                     enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
                     default_root_dir=tmp_path)


def _language_model(**changes):
    task = task_from_config(CONFIGS["LanguageModel"])
    for name, value in changes.items():
        setattr(task, name, value)
    return task


MISSING = {
    "per-word perplexity needs tokens_per_word": (
        lambda: _language_model(), stream_batch, None, r"val_word_ppl.*needs the data's tokens_per_word.*=None"),
    "scale_lr_by_length needs bptt": (
        lambda: _language_model(scale_lr_by_length=True), stream_batch, DataInfo(tokens_per_word=None),
        r"scale_lr_by_length needs the data's bptt"),
    "the character CNN spells the tokenizer's words": (
        lambda: task_from_config(CONFIGS["CharCNNLanguageModel"]), stream_batch, DataInfo(tokens_per_word=None),
        r"spelling of its words needs the data's tokenizer"),
    "BLEU needs the target tokenizer": (
        lambda: task_from_config(CONFIGS["Seq2SeqTranslator"]), pair_batch, DataInfo(references=REFERENCES),
        r"BLEU needs the data's target_tokenizer"),
    "BLEU needs the references": (
        lambda: task_from_config(CONFIGS["Seq2SeqTranslator"]), pair_batch, DataInfo(target_tokenizer=WORDS),
        r"BLEU needs the data's references"),
    "references cannot be declined": (
        lambda: task_from_config(CONFIGS["Seq2SeqTranslator"]), pair_batch,
        DataInfo(target_tokenizer=WORDS, references=None), r"references, which the data declined"),
}


@pytest.mark.parametrize("case", sorted(MISSING))
def test_a_missing_item_stops_the_run_before_any_step(case, tmp_path):
    make_task, make_batch, info, message = MISSING[case]
    task = make_task()
    if info is not None:
        task.attach_data(info)
    before = {name: value.clone() for name, value in task.state_dict().items()}
    trainer = _trainer(tmp_path)
    with pytest.raises(DataError, match=message) as raised:
        trainer.fit(task, datamodule=UserData(make_batch))
    assert "\n" not in str(raised.value)
    assert trainer.global_step == 0
    assert all((task.state_dict()[name] == value).all() for name, value in before.items())  # nothing trained


def test_a_declined_item_leaves_out_its_metric_and_nothing_else(tmp_path):
    task = _language_model().attach_data(DataInfo(tokens_per_word=None))
    trainer = _trainer(tmp_path)
    trainer.fit(task, datamodule=UserData(stream_batch))
    assert "val_ppl" in trainer.callback_metrics and "val_word_ppl" not in trainer.callback_metrics


class DescribedData(UserData):
    """A user's DataModule that describes itself, as seqkit's DataModules do."""

    def data_info(self) -> DataInfo:
        return DataInfo(tokenizer=WORDS, tokens_per_word={"validation": 2.0, "test": 2.0}, bptt=6)


def test_the_datamodules_data_info_is_read_and_attach_data_overrides_it(tmp_path):
    task = _language_model(scale_lr_by_length=True)
    trainer = _trainer(tmp_path)
    trainer.fit(task, datamodule=DescribedData(stream_batch))
    assert task.data_info.bptt == 6 and "val_word_ppl" in trainer.callback_metrics
    assert task.data_info.tokenizer is WORDS

    task = _language_model().attach_data(DataInfo(tokens_per_word=None))  # the user's word beats the DataModule's
    trainer = _trainer(tmp_path)
    trainer.fit(task, datamodule=DescribedData(stream_batch))
    assert task.data_info.bptt == 6 and "val_word_ppl" not in trainer.callback_metrics


def test_per_word_perplexity_is_the_per_token_loss_times_tokens_per_word(tmp_path):
    task = _language_model().attach_data(STREAM_INFO)
    trainer = _trainer(tmp_path)
    metrics = trainer.validate(task, datamodule=UserData(stream_batch), verbose=False)[0]
    ratio = STREAM_INFO.tokens_per_word["validation"]
    assert metrics["val_word_ppl"] == pytest.approx(metrics["val_ppl"] ** ratio, rel=1e-4)


def test_data_info_items_are_given_declined_or_not_given():
    info = DataInfo(bptt=35, tokens_per_word=None)
    assert info.given("bptt") and not info.given("tokens_per_word") and not info.given("tokenizer")
    assert info.tokenizer is NOT_GIVEN and info.get("tokens_per_word", "none") == "none"
    merged = info.updated(DataInfo(bptt=70, label_names=["a", "b"]))
    assert (merged.bptt, merged.tokens_per_word, merged.label_names) == (70, None, ["a", "b"])
    for copied in (copy.deepcopy(info), pickle.loads(pickle.dumps(info))):  # DDP spawn pickles tasks
        assert copied.tokenizer is NOT_GIVEN
