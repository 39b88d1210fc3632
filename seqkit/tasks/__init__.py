"""LightningModules, one per task: loss, metrics, optimisation and logging."""

from seqkit.tasks.classification import SequenceClassifier
from seqkit.tasks.cnn_rnn import CharCNNLanguageModel, CNNRNNClassifier
from seqkit.tasks.echo_state import EchoStateClassifier, EchoStateLM
from seqkit.tasks.forecasting import Forecaster
from seqkit.tasks.hierarchical import HierarchicalClassifier
from seqkit.tasks.history_compressor import HistoryCompressorLM
from seqkit.tasks.language_modeling import LanguageModel
from seqkit.tasks.speech import CTCSpeechRecognizer, SpeechClassifier
from seqkit.tasks.translation import Seq2SeqTranslator
from seqkit.tasks.tree import TreeClassifier

__all__ = [
    "CNNRNNClassifier",
    "CTCSpeechRecognizer",
    "CharCNNLanguageModel",
    "EchoStateClassifier",
    "EchoStateLM",
    "Forecaster",
    "HierarchicalClassifier",
    "HistoryCompressorLM",
    "LanguageModel",
    "Seq2SeqTranslator",
    "SequenceClassifier",
    "SpeechClassifier",
    "TreeClassifier",
]
