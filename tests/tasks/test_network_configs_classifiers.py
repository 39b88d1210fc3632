"""The classifiers, the tree, CNN+RNN, echo-state, speech and forecasting tasks take their network as one config:
built from it alone (a dataclass or a dict), range-checked by field, old flat hyperparameters folded in."""

from __future__ import annotations

from dataclasses import asdict

import pytest
import torch

from seqkit.data.features import AudioFeatures
from seqkit.errors import ConfigError
from seqkit.models.classifier import ClassifierConfig
from seqkit.models.cnn_rnn import CNNBiLSTMConfig
from seqkit.models.echo_state import EchoStateClassifierConfig, ReservoirConfig
from seqkit.models.forecasting import ForecasterConfig
from seqkit.models.hierarchical import HierarchicalConfig
from seqkit.models.speech import AcousticConfig, SpeechClassifierConfig
from seqkit.models.tree_lstm import TreeLSTMConfig
from seqkit.nn import EncoderConfig
from seqkit.pretrained.building import build_module
from seqkit.tasks import (
    CNNRNNClassifier,
    CTCSpeechRecognizer,
    EchoStateClassifier,
    Forecaster,
    HierarchicalClassifier,
    SequenceClassifier,
    SpeechClassifier,
    TreeClassifier,
)

SMALL_ENCODER = EncoderConfig(embedding_dim=8, hidden_size=6, cell="gru")
FEATURES = AudioFeatures().num_features
#: Each task with the arguments its data gives and a small network config.
TASKS = {
    "classifier": (SequenceClassifier, {"vocab_size": 30, "num_classes": 3},
                   ClassifierConfig(encoder=SMALL_ENCODER, pooling="attention", attention_size=5)),
    "hierarchical": (HierarchicalClassifier, {"vocab_size": 30, "num_classes": 3},
                     HierarchicalConfig(encoder=SMALL_ENCODER, sentence_hidden_size=4, word_attention_size=5,
                                        sentence_attention_size=5, word_buckets=2)),
    "tree": (TreeClassifier, {"vocab_size": 30, "num_classes": 5},
             TreeLSTMConfig(embedding_dim=8, hidden_size=6, cell="child_sum", dropout=0.1)),
    "cnn_rnn": (CNNRNNClassifier, {"vocab_size": 30, "num_classes": 2},
                CNNBiLSTMConfig(embedding_dim=8, channels=4, widths=[1, 3], hidden_size=5, dropout=0.1)),
    "echo_state": (EchoStateClassifier, {"vocab_size": 30, "num_classes": 2},
                   EchoStateClassifierConfig(ReservoirConfig(embedding_dim=4, reservoir_size=20), alpha=0.5)),
    "speech": (SpeechClassifier, {"num_features": FEATURES, "num_classes": 10},
               SpeechClassifierConfig(hidden_size=8, num_layers=1, cell="gru", pooling="max")),
    "ctc": (CTCSpeechRecognizer, {"num_features": FEATURES, "num_classes": 10},
            AcousticConfig(hidden_size=8, num_layers=1, frame_stacking=2)),
    "forecaster": (Forecaster, {"num_inputs": 3, "num_targets": 3, "lookback": 12, "horizon": 4},
                   ForecasterConfig("seq2seq", hidden_size=8, num_layers=1, cell="gru", attention=True)),
}


@pytest.mark.parametrize("name", TASKS)
def test_a_task_is_built_from_its_network_config_alone_as_a_dataclass_or_a_dict(name):
    task_class, data, config = TASKS[name]
    torch.manual_seed(0)
    given = task_class(**data, network=config)
    torch.manual_seed(0)
    read = task_class(**data, network=asdict(config))
    assert given.hparams["network"] == read.hparams["network"] == asdict(config)  # saved whole, as plain data
    assert isinstance(given.network, torch.nn.Module)
    state = read.state_dict()
    assert all(torch.equal(value, state[key]) for key, value in given.state_dict().items())
    assert task_class(**data).hparams["network"]  # the defaults build too


@pytest.mark.parametrize(("build", "words"), [
    (lambda: EncoderConfig(dropout=1.5), "EncoderConfig.dropout=1.5: must be in [0, 1)"),
    (lambda: EncoderConfig(num_layers=0), "EncoderConfig.num_layers=0: must be at least 1"),
    (lambda: EncoderConfig(cell="tree"), "EncoderConfig.cell='tree': must be one of"),
    (lambda: ClassifierConfig(pooling="sum"), "ClassifierConfig.pooling='sum': must be one of"),
    (lambda: ClassifierConfig(attention_size=0), "ClassifierConfig.attention_size=0"),
    (lambda: HierarchicalConfig(word_buckets=0), "HierarchicalConfig.word_buckets=0"),
    (lambda: TreeLSTMConfig(dropout=1.0), "TreeLSTMConfig.dropout=1.0"),
    (lambda: TreeLSTMConfig(cell="binary"), "TreeLSTMConfig.cell='binary'"),
    (lambda: CNNBiLSTMConfig(widths=[3, 4]), "CNNBiLSTMConfig.widths=[3, 4]: convolution widths must be odd"),
    (lambda: CNNBiLSTMConfig(channels=0), "CNNBiLSTMConfig.channels=0"),
    (lambda: ReservoirConfig(leak_rate=1.5), "ReservoirConfig.leak_rate=1.5: must be in (0, 1]"),
    (lambda: ReservoirConfig(spectral_radius=0), "ReservoirConfig.spectral_radius=0: must be greater than 0"),
    (lambda: EchoStateClassifierConfig(alpha=-1), "EchoStateClassifierConfig.alpha=-1: must be at least 0"),
    (lambda: AcousticConfig(dropout=1.0), "AcousticConfig.dropout=1.0"),
    (lambda: SpeechClassifierConfig(attention_size=0), "SpeechClassifierConfig.attention_size=0"),
    (lambda: ForecasterConfig(num_layers=0), "ForecasterConfig.num_layers=0"),
    (lambda: ForecasterConfig(architecture="transformer"), "ForecasterConfig.architecture='transformer'"),
    (lambda: SequenceClassifier(30, 2, network={"encoder": {"dropout_input": 0.1}}),
     "EncoderConfig has no setting `dropout_input`"),
    (lambda: SequenceClassifier(30, 2, network={"encoder": {"dropout": 2.0}}), "EncoderConfig.dropout=2.0"),
    (lambda: EchoStateClassifier(30, 2, network={"reservoir": {"density": 0}}), "ReservoirConfig.density=0"),
    (lambda: Forecaster(3, 3, 12, 4, network={"dropout": -0.1}), "ForecasterConfig.dropout=-0.1"),
    (lambda: Forecaster(3, 3, 12, 4, network="linear"), "network={'architecture': 'linear', ...}"),
])
def test_bad_values_are_refused_in_one_line_by_field(build, words):
    with pytest.raises(ConfigError) as caught:
        build()
    assert words in str(caught.value) and len(str(caught.value).splitlines()) == 1


@pytest.mark.parametrize(("task_class", "network", "words"), [
    (SequenceClassifier, {"encodr": {}}, "ClassifierConfig has no setting `encodr`; did you mean `encoder`?"),
    (SequenceClassifier, {"encoder": {"hiden_size": 3}},
     "EncoderConfig has no setting `hiden_size`; did you mean `hidden_size`?"),
    (HierarchicalClassifier, {"word_hidden_size": 3}, "HierarchicalConfig has no setting `word_hidden_size`"),
    (TreeClassifier, {"hidden": 3}, "TreeLSTMConfig has no setting `hidden`"),
    (EchoStateClassifier, {"reservoir_size": 3}, "EchoStateClassifierConfig has no setting `reservoir_size`"),
])
def test_an_unknown_key_is_named_with_its_config(task_class, network, words):
    with pytest.raises(ConfigError, match="^" + words.replace("?", r"\?")):
        task_class(30, 2, network=network)


#: The flat hyperparameters folders and checkpoints held before the network group, and the network they mean.
FLAT = {
    "classifier": ({"pooling": "attention", "attention_size": 5, "embedding_dim": 8, "hidden_size": 6, "cell": "gru"},
                   "classifier"),
    "classifier with an encoder group": (
        {"encoder": asdict(SMALL_ENCODER), "pooling": "attention", "attention_size": 5}, "classifier"),
    "hierarchical": ({"embedding_dim": 8, "word_hidden_size": 6, "cell": "gru", "sentence_hidden_size": 4,
                      "word_attention_size": 5, "sentence_attention_size": 5, "word_buckets": 2}, "hierarchical"),
    "hierarchical with an encoder group": ({"encoder": asdict(SMALL_ENCODER), "word_hidden_size": None,
                                            "sentence_hidden_size": 4, "word_attention_size": 5,
                                            "sentence_attention_size": 5, "word_buckets": 2}, "hierarchical"),
    "tree": ({"embedding_dim": 8, "hidden_size": 6, "cell": "child_sum", "dropout": 0.1, "word_vectors": None},
             "tree"),
    "cnn_rnn": ({"embedding_dim": 8, "channels": 4, "widths": [1, 3], "hidden_size": 5, "dropout": 0.1}, "cnn_rnn"),
    "echo_state": ({"reservoir": {"embedding_dim": 4, "reservoir_size": 20}, "alpha": 0.5}, "echo_state"),
    "forecaster": ({"network": "seq2seq", "hidden_size": 8, "num_layers": 1, "cell": "gru", "attention": True,
                    "series_spec": None}, "forecaster"),
}


@pytest.mark.parametrize("name", FLAT)
def test_old_flat_hyperparameters_fold_into_the_network_and_load_the_weights(name):
    flat, task = FLAT[name]
    task_class, data, config = TASKS[task]
    new = task_class(**data, network=config)
    loaded = build_module(task_class, {**data, **flat})
    assert loaded.hparams["network"] == asdict(config)
    loaded.load_state_dict(new.state_dict())  # strict: the same weights in the same places


def test_old_cnn_rnn_hyperparameters_without_widths_take_the_default_widths():
    loaded = build_module(CNNRNNClassifier, {"vocab_size": 30, "num_classes": 2, "widths": None, "channels": 4})
    assert loaded.hparams["network"]["widths"] == [3, 5] and loaded.hparams["network"]["channels"] == 4
