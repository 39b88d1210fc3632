"""Sequence classification: a :class:`~seqkit.models.classifier.SequenceClassifierNet` trained with cross-entropy."""

from __future__ import annotations

from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from lightning.pytorch.utilities import rank_zero_info
from torch import nn

from seqkit.data.info import DataNeed
from seqkit.data.tokenizers import load_tokenizer
from seqkit.errors import CheckpointError
from seqkit.models.classifier import ClassifierConfig, SequenceClassifierNet
from seqkit.models.lm_encoder import LanguageModelEncoder, read_lm_checkpoint
from seqkit.nn import load_word_vectors
from seqkit.nn.pretrained import VocabularyLike
from seqkit.tasks.base import TaskModule
from seqkit.tasks.classifier_steps import ClassifierSteps

#: The network's default settings (one instance, shared by the signature).
DEFAULT_NETWORK = ClassifierConfig()


class SequenceClassifier(ClassifierSteps, TaskModule):
    """Embeddings -> (bi)LSTM/GRU/RNN -> pooling -> linear classifier.

    With ``pretrained_lm`` the embeddings and recurrent layers are a trained seqkit language model's (ULMFiT,
    Howard and Ruder 2018): its architecture replaces ``network.encoder`` (but for its ``dropout``), its weights are
    loaded when training starts, and ``layer_lr_decay`` with the :class:`~seqkit.callbacks.GradualUnfreezing`
    callback fine-tunes it layer by layer.

    ``vocab_size``, ``num_classes``, ``pad_id`` and ``label_names`` come from the DataModule when run through the
    seqkit CLI.

    Args:
        vocab_size: Number of token ids.
        num_classes: Number of classes ``C``.
        pad_id: Padding id.
        network: :class:`~seqkit.models.classifier.ClassifierConfig`: the ``encoder`` group (``embedding_dim``,
            ``hidden_size`` per direction, ``num_layers``, ``cell``, ``bidirectional``, ``dropout``), ``pooling``
            and ``attention_size``; a dict is read as one.
        word_vectors: A GloVe / word2vec text file (``.gz`` allowed) whose vectors initialise the embeddings of the
            tokenizer's tokens when training starts (``embedding_dim`` must match); the vocabulary coverage is
            logged as ``word_vector_coverage``.
        freeze_embeddings: Keep the embeddings fixed during training (typically with ``word_vectors``).
        pretrained_lm: A :class:`~seqkit.tasks.LanguageModel` run directory or checkpoint whose embeddings and
            recurrent layers become the encoder. The data must use the same tokenizer (point
            ``data.init_args.tokenizer.path`` at the run's ``tokenizer/``); a different one is refused.
        lm_architecture: The language model's architecture; filled in from ``pretrained_lm`` and saved with the
            classifier so that it loads without the language model's files.
        layer_lr_decay: Discriminative fine-tuning: each layer group below the head trains with the learning rate
            of the group above divided by this (ULMFiT: 2.6). Groups, bottom to top: embeddings, each recurrent
            layer, then pooling and head. 1 gives every parameter the same rate.
        label_names: Class names in id order (from the data), kept with the model for predictions.
        optimizer: Optimizer factory (``class_path`` + ``init_args`` in a recipe); default Adam, lr 1e-3.
        lr_scheduler: Optional learning-rate scheduler factory.
    """

    default_network = DEFAULT_NETWORK
    #: Checkpoints written before the network moved into ``network``.
    legacy_keys = {name: f"network.{name}" for name in ("encoder.", "attention.", "head.")}

    def __init__(
        self,
        vocab_size: int,
        num_classes: int,
        pad_id: int = 0,
        network: ClassifierConfig = DEFAULT_NETWORK,
        word_vectors: str | None = None,
        freeze_embeddings: bool = False,
        pretrained_lm: str | None = None,
        lm_architecture: dict | None = None,
        layer_lr_decay: float = 1.0,
        label_names: list[str] | None = None,
        optimizer: OptimizerCallable | None = None,
        lr_scheduler: LRSchedulerCallable | None = None,
    ) -> None:
        if pretrained_lm and lm_architecture is None:  # saved with the classifier, which then stands alone
            lm_architecture, _, _ = read_lm_checkpoint(pretrained_lm)
        super().__init__(optimizer, lr_scheduler, lm_architecture=lm_architecture)
        if lm_architecture is not None and lm_architecture["vocab_size"] != vocab_size:
            raise CheckpointError(
                f"The language model {pretrained_lm or ''} has {lm_architecture['vocab_size']} token ids but the "
                f"data's tokenizer has {vocab_size}: it was trained with a different tokenizer. Set "
                "data.init_args.tokenizer.path to the language model run's tokenizer/ folder."
            )
        self.network = SequenceClassifierNet(vocab_size, num_classes, self.network_config, pad_id, lm_architecture)
        #: Names of the language model weights copied in (set once ``pretrained_lm`` is loaded).
        self.loaded_lm_weights: list[str] | None = None
        if freeze_embeddings:  # the optimizer skips parameters that never get a gradient
            self.network.encoder.embedding.weight.requires_grad_(False)
        #: Share of the vocabulary that got a pretrained vector (set once ``word_vectors`` are loaded).
        self.word_vector_coverage: float | None = None
        self.setup_metrics(num_classes)

    def data_needs(self) -> list[DataNeed]:
        # The language model's and the word vectors' vocabularies are matched against the data's tokenizer.
        return [DataNeed("tokenizer", option, stages=("fit",))
                for option in ("pretrained_lm", "word_vectors") if self.hparams.get(option)]

    def setup(self, stage: str) -> None:
        super().setup(stage)
        # The tokenizer exists only once the data is set up, so pretrained weights are loaded here rather than in
        # __init__. Only for a fresh fit: a checkpoint being resumed, tested or predicted from replaces them anyway.
        if stage != "fit" or self.trainer.ckpt_path is not None:
            return
        if self.hparams.get("pretrained_lm") and self.loaded_lm_weights is None:
            self.load_language_model(self.hparams.pretrained_lm, self.data_info.tokenizer)
        if not self.hparams.word_vectors or self.word_vector_coverage is not None:
            return
        self.load_word_vectors(self.data_info.tokenizer)
        for logger in self.trainer.loggers:  # self.log is not allowed in setup; the loggers write on rank zero
            logger.log_metrics({"word_vector_coverage": self.word_vector_coverage}, step=0)

    def load_language_model(self, path: str, tokenizer=None) -> list[str]:
        """Copy a trained language model's embeddings and recurrent layers into the encoder.

        ``tokenizer`` (the data's) must be the one the language model was trained with; a different one raises
        :class:`~seqkit.errors.CheckpointError` before anything is copied. Returns the names of the weights loaded.
        """
        if not isinstance(self.network.encoder, LanguageModelEncoder):
            raise CheckpointError("load_language_model needs a classifier built with pretrained_lm / lm_architecture.")
        architecture, state, run_dir = read_lm_checkpoint(path)
        if tokenizer is not None and (run_dir / "tokenizer").is_dir():
            lm_tokenizer = load_tokenizer(run_dir / "tokenizer")
            if not same_vocabulary(lm_tokenizer, tokenizer):
                raise CheckpointError(
                    f"The language model in {run_dir} was trained with a different tokenizer than this data's "
                    f"(same ids must mean the same tokens). Set data.init_args.tokenizer.path: {run_dir / 'tokenizer'}"
                )
        self.loaded_lm_weights = self.network.encoder.load_encoder_state(state)
        rank_zero_info(f"Language model: loaded {len(self.loaded_lm_weights)} tensors from {run_dir}")
        return self.loaded_lm_weights

    def layer_groups(self) -> list[list[nn.Parameter]]:
        """Trainable parameters in groups from the bottom (embeddings) up: each recurrent layer, then the head
        (with pooling). The unit of discriminative learning rates and gradual unfreezing."""
        groups = self.network.layer_groups()
        return groups[1:] if self.hparams.freeze_embeddings else groups

    def load_word_vectors(self, tokenizer: VocabularyLike, path: str | None = None) -> float:
        """Copy vectors from ``path`` (default: the ``word_vectors`` setting) into the embeddings; returns and
        records the vocabulary coverage (special tokens excluded)."""
        path = path or self.hparams.word_vectors
        if not path:
            raise ValueError("no word vector file: pass path or set word_vectors")
        self.word_vector_coverage = load_word_vectors(path, tokenizer, self.network.encoder.embedding)
        rank_zero_info(f"Word vectors: {self.word_vector_coverage:.1%} of the vocabulary found in {path}")
        return self.word_vector_coverage

    def param_groups(self) -> list[dict] | None:
        if self.hparams.layer_lr_decay == 1.0:
            return None
        layers = self.layer_groups()
        decay = self.hparams.layer_lr_decay
        return [{"params": params, "lr_scale": decay ** -(len(layers) - 1 - depth)}
                for depth, params in enumerate(layers)]


def same_vocabulary(first, second) -> bool:
    """Whether two tokenizers give the same ids: the same file, or the same token for every id."""
    if first.fingerprint == second.fingerprint:
        return True
    if first.vocab_size != second.vocab_size:
        return False
    return all(first.id_to_token(i) == second.id_to_token(i) for i in range(first.vocab_size))


from seqkit.registry import RecipeArgs, TaskDeclaration, register_task  # noqa: E402 - the declaration closes the module


def _check_pretrained_lm(init_args: RecipeArgs) -> None:
    """A ``pretrained_lm`` that is not a readable seqkit language model is found before the data is loaded."""
    if init_args.get("pretrained_lm"):
        read_lm_checkpoint(init_args["pretrained_lm"])


register_task(TaskDeclaration(
    SequenceClassifier, pipeline_tag="text-classification", tags=("text-classification",),
    predictor="seqkit.inference.classify:ClassifierPredictor",
    data_links=("vocab_size", "num_classes", "pad_id", "label_names"),
    recipe_checks=(_check_pretrained_lm,),
))
