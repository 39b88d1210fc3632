"""Tasks for the CNN + RNN models of :mod:`seqkit.models.cnn_rnn`: a character-aware language model and a
CNN-then-BiLSTM text classifier."""

from __future__ import annotations

from typing import Any

from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable

from seqkit.data.info import DataNeed
from seqkit.models.char_cnn_lm import CharCNNLMConfig, char_cnn_language_model
from seqkit.models.cnn_rnn import CNNBiLSTMClassifierNet, CNNBiLSTMConfig
from seqkit.models.rnn_lm import RNNLanguageModel
from seqkit.tasks.base import TaskModule
from seqkit.tasks.classifier_steps import ClassifierSteps
from seqkit.tasks.language_modeling import LanguageModel

#: The character-aware model's default settings.
DEFAULT_CHAR_CNN = CharCNNLMConfig()
#: The classifier network's default settings (one instance, shared by the signature).
DEFAULT_CLASSIFIER = CNNBiLSTMConfig()


class CharCNNLanguageModel(LanguageModel):
    """A word-level LSTM language model whose input words are read from their characters (Kim et al. 2016):
    :class:`~seqkit.models.cnn_rnn.CharCNNWordEncoder` (character CNN + highway) is the input layer instead of a word
    embedding; the output is still a softmax over the word vocabulary (untied: the input side has no word matrix to
    share).

    Training, truncated BPTT and metrics are :class:`~seqkit.tasks.LanguageModel`'s. The words' spellings are read
    from the data's tokenizer when training starts and saved with the weights.

    Args:
        vocab_size: Vocabulary size (from the data).
        pad_id: Padding id (from the data).
        network: The network, :class:`~seqkit.models.char_cnn_lm.CharCNNLMConfig` (``model.init_args.network``).
        ar_alpha, tar_beta, scale_lr_by_length, optimizer, lr_scheduler: As for :class:`~seqkit.tasks.LanguageModel`.
    """

    default_network = DEFAULT_CHAR_CNN

    def __init__(self, vocab_size: int, pad_id: int | None = None, network: CharCNNLMConfig = DEFAULT_CHAR_CNN,
                 ar_alpha: float = 0.0, tar_beta: float = 0.0, scale_lr_by_length: bool = False,
                 optimizer: OptimizerCallable | None = None, lr_scheduler: LRSchedulerCallable | None = None) -> None:
        super().__init__(vocab_size, pad_id, network, ar_alpha, tar_beta, scale_lr_by_length, optimizer, lr_scheduler)

    def build_network(self, vocab_size: int, pad_id: int | None, network: CharCNNLMConfig) -> RNNLanguageModel:
        return char_cnn_language_model(vocab_size, network, pad_id)

    def data_needs(self) -> list[DataNeed]:
        return [*super().data_needs(), DataNeed("tokenizer", "spelling of its words", stages=("fit",))]

    def setup(self, stage: str) -> None:
        super().setup(stage)
        # Spell the vocabulary for a fresh fit; a checkpoint being resumed, tested or used carries the spellings.
        if stage != "fit" or self.trainer.ckpt_path is not None:
            return
        tokenizer = self.data_info.tokenizer
        self.network.embedding.set_vocabulary([tokenizer.id_to_token(i) for i in range(self.hparams.vocab_size)])


class CNNRNNClassifier(ClassifierSteps, TaskModule):
    """Text classification with :class:`~seqkit.models.cnn_rnn.CNNBiLSTMClassifierNet`: convolutions over word
    embeddings, a bidirectional LSTM over the convolved sequence, max pooling, a linear head.

    Metrics as in :class:`~seqkit.tasks.SequenceClassifier`; ``vocab_size``, ``num_classes``, ``pad_id`` and
    ``label_names`` come from the DataModule.

    Args:
        vocab_size, num_classes, pad_id, label_names: From the data.
        network: :class:`~seqkit.models.cnn_rnn.CNNBiLSTMConfig`: ``embedding_dim``, ``channels``, ``widths``,
            ``hidden_size``, ``dropout``; a dict is read as one.
        optimizer, lr_scheduler: The recipe's optimizer (default Adam, lr 1e-3) and scheduler factories.
    """

    default_network = DEFAULT_CLASSIFIER

    def __init__(self, vocab_size: int, num_classes: int, pad_id: int = 0,
                 network: CNNBiLSTMConfig = DEFAULT_CLASSIFIER, label_names: list[str] | None = None,
                 optimizer: OptimizerCallable | None = None, lr_scheduler: LRSchedulerCallable | None = None) -> None:
        super().__init__(optimizer, lr_scheduler)
        self.network = CNNBiLSTMClassifierNet(vocab_size, num_classes, self.network_config, pad_id)
        self.setup_metrics(num_classes)

    @classmethod
    def upgrade_hparams(cls, hparams: dict[str, Any]) -> dict[str, Any]:
        """Folders written before the ``network`` group may hold ``widths: null`` (the default widths)."""
        if "widths" in hparams and hparams["widths"] is None:
            del hparams["widths"]
        return hparams


from seqkit.registry import TaskDeclaration, register_task  # noqa: E402 - the declaration closes the module

register_task(TaskDeclaration(
    CharCNNLanguageModel, pipeline_tag="text-generation", tags=("language-model", "char-cnn"),
    predictor="seqkit.inference.generate:LanguageModelPredictor",
    data_links=("vocab_size", "pad_id"),
))

register_task(TaskDeclaration(
    CNNRNNClassifier, pipeline_tag="text-classification", tags=("text-classification", "cnn-rnn"),
    predictor="seqkit.inference.classify:ClassifierPredictor",
    data_links=("vocab_size", "num_classes", "pad_id", "label_names"),
))
