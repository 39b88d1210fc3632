"""Trained models as files: published folders (safetensors + JSON + tokenizers + model card), read and written.

Loading a model for use is :func:`seqkit.load` (:mod:`seqkit.inference`); this package only stores and reads folders.
See docs/checkpoints.md.
"""

from seqkit.pretrained.folder import SeqkitModel, is_model_folder
from seqkit.pretrained.tasks import TaskSupport, register_task, support_for

__all__ = ["SeqkitModel", "TaskSupport", "is_model_folder", "register_task", "support_for"]
