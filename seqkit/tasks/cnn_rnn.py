"""Tasks for the CNN + RNN models of :mod:`seqkit.models.cnn_rnn`: a character-aware language model and a
CNN-then-BiLSTM text classifier."""

from __future__ import annotations

from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable

from seqkit.data.info import DataNeed
from seqkit.models.cnn_rnn import CharCNNWordEncoder, CNNBiLSTMClassifierNet
from seqkit.nn.recurrent import CellType
from seqkit.tasks.base import TaskModule
from seqkit.tasks.classifier_steps import ClassifierSteps
from seqkit.tasks.language_modeling import LanguageModel


class CharCNNLanguageModel(LanguageModel):
    """A word-level LSTM language model whose input words are read from their characters (Kim et al. 2016):
    :class:`~seqkit.models.cnn_rnn.CharCNNWordEncoder` (character CNN + highway) replaces the word embedding; the
    output is still a softmax over the word vocabulary (untied: the input side has no word matrix to share).

    Training, truncated BPTT and metrics are :class:`~seqkit.tasks.LanguageModel`'s. The words' spellings are read
    from the data's tokenizer when training starts and saved with the weights.

    Args:
        vocab_size: Vocabulary size (from the data).
        pad_id: Padding id (from the data).
        char_dim: Character embedding size.
        filters: ``{width: count}`` of the character convolutions (default Kim et al.'s small model, 25 per unit
            of width, widths 1-6: 525 features).
        highway_layers: Highway layers after the CNN.
        max_word_length: Characters per word, with the beginning and end markers.
        hidden_size, num_layers, cell, dropout, dropout_input, dropout_hidden, weight_drop, optimizer,
        lr_scheduler: As for :class:`~seqkit.tasks.LanguageModel`.
    """

    def __init__(self, vocab_size: int, pad_id: int | None = None, char_dim: int = 15,
                 filters: dict[int, int] | None = None, highway_layers: int = 1, max_word_length: int = 21,
                 hidden_size: int = 300, num_layers: int = 2, cell: CellType = "lstm", dropout: float = 0.5,
                 dropout_input: float = 0.0, dropout_hidden: float = 0.5, weight_drop: float = 0.0,
                 optimizer: OptimizerCallable | None = None, lr_scheduler: LRSchedulerCallable | None = None) -> None:
        filters = {int(k): int(v) for k, v in (filters or {w: 25 * w for w in range(1, 7)}).items()}
        super().__init__(
            vocab_size, pad_id, embedding_dim=sum(filters.values()), hidden_size=hidden_size, num_layers=num_layers,
            cell=cell, dropout=dropout, dropout_input=dropout_input, dropout_hidden=dropout_hidden,
            dropout_embedding=0.0, weight_drop=weight_drop, tie_weights=False, optimizer=optimizer,
            lr_scheduler=lr_scheduler,
        )
        self.model.embedding = CharCNNWordEncoder(vocab_size, char_dim, filters, highway_layers, max_word_length)

    def data_needs(self) -> list[DataNeed]:
        return [*super().data_needs(), DataNeed("tokenizer", "spelling of its words", stages=("fit",))]

    def setup(self, stage: str) -> None:
        super().setup(stage)
        # Spell the vocabulary for a fresh fit; a checkpoint being resumed, tested or used carries the spellings.
        if stage != "fit" or self.trainer.ckpt_path is not None:
            return
        tokenizer = self.data_info.tokenizer
        self.model.embedding.set_vocabulary([tokenizer.id_to_token(i) for i in range(self.hparams.vocab_size)])


class CNNRNNClassifier(ClassifierSteps, TaskModule):
    """Text classification with :class:`~seqkit.models.cnn_rnn.CNNBiLSTMClassifierNet`: convolutions over word
    embeddings, a bidirectional LSTM over the convolved sequence, max pooling, a linear head.

    Metrics as in :class:`~seqkit.tasks.SequenceClassifier`; ``vocab_size``, ``num_classes``, ``pad_id`` and
    ``label_names`` come from the DataModule.

    Args:
        vocab_size, num_classes, pad_id, label_names: From the data.
        embedding_dim, channels, widths, hidden_size, dropout: See
            :class:`~seqkit.models.cnn_rnn.CNNBiLSTMClassifierNet`.
        optimizer, lr_scheduler: The recipe's optimizer (default Adam, lr 1e-3) and scheduler factories.
    """

    def __init__(self, vocab_size: int, num_classes: int, pad_id: int = 0, embedding_dim: int = 128,
                 channels: int = 100, widths: list[int] | None = None, hidden_size: int = 128, dropout: float = 0.3,
                 label_names: list[str] | None = None, optimizer: OptimizerCallable | None = None,
                 lr_scheduler: LRSchedulerCallable | None = None) -> None:
        super().__init__(optimizer, lr_scheduler)
        self.network = CNNBiLSTMClassifierNet(
            vocab_size=vocab_size, num_classes=num_classes, embedding_dim=embedding_dim, channels=channels,
            widths=tuple(widths or (3, 5)), hidden_size=hidden_size, dropout=dropout, pad_id=pad_id)
        self.setup_metrics(num_classes)
