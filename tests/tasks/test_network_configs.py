"""The translation and language-model tasks build their networks from the config dataclasses by keyword."""

from __future__ import annotations

import inspect
from dataclasses import MISSING, fields

import pytest

from seqkit.models.rnn_lm import RNNLMConfig
from seqkit.models.seq2seq import Seq2SeqConfig
from seqkit.tasks.language_modeling import LanguageModel
from seqkit.tasks.translation import Seq2SeqTranslator

PAIRS = [(Seq2SeqTranslator, Seq2SeqConfig), (LanguageModel, RNNLMConfig)]


@pytest.mark.parametrize(("task", "config"), PAIRS, ids=lambda c: c.__name__)
def test_every_network_setting_is_a_task_argument_with_the_same_default(task, config):
    parameters = inspect.signature(task.__init__).parameters
    for field in fields(config):
        assert field.name in parameters, field.name
        default = parameters[field.name].default
        expected = inspect.Parameter.empty if field.default is MISSING else field.default
        assert default == expected, (field.name, default, expected)


def test_tasks_hand_their_settings_to_the_network_by_name():
    translator = Seq2SeqTranslator(30, 40, pad_id=1, hidden_size=8, embedding_dim=6, decoder_hidden_size=12,
                                   cell="lstm", attention="concat", attention_size=5, dropout=0.0)
    assert translator.model.config == Seq2SeqConfig(30, 40, pad_id=1, hidden_size=8, embedding_dim=6,
                                                    decoder_hidden_size=12, cell="lstm", attention="concat",
                                                    attention_size=5, dropout=0.0)
    lm = LanguageModel(30, pad_id=0, embedding_dim=6, hidden_size=8, num_layers=2, cell="gru", weight_drop=0.2)
    assert lm.model.config == RNNLMConfig(30, embedding_dim=6, hidden_size=8, num_layers=2, cell="gru",
                                          weight_drop=0.2, pad_id=0)
