"""Transcribing audio with a trained speech model: the words a CTC recognizer hears, or the class of an isolated
word, with a confidence, in input order::

    predictor = seqkit.load("runs/speech/fsdd_connected/20250101-120000")
    predictor.transcribe(["call.wav", (samples, 16000)])
    # [{"text": "4071", "labels": [4, 0, 7, 1], "confidence": 0.97, "times": [0.21, 0.66, 1.2, 1.71]}, ...]

Each input is read block by block (:func:`~seqkit.data.audio.stream_audio`), resampled to the model's rate and
turned into the features it was trained on (its ``audio_features``), so a long file is never held whole: only
its features (40 numbers per 10 ms) are. ``confidence`` is the probability of the text: for CTC, of the best
alignment (greedy) or of all alignments of the text (beam search); for a classifier, of the class.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

import numpy as np
import torch
from torch import Tensor

from seqkit.data.audio import describe, stream_audio
from seqkit.data.features import AudioFeatures, LogMelFrontend, normalize_utterances
from seqkit.inference.predictor import Predictor
from seqkit.tasks.speech import CTCSpeechRecognizer, label_text


@dataclass
class Heard:
    """What the model made of one input, with what a plot needs.

    Attributes:
        record: The JSON-ready result (``text``, ``confidence``, ``labels`` or ``label``...).
        features: The (normalised) features the model read ``(T, F)``.
        scores: Per step: label posteriors ``(T', C+1)`` (CTC, blank first) or pooling weights ``(T',)``.
        step_seconds: Seconds per network step (``hop * frame_stacking``).
        frame_seconds: Seconds per feature frame (the hop).
        label_names: The model's label names.
    """

    record: dict[str, Any]
    features: Tensor
    scores: Tensor
    step_seconds: float
    frame_seconds: float
    label_names: list[str]


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


class TranscriberPredictor(Predictor):
    """A :class:`~seqkit.tasks.CTCSpeechRecognizer` or :class:`~seqkit.tasks.SpeechClassifier`: ``transcribe``."""

    def __init__(self, model: Any) -> None:
        super().__init__(model)
        hparams = self.module.hparams
        self.features = AudioFeatures(**dict(hparams.get("audio_features") or {}))
        self.frontend = LogMelFrontend(self.features)
        network = dict(hparams.get("network") or {})
        self.frame_stacking = int(network.get("frame_stacking", 1))
        count = self.module.network.head[-1].out_features - (1 if self.is_ctc else 0)
        self.label_names = list(hparams.get("label_names") or [str(i) for i in range(count)])

    @property
    def is_ctc(self) -> bool:
        return isinstance(self.module, CTCSpeechRecognizer)

    def featurize(self, item: Any, name: str | None = None, max_seconds: float | None = None) -> Tensor:
        """The features the model reads for one input ``(T, F)``, computed block by block."""
        name = name or describe(item)
        blocks = list(self.frontend.blocks(stream_audio(item, self.features.sample_rate, name, max_seconds)))
        feats = torch.cat(blocks) if blocks else torch.zeros(0, self.features.num_features)
        if self.features.normalization == "utterance":
            feats = normalize_utterances(feats[None], torch.tensor([len(feats)]))[0]
        return feats

    @torch.inference_mode()
    def hear(self, items: Iterable[Any], batch_size: int = 8, beam_size: int | None = None,
             max_seconds: float | None = None, names: Iterable[str] | None = None) -> Iterator[Heard]:
        """One :class:`Heard` per input, in order; inputs are read lazily, ``batch_size`` at a time."""
        module = self.module.eval()
        device = self.device
        name_iter = iter(names) if names is not None else None
        frame_seconds = self.features.hop_ms / 1000
        step_seconds = frame_seconds * self.frame_stacking
        for chunk in _chunks(items, batch_size):
            labels = [next(name_iter) if name_iter is not None else describe(item, f"input {i}")
                      for i, item in enumerate(chunk)]
            feats = [self.featurize(item, label, max_seconds) for item, label in zip(chunk, labels, strict=True)]
            lengths = torch.tensor([len(f) for f in feats])
            padded = torch.nn.utils.rnn.pad_sequence(feats, batch_first=True).to(device)
            if self.is_ctc:
                log_probs, steps = module(padded, lengths.to(device))
                found = module.decode(log_probs, steps, beam_size)
                for row, hypothesis in enumerate(found):
                    record = {"text": label_text(hypothesis.tokens, self.label_names),
                              "labels": hypothesis.tokens,
                              "confidence": round(float(np.exp(hypothesis.log_prob)), 6),
                              "times": [round(f * step_seconds, 3) for f in hypothesis.frames]}
                    posteriors = log_probs[row, : int(steps[row])].exp().float().cpu()
                    yield Heard(record, feats[row], posteriors, step_seconds, frame_seconds, self.label_names)
            else:
                logits, weights, steps = module.network.weights(padded, lengths.to(device))
                probabilities = logits.float().softmax(-1).cpu()
                for row in range(len(feats)):
                    label = int(probabilities[row].argmax())
                    record = {"text": self.label_names[label], "label": label,
                              "confidence": round(float(probabilities[row, label]), 6),
                              "probabilities": [round(p, 6) for p in probabilities[row].tolist()]}
                    yield Heard(record, feats[row], weights[row, : int(steps[row])].float().cpu(), step_seconds,
                                frame_seconds, self.label_names)

    def transcribe(self, inputs: Any, batch_size: int = 8, beam_size: int | None = None,
                   max_seconds: float | None = None) -> dict | list[dict]:
        """The text heard in each input (a path, file bytes, ``(samples, rate)``, an array at the model's rate or a
        ``datasets`` audio dict), in order; one record for one input, a list for a list.

        Args:
            inputs: One input or a list of them.
            batch_size: Inputs run through the network together.
            beam_size: CTC decoding: 1 greedy, more: prefix beam search (default: the model's ``beam_size``).
            max_seconds: Refuse inputs longer than this (read from the header first); ``None``: any length.
        """
        single = not isinstance(inputs, list)
        items = [_as_item(item) for item in ([inputs] if single else inputs)]
        records = [heard.record for heard in self.hear(items, batch_size, beam_size, max_seconds)]
        return records[0] if single else records


def _as_item(item: Any) -> Any:
    """``(samples, rate)`` pairs become ``{"array", "sampling_rate"}`` records; anything else stays."""
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], int):
        return {"array": item[0], "sampling_rate": item[1]}
    return item


def render_heard_png(heard: Heard, out: Any, title: str = "") -> None:
    """Draw one input: its features over time, the per-step label posteriors (CTC) or pooling weights
    (classifier), and the text heard, to ``out`` (a path or a binary file object) as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    feats = heard.features.numpy()
    frame_seconds = heard.frame_seconds
    step_times = (np.arange(len(heard.scores)) + 0.5) * heard.step_seconds
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(10.5, 5.2), sharex=True,
                                         gridspec_kw={"height_ratios": [1.2, 1]})
    top.imshow(feats.T, origin="lower", aspect="auto", cmap="magma",
               extent=(0, len(feats) * frame_seconds, 0, feats.shape[1]))
    top.set_ylabel("mel channel")
    record = heard.record
    heading = f"heard: {record['text']!r}  (confidence {record['confidence']:.3f})"
    top.set_title(f"{title}\n{heading}" if title else heading, fontsize=11)
    if heard.scores.dim() == 2:  # CTC posteriors: one curve per label, the blank dashed
        scores = heard.scores.numpy()
        colours = plt.get_cmap("tab10")
        bottom.plot(step_times, scores[:, 0], color="0.6", linestyle="--", linewidth=1, label="blank")
        for index in range(1, scores.shape[1]):
            if scores[:, index].max() > 0.05:
                bottom.plot(step_times, scores[:, index], color=colours((index - 1) % 10), linewidth=1.6,
                            label=heard.label_names[index - 1])
        for label, time in zip(record["labels"], record["times"], strict=True):
            for axis in (top, bottom):
                axis.axvline(time + heard.step_seconds / 2, color="white" if axis is top else "0.3", linewidth=0.8,
                             alpha=0.7)
            top.text(time + heard.step_seconds / 2, feats.shape[1] * 0.98, heard.label_names[label], color="white",
                     ha="center", va="top", fontsize=14, fontweight="bold")
        bottom.set_ylabel("P(label | step)")
        bottom.set_ylim(0, 1.02)
        bottom.legend(loc="upper left", bbox_to_anchor=(1.0, 1.02), fontsize=8, frameon=False)
    else:  # pooling weights of a classifier
        bottom.fill_between(step_times, heard.scores.numpy(), color="tab:blue", alpha=0.5, step="mid")
        bottom.set_ylabel("pooling weight")
    bottom.set_xlabel("seconds")
    figure.tight_layout()
    figure.savefig(out, format="png", dpi=100)
    plt.close(figure)


__all__ = ["Heard", "TranscriberPredictor", "render_heard_png"]
