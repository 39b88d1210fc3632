"""LightningModules, one per task: loss, metrics, optimisation and logging."""

from seqkit.tasks.classification import SequenceClassifier

__all__ = ["SequenceClassifier"]
