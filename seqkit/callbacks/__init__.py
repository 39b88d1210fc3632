"""Lightning callbacks: gradient-through-time diagnostics, NT-ASGD weight averaging, gradual unfreezing, a learning
rate decayed by the clock."""

from seqkit.callbacks.gradient_through_time import GradientThroughTime
from seqkit.callbacks.ntasgd import NTASGD
from seqkit.callbacks.time_budget import TimeBudgetDecay
from seqkit.callbacks.unfreezing import GradualUnfreezing

__all__ = ["NTASGD", "GradientThroughTime", "GradualUnfreezing", "TimeBudgetDecay"]
