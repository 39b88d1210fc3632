"""Model architectures: plain ``nn.Module``s whose forward returns what a task's loss needs."""

from seqkit.models.rnn_lm import RNNLanguageModel, detach_layer_states
from seqkit.models.speech import (
    AcousticConfig,
    CTCAcousticNet,
    FrameEncoder,
    SpeechClassifierConfig,
    SpeechClassifierNet,
    stack_frames,
)
from seqkit.models.tree_lstm import TreeLSTM, TreeLSTMConfig, recursive_forward

__all__ = ["AcousticConfig", "CTCAcousticNet", "FrameEncoder", "RNNLanguageModel", "SpeechClassifierConfig",
           "SpeechClassifierNet", "TreeLSTM", "TreeLSTMConfig", "detach_layer_states", "recursive_forward",
           "stack_frames"]
