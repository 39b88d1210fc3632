"""Trained models as files: published folders (safetensors + JSON + tokenizers + model card), loading from run
directories, folders or the HuggingFace Hub, and the predictors :func:`seqkit.load` returns.

See docs/checkpoints.md.
"""

from seqkit.pretrained.folder import SeqkitModel, is_model_folder
from seqkit.pretrained.loading import load, load_model
from seqkit.pretrained.tasks import TaskSupport, register_task, support_for

__all__ = ["SeqkitModel", "TaskSupport", "is_model_folder", "load", "load_model", "register_task", "support_for"]
