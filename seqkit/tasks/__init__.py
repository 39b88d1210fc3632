"""LightningModules, one per task: loss, metrics, optimisation and logging."""

from seqkit.tasks.classification import SequenceClassifier
from seqkit.tasks.echo_state import EchoStateClassifier, EchoStateLM
from seqkit.tasks.hierarchical import HierarchicalClassifier
from seqkit.tasks.history_compressor import HistoryCompressorLM
from seqkit.tasks.language_modeling import LanguageModel
from seqkit.tasks.translation import Seq2SeqTranslator

__all__ = [
    "EchoStateClassifier", "EchoStateLM", "HierarchicalClassifier", "HistoryCompressorLM", "LanguageModel",
    "Seq2SeqTranslator", "SequenceClassifier",
]
