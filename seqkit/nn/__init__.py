"""Plain ``nn.Module`` building blocks (no Lightning): recurrent encoders, cells, regularisation, attention.

Shapes: ``B`` batch, ``T`` time steps, ``E`` embedding size, ``H`` hidden size, ``L`` layers, ``D`` directions.
See ``docs/nn.md``.
"""

from seqkit.nn.attention import (
    AdditiveAttention,
    AttentionPooling,
    ConcatAttention,
    DotAttention,
    GeneralAttention,
    masked_softmax,
)
from seqkit.nn.cell_rnn import CellRNN, time_loop
from seqkit.nn.cells import ElmanCell, GRUCell, JordanCell, LayerNormLSTMCell, LSTMCell, RecurrentCell
from seqkit.nn.dropout import DropoutEmbedding, LockedDropout, WeightDropout, embedding_dropout, weight_drop
from seqkit.nn.gradients import HiddenGradientTracker, gradient_norms_through_time
from seqkit.nn.lengths import length_mask, reverse_padded, run_fused_by_length
from seqkit.nn.parallel_scan import MinGRU, MinLSTM
from seqkit.nn.pretrained import load_word_vectors, read_vectors
from seqkit.nn.recurrent import EncoderConfig, RecurrentEncoder, detach_state, ensure_flat_weights
from seqkit.nn.tying import TiedOutput, are_tied, tie_weights

__all__ = [
    # recurrent encoder (fused kernels) and variable lengths
    "EncoderConfig",
    "RecurrentEncoder",
    "detach_state",
    "ensure_flat_weights",
    "run_fused_by_length",
    "length_mask",
    "reverse_padded",
    # parallel-scan cells (cell: mingru | minlstm)
    "MinGRU",
    "MinLSTM",
    # cells and the time loop
    "RecurrentCell",
    "ElmanCell",
    "JordanCell",
    "LSTMCell",
    "GRUCell",
    "LayerNormLSTMCell",
    "CellRNN",
    "time_loop",
    # regularisation
    "embedding_dropout",
    "DropoutEmbedding",
    "LockedDropout",
    "WeightDropout",
    "weight_drop",
    "tie_weights",
    "are_tied",
    "TiedOutput",
    # attention
    "masked_softmax",
    "AdditiveAttention",
    "DotAttention",
    "GeneralAttention",
    "ConcatAttention",
    "AttentionPooling",
    # pretrained word vectors
    "load_word_vectors",
    "read_vectors",
    # gradient through time
    "HiddenGradientTracker",
    "gradient_norms_through_time",
]
