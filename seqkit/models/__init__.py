"""Model architectures: plain ``nn.Module``s whose forward returns what a task's loss needs."""

from seqkit.models.rnn_lm import RNNLanguageModel, detach_layer_states

__all__ = ["RNNLanguageModel", "detach_layer_states"]
