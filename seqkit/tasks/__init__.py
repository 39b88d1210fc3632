"""LightningModules, one per task: loss, metrics, optimisation and logging."""

from seqkit.tasks.classification import SequenceClassifier
from seqkit.tasks.language_modeling import LanguageModel

__all__ = ["LanguageModel", "SequenceClassifier"]
