"""Using trained models: one :func:`load` for run directories, checkpoints, published folders and Hub ids, and one
module per verb (``classify``, ``translate``, ``generate``, ``explain``, ``trees``, ``forecast``, ``transcribe``)
with the predictor :func:`load` returns for each task."""

from seqkit.inference.classify import ClassifierPredictor
from seqkit.inference.explain import Explanation, HierarchicalPredictor, render_html, render_png
from seqkit.inference.forecast import ForecastPredictor
from seqkit.inference.generate import LanguageModelPredictor, StreamingDetokenizer
from seqkit.inference.loading import load, load_model, register_predictor
from seqkit.inference.predictor import Predictor
from seqkit.inference.transcribe import Heard, TranscriberPredictor, render_heard_png
from seqkit.inference.translate import Translation, TranslatorPredictor
from seqkit.inference.trees import TreeExplanation, TreePredictor, render_tree_html, render_tree_png

__all__ = [
    "ClassifierPredictor", "Explanation", "ForecastPredictor", "Heard", "HierarchicalPredictor",
    "LanguageModelPredictor", "Predictor", "StreamingDetokenizer", "TranscriberPredictor", "Translation",
    "TranslatorPredictor", "TreeExplanation", "TreePredictor", "load", "load_model", "register_predictor",
    "render_heard_png", "render_html", "render_png", "render_tree_html", "render_tree_png",
]
