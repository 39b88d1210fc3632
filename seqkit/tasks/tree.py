"""Tree-structured sentiment classification: a Tree-LSTM trained on every node's label, evaluated on the root."""

from __future__ import annotations

import torch.nn.functional as F
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from lightning.pytorch.utilities import rank_zero_info
from torch import Tensor
from torchmetrics.classification import MulticlassAccuracy

from seqkit.data.info import DataNeed
from seqkit.data.trees import IGNORE
from seqkit.models.tree_lstm import TreeLSTM, TreeLSTMConfig
from seqkit.nn import load_word_vectors
from seqkit.tasks.base import TaskModule
from seqkit.tasks.classifier_steps import ClassifierSteps

#: The tensors the network takes, in order; every :class:`~seqkit.data.trees.TreeCollator` batch holds them.
INPUTS = ("input_ids", "children", "level_sizes")
#: The network's default settings (one instance, shared by the signature).
DEFAULT_NETWORK = TreeLSTMConfig()


class TreeClassifier(ClassifierSteps, TaskModule):
    """A :class:`~seqkit.models.tree_lstm.TreeLSTM` with a classifier on every node (Tai et al. 2015).

    The training loss is the cross-entropy averaged over every labelled node of the batch (phrases and words as
    well as whole sentences), and ``val_loss``/``test_loss`` average it over every labelled node of the split;
    accuracy, macro-F1 and the test confusion matrix are those of the roots (the
    sentence task), as for :class:`~seqkit.tasks.SequenceClassifier`. ``val_node_acc`` is the accuracy over all
    labelled nodes. ``vocab_size``, ``num_classes``, ``pad_id`` and ``label_names`` come from the DataModule.

    Args:
        vocab_size, num_classes, pad_id, label_names: From the data.
        network: :class:`~seqkit.models.tree_lstm.TreeLSTMConfig`: ``embedding_dim``, ``hidden_size``, ``cell``,
            ``dropout``; a dict is read as one.
        word_vectors: A GloVe / word2vec text file whose vectors initialise the embeddings when training starts.
        optimizer, lr_scheduler: The recipe's optimizer (default Adam, lr 1e-3) and scheduler factories.
    """

    default_network = DEFAULT_NETWORK

    def __init__(
        self,
        vocab_size: int,
        num_classes: int,
        pad_id: int = 0,
        network: TreeLSTMConfig = DEFAULT_NETWORK,
        word_vectors: str | None = None,
        label_names: list[str] | None = None,
        optimizer: OptimizerCallable | None = None,
        lr_scheduler: LRSchedulerCallable | None = None,
    ) -> None:
        super().__init__(optimizer, lr_scheduler)
        self.network = TreeLSTM(vocab_size, num_classes, self.network_config, pad_id)
        self.word_vector_coverage: float | None = None
        self.setup_metrics(num_classes)
        self.val_node_accuracy = MulticlassAccuracy(num_classes, average="micro", ignore_index=IGNORE)

    def data_needs(self) -> list[DataNeed]:
        return [DataNeed("tokenizer", "word_vectors", stages=("fit",))] if self.hparams.word_vectors else []

    def setup(self, stage: str) -> None:
        super().setup(stage)
        if stage != "fit" or self.trainer.ckpt_path is not None or not self.hparams.word_vectors:
            return
        if self.word_vector_coverage is None:
            self.word_vector_coverage = load_word_vectors(self.hparams.word_vectors,
                                                          self.data_info.tokenizer, self.network.embedding)
            rank_zero_info(f"Word vectors: {self.word_vector_coverage:.1%} of the vocabulary found")

    def forward(self, input_ids: Tensor, children: Tensor, level_sizes: Tensor, roots: Tensor) -> Tensor:
        """Root logits ``(B, C)`` of a :class:`~seqkit.data.trees.TreeCollator` batch."""
        return self.network(input_ids, children, level_sizes)[roots]

    def node_logits(self, batch: dict[str, Tensor]) -> Tensor:
        """Logits of every node of the batch ``(N, C)``, in the batch's level order."""
        return self.network(*(batch[name] for name in INPUTS))

    def model_inputs(self, batch: dict[str, Tensor]) -> tuple[Tensor, ...]:
        return (*(batch[name] for name in INPUTS), batch["roots"])

    def _node_step(self, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        """Node logits ``(N, C)`` and the loss averaged over every labelled node."""
        nodes = self.node_logits(batch)
        return nodes, F.cross_entropy(nodes, batch["node_labels"], ignore_index=IGNORE)

    def _step(self, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        nodes, loss = self._node_step(batch)
        return nodes[batch["roots"]], loss

    def loss_weight(self, batch: dict[str, Tensor]) -> int:
        """The labelled nodes of the batch: the loss is their mean, so a split's loss is the mean over all of its."""
        return int((batch["node_labels"] != IGNORE).sum())

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        nodes, loss = self._node_step(batch)
        self.val_metrics.update(nodes[batch["roots"]], batch["labels"])
        self.val_node_accuracy.update(nodes, batch["node_labels"])
        self.val_mean_loss.update(loss, self.loss_weight(batch))
        self.log("val_loss", self.val_mean_loss)
        self.log_dict(self.val_metrics, prog_bar=True)
        self.log("val_node_acc", self.val_node_accuracy)


from seqkit.registry import TaskDeclaration, register_task  # noqa: E402 - the declaration closes the module

register_task(TaskDeclaration(
    TreeClassifier, pipeline_tag="text-classification", tags=("text-classification", "tree-lstm"),
    predictor="seqkit.inference.trees:TreePredictor",
    data_links=("vocab_size", "num_classes", "pad_id", "label_names"),
))
