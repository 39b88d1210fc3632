"""The text-generation tasks take their network whole: one config dataclass each (``model.init_args.network``),
given as the dataclass or as a dict, checked by field when it is built; old flat settings still load."""

from __future__ import annotations

from dataclasses import asdict, replace

import pytest
import torch

from seqkit.errors import ConfigError
from seqkit.models.char_cnn_lm import CharCNNLMConfig
from seqkit.models.echo_state import LM_RESERVOIR, EchoStateLMConfig, ReservoirConfig
from seqkit.models.history_compressor import HistoryCompressorConfig
from seqkit.models.lm_encoder import LanguageModelEncoder, architecture_of
from seqkit.models.rnn_lm import RNNLMConfig
from seqkit.models.seq2seq import Seq2SeqConfig
from seqkit.pretrained.building import build_module
from seqkit.tasks import CharCNNLanguageModel, HistoryCompressorLM, LanguageModel, Seq2SeqTranslator
from seqkit.tasks.echo_state import EchoStateLM

VOCAB = 20
#: Each task with a small network of its config, the data-linked arguments it needs, and old flat hparams.
CASES = {
    "lm": (LanguageModel, RNNLMConfig(embedding_dim=6, hidden_size=8, num_layers=2, cell="gru", weight_drop=0.2),
           {"vocab_size": VOCAB, "pad_id": 0}),
    "char_cnn": (CharCNNLanguageModel, CharCNNLMConfig(char_dim=4, filters={1: 4, 3: 4}, hidden_size=8),
                 {"vocab_size": VOCAB, "pad_id": 0}),
    "compressor": (HistoryCompressorLM, HistoryCompressorConfig(lower_size=8, higher_size=6, max_gap=16),
                   {"vocab_size": VOCAB}),
    "echo_state": (EchoStateLM, EchoStateLMConfig(replace(LM_RESERVOIR, embedding_dim=4, reservoir_size=30)),
                   {"vocab_size": VOCAB}),
    "translator": (Seq2SeqTranslator, Seq2SeqConfig(embedding_dim=6, hidden_size=8, cell="lstm", attention="concat",
                                                    attention_size=5, dropout=0.0),
                   {"src_vocab_size": VOCAB, "tgt_vocab_size": VOCAB + 3, "pad_id": 0}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_task_is_built_from_its_config_alone_as_dataclass_or_dict(name):
    task, config, data = CASES[name]
    from_dataclass = task(**data, network=config)
    from_dict = task(**data, network=asdict(config))
    assert from_dataclass.hparams["network"] == from_dict.hparams["network"] == asdict(config)
    assert from_dataclass.state_dict().keys() == from_dict.state_dict().keys()
    assert all(key.startswith("network.") for key in from_dataclass.state_dict())  # every task holds `network`
    # A group given in part keeps the defaults for the rest.
    first = next(iter(asdict(config)))
    partial = task(**data, network={first: asdict(config)[first]})
    assert partial.hparams["network"] == {**asdict(type(config)()), first: asdict(config)[first]}


@pytest.mark.parametrize(("config", "field", "value", "message"), [
    (RNNLMConfig, "dropout_input", 1.5, r"RNNLMConfig.dropout_input=1.5: must be in \[0, 1\)"),
    (RNNLMConfig, "dropout_hidden", 1.5, r"dropout_hidden=1.5"),
    (RNNLMConfig, "dropout_embedding", 1.5, r"dropout_embedding=1.5"),
    (RNNLMConfig, "weight_drop", -0.1, r"weight_drop=-0.1"),
    (RNNLMConfig, "hidden_size", 0, r"hidden_size=0: must be at least 1"),
    (RNNLMConfig, "cell", "transformer", r"cell='transformer'"),
    (CharCNNLMConfig, "dropout_input", 1.5, r"CharCNNLMConfig.dropout_input=1.5"),
    (CharCNNLMConfig, "filters", {30: 5}, r"wider than max_word_length"),
    (CharCNNLMConfig, "char_dim", 0, r"char_dim=0"),
    (HistoryCompressorConfig, "lower_size", 0, r"HistoryCompressorConfig.lower_size=0"),
    (ReservoirConfig, "leak_rate", 1.5, r"ReservoirConfig.leak_rate=1.5: must be in \(0, 1\]"),
    (ReservoirConfig, "spectral_radius", 0.0, r"spectral_radius=0.0: must be greater than 0"),
    (Seq2SeqConfig, "dropout", 1.5, r"Seq2SeqConfig.dropout=1.5"),
    (Seq2SeqConfig, "decoder_layers", 0, r"decoder_layers=0"),
    (Seq2SeqConfig, "attention", "luong", r"attention='luong'"),
])
def test_configs_refuse_out_of_range_settings_in_one_line(config, field, value, message):
    with pytest.raises(ConfigError, match=message) as error:
        config(**{field: value})
    assert "\n" not in str(error.value)


def test_a_task_refuses_a_bad_network_setting_given_as_a_dict():
    with pytest.raises(ConfigError, match="dropout_hidden=1.5"):
        LanguageModel(VOCAB, network={"dropout_hidden": 1.5})
    with pytest.raises(ConfigError, match=r"leak_rate=2"):
        EchoStateLM(VOCAB, network={"reservoir": {"leak_rate": 2}})


def test_an_unknown_network_key_is_refused_with_the_closest_name():
    with pytest.raises(ConfigError, match=r"RNNLMConfig has no setting `hiden_size`; did you mean `hidden_size`\?"):
        LanguageModel(VOCAB, network={"hiden_size": 8})
    with pytest.raises(ConfigError, match=r"Seq2SeqConfig has no setting `beam_size`"):
        Seq2SeqTranslator(VOCAB, VOCAB, network={"beam_size": 2})  # a search setting, not the network's


#: Hyperparameters as checkpoints and folders held them before the network was one group.
OLD_FLAT = {
    "lm": {"vocab_size": VOCAB, "pad_id": 0, "embedding_dim": 6, "hidden_size": 8, "num_layers": 2, "cell": "gru",
           "weight_drop": 0.2, "ar_alpha": 2.0},
    "char_cnn": {"vocab_size": VOCAB, "pad_id": 0, "char_dim": 4, "filters": {"1": 4, "3": 4}, "hidden_size": 8},
    "compressor": {"vocab_size": VOCAB, "lower_size": 8, "higher_size": 6, "max_gap": 16},
    "echo_state": {"vocab_size": VOCAB, "reservoir": {"embedding_dim": 4, "reservoir_size": 30}},
    "translator": {"src_vocab_size": VOCAB, "tgt_vocab_size": VOCAB + 3, "pad_id": 0, "embedding_dim": 6,
                   "hidden_size": 8, "cell": "lstm", "attention": "concat", "attention_size": 5, "dropout": 0.0,
                   "beam_size": 3},
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_old_flat_hparams_fold_into_the_network_and_old_weights_load(name):
    task, config, data = CASES[name]
    old = build_module(task, OLD_FLAT[name])
    assert old.hparams["network"] == asdict(config)
    new = task(**data, network=config)
    # Weights saved when the network was held under another name (``model.``, or the echo-state LM's own parts).
    renamed = {key.replace("network.", "model." if name != "echo_state" else "", 1): value
               for key, value in new.state_dict().items()}
    old.load_state_dict(renamed)
    for key, value in new.state_dict().items():
        assert torch.equal(old.state_dict()[key], value), key


def test_a_language_models_architecture_reads_old_and_new_checkpoints_alike():
    lm, config, data = CASES["lm"]
    new = architecture_of(dict(lm(**data, network=config).hparams))
    old = architecture_of(OLD_FLAT["lm"])
    assert new == {**old, **asdict(config)} and new["vocab_size"] == VOCAB
    encoder = LanguageModelEncoder(new)  # the classifier's ULMFiT encoder builds from it
    assert encoder.output_size == 6 and encoder.embedding.num_embeddings == VOCAB  # tied: the embedding's size


def test_a_recipes_network_is_checked_before_any_data_is_loaded():
    from seqkit.pretrained.building import check_recipe_size

    model = {"class_path": "seqkit.tasks.LanguageModel", "init_args": {"network": {"dropout_hidden": 1.5}}}
    with pytest.raises(ConfigError, match=r"model.init_args.network: RNNLMConfig.dropout_hidden=1.5"):
        check_recipe_size(model, ("vocab_size",), None)
    model["init_args"]["network"] = {"dropout_hidden": 0.5}
    check_recipe_size(model, ("vocab_size",), None)  # in range: passes


@pytest.mark.parametrize("old", [True, False], ids=["flat-model", "network"])
def test_ulmfit_reads_the_architecture_and_weights_of_old_and_new_lm_checkpoints(old, tmp_path):
    from seqkit.models.lm_encoder import read_lm_checkpoint

    lm, config, data = CASES["lm"]
    module = lm(**data, network=config)
    state = module.state_dict()
    hparams = dict(module.hparams)
    if old:  # written when the settings were flat and the network was ``model``
        hparams = OLD_FLAT["lm"]
        state = {key.replace("network.", "model.", 1): value for key, value in state.items()}
    torch.save({"hyper_parameters": hparams, "state_dict": state}, tmp_path / "lm.ckpt")
    architecture, weights, _ = read_lm_checkpoint(tmp_path / "lm.ckpt")
    defaults = asdict(RNNLMConfig())  # an old checkpoint held every argument; this one only those set
    assert {**defaults, **architecture} == architecture_of(dict(module.hparams))
    encoder = LanguageModelEncoder(architecture)
    assert sorted(encoder.load_encoder_state(weights)) == sorted(weights)


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_published_folder_keeps_the_network_group(name, tmp_path):
    from seqkit.data.tokenizers import TokenizerConfig, train_tokenizer
    from seqkit.pretrained import SeqkitModel

    task, config, data = CASES[name]
    module = task(**data, network=config)
    tokenizer = train_tokenizer(TokenizerConfig(kind="word", vocab_size=VOCAB), [["a b c d e f g h"]])
    tokenizers = {"tokenizer": tokenizer, **({"tokenizer_target": tokenizer} if name == "translator" else {})}
    SeqkitModel(module, tokenizers, {}).save_pretrained(tmp_path / "folder")  # hparams as JSON: filters' keys too
    loaded = SeqkitModel.from_pretrained(tmp_path / "folder").module
    assert loaded.hparams["network"] == asdict(config)
    state = module.state_dict()
    assert all(torch.equal(state[key], value) for key, value in loaded.state_dict().items())
