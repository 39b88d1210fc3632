"""Speech tasks: isolated-word classification and connected-word recognition with CTC.

Both take feature frames from a speech DataModule (:mod:`seqkit.data.speech`) and keep with their weights what a
trained model needs to hear new audio: the feature settings (``audio_features``), the training statistics of
global normalisation (``feature_stats``) and the class names (``label_names``), all filled in by the seqkit CLI
from the data.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
import torch.nn.functional as F
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import Tensor
from torchmetrics import MeanMetric
from torchmetrics.text import WordErrorRate

from seqkit.data.features import AudioFeatures
from seqkit.errors import ConfigError
from seqkit.models.speech import AcousticConfig, CTCAcousticNet, SpeechClassifierConfig, SpeechClassifierNet
from seqkit.search import CTCHypothesis, ctc_greedy_decode, ctc_prefix_beam_search
from seqkit.tasks.base import TaskModule, as_config
from seqkit.tasks.classifier_steps import ClassifierSteps

#: The networks' default settings (one instance each, shared by the signatures).
DEFAULT_CLASSIFIER = SpeechClassifierConfig()
DEFAULT_ACOUSTIC = AcousticConfig()


def label_text(tokens: list[int], label_names: list[str] | None) -> str:
    """The text of a label sequence: names joined without spaces when every name is one character (digits:
    ``"314"``), else with spaces (``"three one four"``)."""
    names = [label_names[t] if label_names and t < len(label_names) else str(t) for t in tokens]
    return ("" if all(len(name) == 1 for name in names) else " ").join(names)


class SpeechClassifier(ClassifierSteps, TaskModule):
    """Isolated words: feature frames -> (bi)LSTM/GRU -> pooling -> class logits, trained with cross-entropy.

    Logs accuracy and macro-F1 and writes the test confusion matrix; ``val_loss`` chooses the best checkpoint.

    Args:
        num_features: Feature width ``F`` (from the data).
        num_classes: Number of classes ``C`` (from the data).
        network: :class:`~seqkit.models.speech.SpeechClassifierConfig`: recurrent layers, frame stacking, pooling.
        audio_features: The data's :class:`~seqkit.data.features.AudioFeatures`, kept so that new audio gets the
            same features.
        feature_stats: Training mean and standard deviation per feature (global normalisation), or ``None``.
        label_names: Class names in id order.
        optimizer, lr_scheduler: The recipe's optimizer (default Adam, lr 1e-3) and scheduler.
    """

    #: Validation loss, not accuracy, picks the best checkpoint: on a few hundred recordings accuracy moves in steps
    #: of a third of a percent and ties, where the loss still tells the epochs apart.
    monitor = ("val_loss", "min")
    default_network = DEFAULT_CLASSIFIER

    def __init__(self, num_features: int, num_classes: int,
                 network: SpeechClassifierConfig = DEFAULT_CLASSIFIER,
                 audio_features: AudioFeatures | None = None, feature_stats: dict[str, list[float]] | None = None,
                 label_names: list[str] | None = None, optimizer: OptimizerCallable | None = None,
                 lr_scheduler: LRSchedulerCallable | None = None) -> None:
        audio_features = as_config(AudioFeatures(), audio_features or AudioFeatures())
        super().__init__(optimizer, lr_scheduler, audio_features=audio_features)
        if audio_features.num_features != num_features:
            raise ConfigError(f"num_features ({num_features}) does not match audio_features "
                              f"({audio_features.num_features}).")
        self.network = SpeechClassifierNet(num_features, num_classes, self.network_config, feature_stats)
        self.setup_metrics(num_classes)

    def model_inputs(self, batch: dict[str, Tensor]) -> tuple[Tensor, ...]:
        """Feature frames ``(B, T, F)`` and their counts ``(B,)``."""
        return batch["features"], batch["feature_lengths"]


class CTCSpeechRecognizer(TaskModule):
    """Connected words: feature frames -> (bi)LSTM/GRU -> per-step label and blank log-probabilities, trained with
    the CTC loss (``torch.nn.functional.ctc_loss``: no frame labels, every alignment summed).

    Validation and test decode each utterance (greedy, or prefix beam search with ``beam_size > 1``) and log the
    word error rate (``val_wer``: edit distance over words / reference words; each digit is a word, so for digits it
    is the digit error rate), the share of utterances decoded exactly (``val_sentence_acc``) and the loss.

    Args:
        num_features: Feature width ``F`` (from the data).
        num_classes: Number of labels ``C``, without the blank (from the data).
        network: :class:`~seqkit.models.speech.AcousticConfig`: recurrent layers and frame stacking.
        audio_features: The data's :class:`~seqkit.data.features.AudioFeatures` (kept with the model).
        feature_stats: Training mean and standard deviation per feature (global normalisation), or ``None``.
        label_names: Label names in id order.
        beam_size: Decoding during evaluation and prediction: 1 greedy, more: prefix beam search.
        optimizer, lr_scheduler: The recipe's optimizer (default Adam, lr 1e-3) and scheduler.
    """

    monitor = ("val_wer", "min")
    default_network = DEFAULT_ACOUSTIC

    def __init__(self, num_features: int, num_classes: int, network: AcousticConfig = DEFAULT_ACOUSTIC,
                 audio_features: AudioFeatures | None = None, feature_stats: dict[str, list[float]] | None = None,
                 label_names: list[str] | None = None, beam_size: int = 1, optimizer: OptimizerCallable | None = None,
                 lr_scheduler: LRSchedulerCallable | None = None) -> None:
        audio_features = as_config(AudioFeatures(), audio_features or AudioFeatures())
        super().__init__(optimizer, lr_scheduler, audio_features=audio_features)
        if beam_size < 1:
            raise ConfigError(f"beam_size must be at least 1, got {beam_size}.")
        if audio_features.num_features != num_features:
            raise ConfigError(f"num_features ({num_features}) does not match audio_features "
                              f"({audio_features.num_features}).")
        self.network = CTCAcousticNet(num_features, num_classes, self.network_config, feature_stats)
        for stage in ("val", "test"):  # torchmetrics states, summed across ranks under DDP
            setattr(self, f"{stage}_wer", WordErrorRate())
            setattr(self, f"{stage}_sentence_acc", MeanMetric())
            setattr(self, f"{stage}_mean_loss", MeanMetric())

    def decode(self, log_probs: Tensor, lengths: Tensor, beam_size: int | None = None) -> list[CTCHypothesis]:
        """Label sequences (ids ``0..C-1``) of a batch of network outputs ``(B, T', C+1)``."""
        beam = beam_size or self.hparams.beam_size
        found = (ctc_greedy_decode(log_probs, lengths) if beam == 1
                 else ctc_prefix_beam_search(log_probs, lengths, beam_size=beam))
        for hypothesis in found:  # network ids -> label ids (the blank is 0)
            hypothesis.tokens = [token - 1 for token in hypothesis.tokens]
        return found

    def _loss(self, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor, Tensor]:
        log_probs, lengths = self(batch["features"], batch["feature_lengths"])
        targets = (batch["targets"] + 1).clamp(min=0)  # label c is network id c+1; padding (-1) is never read
        loss = F.ctc_loss(log_probs.transpose(0, 1).float(), targets, lengths, batch["target_lengths"], blank=0,
                          zero_infinity=True)
        return loss, log_probs, lengths

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        loss, _, _ = self._loss(batch)
        self.log("train_loss", loss, prog_bar=True, batch_size=len(batch["targets"]))
        return loss

    def _evaluate(self, batch: dict[str, Tensor], stage: str) -> None:
        loss, log_probs, lengths = self._loss(batch)
        found = self.decode(log_probs, lengths)
        references = [row[: int(n)].tolist() for row, n in zip(batch["targets"], batch["target_lengths"], strict=True)]
        wer, exact = getattr(self, f"{stage}_wer"), getattr(self, f"{stage}_sentence_acc")
        wer.update([" ".join(map(str, h.tokens)) for h in found], [" ".join(map(str, r)) for r in references])
        exact.update(torch.tensor([float(h.tokens == r) for h, r in zip(found, references, strict=True)]))
        size = len(references)
        mean_loss = getattr(self, f"{stage}_mean_loss")
        mean_loss.update(loss, size)  # the batch's mean over utterances, weighted by them
        self.log(f"{stage}_loss", mean_loss, batch_size=size)
        self.log(f"{stage}_wer", wer, prog_bar=True, batch_size=size)
        self.log(f"{stage}_sentence_acc", exact, prog_bar=stage == "val", batch_size=size)

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self._evaluate(batch, "val")

    def test_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self._evaluate(batch, "test")

    def predict_step(self, batch: dict[str, Tensor], batch_idx: int) -> list[dict[str, Any]]:
        """One record per utterance: decoded ``labels``, ``text`` and ``confidence``, and the ``reference``
        labels when the batch has them."""
        log_probs, lengths = self(batch["features"], batch["feature_lengths"])
        names = self.hparams.get("label_names")
        records = []
        for row, hypothesis in enumerate(self.decode(log_probs, lengths)):
            record = {"labels": hypothesis.tokens, "text": label_text(hypothesis.tokens, names),
                      "confidence": round(float(torch.tensor(hypothesis.log_prob).exp()), 6)}
            if "targets" in batch:
                record["reference"] = batch["targets"][row, : int(batch["target_lengths"][row])].tolist()
            records.append(record)
        return records

    def format_predictions(self, batches: list[list[dict[str, Any]]]) -> Iterator[dict[str, Any]]:
        for batch in batches:
            yield from batch


from seqkit.registry import TaskDeclaration, register_task  # noqa: E402 - the declaration closes the module

register_task(TaskDeclaration(
    SpeechClassifier, pipeline_tag="audio-classification", tags=("audio-classification", "speech", "keyword-spotting"),
    predictor="seqkit.inference.transcribe:TranscriberPredictor",
    tokenizer=False,
    data_links=("num_features", "num_classes", "audio_features", "feature_stats", "label_names"),
))

register_task(TaskDeclaration(
    CTCSpeechRecognizer, pipeline_tag="automatic-speech-recognition",
    tags=("automatic-speech-recognition", "speech", "ctc"),
    predictor="seqkit.inference.transcribe:TranscriberPredictor",
    tokenizer=False,
    data_links=("num_features", "num_classes", "audio_features", "feature_stats", "label_names"),
))
