"""Document classification with a hierarchical attention network
(:class:`~seqkit.models.hierarchical.HierarchicalAttentionNet`)."""

from __future__ import annotations

from typing import Any

import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import Tensor

from seqkit.models.hierarchical import INPUTS, HierarchicalAttentionNet, HierarchicalConfig
from seqkit.tasks.base import TaskModule
from seqkit.tasks.classifier_steps import ClassifierSteps

#: The network's default settings (one instance, shared by the signature).
DEFAULT_NETWORK = HierarchicalConfig()


class HierarchicalClassifier(ClassifierSteps, TaskModule):
    """Hierarchical attention network: word encoder + word attention, sentence encoder + sentence attention.

    Metrics as in :class:`~seqkit.tasks.SequenceClassifier`: accuracy and macro-F1 for validation and test, and
    the test confusion matrix in ``<run_dir>/confusion_matrix.csv``. ``vocab_size``, ``num_classes``, ``pad_id``
    and ``label_names`` come from the DataModule when run through the seqkit CLI.

    Args:
        vocab_size, num_classes, pad_id, label_names: From the data.
        network: :class:`~seqkit.models.hierarchical.HierarchicalConfig`: the word level's ``encoder`` group
            (``cell: gru`` as in the paper; its ``cell``, ``num_layers`` and ``dropout`` apply to the sentence level
            too), ``sentence_hidden_size``, the attention sizes and ``word_buckets``; a dict is read as one.
        optimizer, lr_scheduler: The recipe's optimizer (default Adam, lr 1e-3) and scheduler factories.
    """

    default_network = DEFAULT_NETWORK
    #: Checkpoints written before the network moved into ``network``.
    legacy_keys = {name: f"network.{name}" for name in
                   ("encoder.", "word_attention.", "sentence_encoder.", "sentence_attention.", "head.")}

    def __init__(
        self,
        vocab_size: int,
        num_classes: int,
        pad_id: int = 0,
        network: HierarchicalConfig = DEFAULT_NETWORK,
        label_names: list[str] | None = None,
        optimizer: OptimizerCallable | None = None,
        lr_scheduler: LRSchedulerCallable | None = None,
    ) -> None:
        super().__init__(optimizer, lr_scheduler)
        self.network = HierarchicalAttentionNet(vocab_size, num_classes, self.network_config, pad_id)
        self.setup_metrics(num_classes)

    @classmethod
    def upgrade_hparams(cls, hparams: dict[str, Any]) -> dict[str, Any]:
        """Folders written before the ``encoder`` group name the word encoder's width ``word_hidden_size``."""
        word_hidden_size = hparams.pop("word_hidden_size", None)
        if word_hidden_size is not None:
            hparams["hidden_size"] = word_hidden_size  # folded into network.encoder next
        return hparams

    @torch.no_grad()
    def attention_weights(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """Predictions and attention weights of a batch, regrouped per document.

        Returns:
            ``probabilities`` ``(B, C)``, ``sentence_weights`` ``(B, S)`` and ``word_weights`` ``(B, S, W)``
            (word weights of each document's ``s``-th sentence; zero on padding).
        """
        documents, sentence_weights, word_weights = self.network.encode(*(batch[name] for name in INPUTS))
        padded = torch.cat([word_weights, word_weights.new_zeros(1, word_weights.shape[1])])
        return {
            "probabilities": self.network.head(documents).softmax(-1),
            "sentence_weights": sentence_weights,
            "word_weights": padded[batch["document_index"]],
        }

    def model_inputs(self, batch: dict[str, Tensor]) -> tuple[Tensor, ...]:
        return tuple(batch[name] for name in INPUTS)


from seqkit.registry import TaskDeclaration, register_task  # noqa: E402 - the declaration closes the module

register_task(TaskDeclaration(
    HierarchicalClassifier, pipeline_tag="text-classification", tags=("text-classification", "hierarchical-attention"),
    predictor="seqkit.inference.explain:HierarchicalPredictor",
    data_links=("vocab_size", "num_classes", "pad_id", "label_names"),
))
