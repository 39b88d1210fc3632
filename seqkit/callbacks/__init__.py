"""Lightning callbacks: gradient-through-time diagnostics and NT-ASGD weight averaging."""

from seqkit.callbacks.gradient_through_time import GradientThroughTime
from seqkit.callbacks.ntasgd import NTASGD

__all__ = ["NTASGD", "GradientThroughTime"]
