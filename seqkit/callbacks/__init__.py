"""Lightning callbacks (this package imports ``lightning``; ``seqkit.nn`` does not)."""

from seqkit.callbacks.gradient_through_time import GradientThroughTime

__all__ = ["GradientThroughTime"]
