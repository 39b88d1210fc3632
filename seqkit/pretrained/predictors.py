"""Ready-to-use objects that :func:`seqkit.load` returns: a trained model with its tokenizers and settings."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from seqkit.pretrained.folder import SeqkitModel


class Predictor:
    """A loaded seqkit model (eval mode): ``module``, ``tokenizer`` (and ``tokenizers`` by role), settings.

    Task-specific predictors add ``generate``, ``classify``, ``translate`` or ``explain``.
    """

    def __init__(self, model: SeqkitModel) -> None:
        self.model = model
        self.module = model.module.eval()
        self.tokenizers = model.tokenizers
        self.tokenizer = model.tokenizer

    @property
    def device(self) -> Any:
        return next(self.module.parameters()).device

    def to(self, device: Any) -> Predictor:
        """Move the model to ``device`` (``"cuda"``, ``"cpu"``...); returns ``self``."""
        self.module.to(device)
        return self

    def save_pretrained(self, folder: str, **kwargs: Any) -> None:
        """Write a published folder (see :mod:`seqkit.pretrained.folder`)."""
        self.model.save_pretrained(folder, **kwargs)

    def __repr__(self) -> str:
        vocab = f", vocab={self.tokenizer.vocab_size}" if self.tokenizer is not None else ""
        return f"{type(self).__name__}({self.model.task_class_path}{vocab})"


class LanguageModelPredictor(Predictor):
    """A :class:`~seqkit.tasks.LanguageModel` with its tokenizer: ``generate``."""

    def generate(self, prompts: str | Sequence[str] = "", max_new_tokens: int = 50, temperature: float = 1.0,
                 top_k: int | None = None, top_p: float | None = None, seed: int | None = None) -> str | list[str]:
        """Continue one prompt (returns a string) or several (a list); ``temperature=0`` is greedy.

        See :func:`seqkit.decoding.generate_text`.
        """
        from seqkit.decoding import generate_text

        single = isinstance(prompts, str)
        texts = generate_text(self.module.model, self.tokenizer, [prompts] if single else list(prompts),
                              max_new_tokens, temperature, top_k, top_p, seed=seed)
        return texts[0] if single else texts


class ClassifierPredictor(Predictor):
    """A :class:`~seqkit.tasks.SequenceClassifier` with its tokenizer: ``classify``.

    Texts are truncated as in training (``max_length`` and ``truncation`` of the run's data settings).
    """

    def truncation(self) -> dict[str, Any]:
        settings = self.model.data_settings().get("init_args") or {}
        return {"max_length": settings.get("max_length", 512), "truncation": settings.get("truncation", "head")}

    def classify(self, texts: str | Iterable[str], batch_size: int = 64) -> dict | list[dict]:
        """``{"label", "label_name"?, "probabilities"}`` for one text, or a list of them for several."""
        from seqkit.classify import classify_texts

        single = isinstance(texts, str)
        records = classify_texts(self.module, self.tokenizer, [texts] if single else texts, batch_size,
                                 **self.truncation())
        return records[0] if single else records


class TranslatorPredictor(Predictor):
    """A :class:`~seqkit.tasks.translation.Seq2SeqTranslator` with its source and target tokenizers: ``translate``."""

    @property
    def target_tokenizer(self) -> Any:
        return self.tokenizers.get("tokenizer_target", self.tokenizer)

    def translate(self, texts: str | Iterable[str], beam: int | None = None, batch_size: int = 32,
                  details: bool = False, **options: Any) -> Any:
        """Translate one text (returns a string) or several (a list), with the model's beam settings unless given.

        ``details=True`` returns :class:`~seqkit.translate.Translation` records (scores, n-best, attention).
        ``options`` go to :func:`seqkit.translate.translate_texts` (``nbest``, ``alpha``, ``return_attention``...).
        """
        from seqkit.translate import translate_texts

        single = isinstance(texts, str)
        records = translate_texts(self.module, self.tokenizer, self.target_tokenizer, [texts] if single else texts,
                                  beam=beam, batch_size=batch_size, **options)
        out = records if details else [record.text for record in records]
        return out[0] if single else out


class HierarchicalPredictor(Predictor):
    """A :class:`~seqkit.tasks.hierarchical.HierarchicalClassifier`: ``classify`` and ``explain`` documents, split
    into sentences and words as in training."""

    def splitter(self) -> tuple[Any, int]:
        from seqkit.data.sentences import SentenceSplitter

        data = self.model.data_settings().get("init_args") or {}
        max_words = int(data.get("max_words", 50))
        settings = data.get("splitter") or {"max_sentences": 30, "max_words": max_words}
        return SentenceSplitter(**settings), max_words

    def explain(self, texts: str | Sequence[str], batch_size: int = 32) -> Any:
        """Prediction and sentence/word attention weights (:class:`~seqkit.explain.Explanation`) per document."""
        from seqkit.explain import explain_texts

        single = isinstance(texts, str)
        splitter, max_words = self.splitter()
        records = explain_texts(self.module, self.tokenizer, [texts] if single else list(texts), splitter,
                                max_words, batch_size)
        return records[0] if single else records

    def classify(self, texts: str | Sequence[str], batch_size: int = 32) -> dict | list[dict]:
        """``{"label", "label_name"?, "probabilities"}`` per document."""
        explanations = self.explain([texts] if isinstance(texts, str) else texts, batch_size)
        records = [{"label": e.label, "probabilities": e.probabilities,
                    **({"label_name": e.label_name} if e.label_name is not None else {})} for e in explanations]
        return records[0] if isinstance(texts, str) else records


class ForecastPredictor(Predictor):
    """A :class:`~seqkit.tasks.forecasting.Forecaster` with its series settings and train statistics: ``forecast``."""

    def forecast(self, frame: Any) -> Any:
        """The ``horizon`` rows after the last ``lookback`` rows of ``frame`` (a pandas DataFrame or a dict of
        columns, rows in time order), in original units, as a DataFrame.

        See :func:`seqkit.forecast.forecast_frame`.
        """
        from seqkit.forecast import forecast_frame

        return forecast_frame(self.module, frame)
class TreePredictor(Predictor):
    """A :class:`~seqkit.tasks.tree.TreeClassifier`: ``classify`` sentences and ``explain`` them phrase by phrase.

    Inputs are PTB bracketings or plain text (a right-branching tree; see :mod:`seqkit.tree_explain`).
    """

    def explain(self, texts: str | Sequence[str], batch_size: int = 64) -> Any:
        """Every node's class probabilities (:class:`~seqkit.tree_explain.TreeExplanation`) per sentence."""
        from seqkit.tree_explain import explain_trees

        single = isinstance(texts, str)
        records = explain_trees(self.module, self.tokenizer, [texts] if single else list(texts), batch_size)
        return records[0] if single else records

    def classify(self, texts: str | Iterable[str], batch_size: int = 64) -> dict | list[dict]:
        """``{"label", "label_name"?, "probabilities"}`` of the root, for one sentence or a list of them."""
        from seqkit.tree_explain import classify_trees

        single = isinstance(texts, str)
        records = classify_trees(self.module, self.tokenizer, [texts] if single else texts, batch_size)
        return records[0] if single else records
