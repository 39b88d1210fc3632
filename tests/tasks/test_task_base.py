"""The task base: settings groups saved as plain data, and checkpoints written before the networks moved."""

from __future__ import annotations

import pytest
import torch
import yaml

from seqkit.models.classifier import ClassifierConfig
from seqkit.nn import EncoderConfig
from seqkit.pretrained.folder import build_module
from seqkit.tasks import HierarchicalClassifier, SequenceClassifier

ENCODER = {"embedding_dim": 8, "hidden_size": 6, "num_layers": 2, "cell": "gru", "bidirectional": True,
           "dropout": 0.1}


def test_the_network_group_is_saved_whole_as_plain_data_whether_given_as_a_dataclass_or_a_dict():
    given = SequenceClassifier(30, 2, network=ClassifierConfig(encoder=EncoderConfig(**ENCODER)))
    partial = SequenceClassifier(30, 2, network={"encoder": {"hidden_size": 6}})
    assert given.hparams["network"] == {"encoder": ENCODER, "pooling": "mean", "attention_size": 64}
    assert partial.hparams["network"]["encoder"] == {**ENCODER, "hidden_size": 6, "num_layers": 1, "cell": "lstm",
                                                     "embedding_dim": 128, "dropout": 0.2}  # the rest: the defaults
    assert yaml.safe_load(yaml.safe_dump(dict(given.hparams))) == dict(given.hparams)


def test_the_network_config_is_the_completed_group_as_a_dataclass_the_network_is_built_from():
    partial = SequenceClassifier(30, 2, network={"encoder": {"hidden_size": 6}, "pooling": "max"})
    config = partial.network_config
    assert isinstance(config, ClassifierConfig) and config.pooling == "max"
    assert config.encoder == EncoderConfig(hidden_size=6)  # the rest: the defaults
    assert partial.network.config is config and partial.hparams["network"]["encoder"]["hidden_size"] == 6


@pytest.mark.parametrize("pooling", ["attention", "last"])
def test_an_old_flat_checkpoint_loads_into_the_new_classifier_with_the_same_outputs(pooling):
    torch.manual_seed(0)
    new = SequenceClassifier(30, 3, network={"encoder": ENCODER, "pooling": pooling}).eval()
    # The layout written before the network moved: flat settings, weights at the top of the module.
    flat = {"vocab_size": 30, "num_classes": 3, "pooling": pooling, **ENCODER}
    old_state = {key.removeprefix("network."): value for key, value in new.state_dict().items()}
    assert "encoder.rnn.weight_ih_l0" in old_state and "head.1.weight" in old_state
    loaded = build_module(SequenceClassifier, flat)
    loaded.load_state_dict(old_state)  # strict: every old key found its new place
    ids, lengths = torch.randint(1, 30, (4, 7)), torch.tensor([7, 3, 5, 1])
    assert torch.equal(loaded.eval()(ids, lengths), new(ids, lengths))


def test_an_old_hierarchical_checkpoint_loads_with_its_word_hidden_size():
    flat = {"vocab_size": 40, "num_classes": 3, "embedding_dim": 8, "word_hidden_size": 5, "sentence_hidden_size": 4,
            "word_attention_size": 6, "sentence_attention_size": 6, "cell": "lstm", "dropout": 0.0}
    loaded = build_module(HierarchicalClassifier, flat)
    assert loaded.hparams["network"]["encoder"]["hidden_size"] == 5 and "word_hidden_size" not in loaded.hparams
    old_state = {key.removeprefix("network."): value for key, value in loaded.state_dict().items()}
    assert {"encoder.embedding.weight", "sentence_encoder.weight_hh_l0", "head.1.weight"} <= old_state.keys()
    fresh = build_module(HierarchicalClassifier, flat)
    fresh.load_state_dict(old_state)
    assert all(torch.equal(fresh.state_dict()[key], value) for key, value in loaded.state_dict().items())
