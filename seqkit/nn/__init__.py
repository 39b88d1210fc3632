"""Plain ``nn.Module`` building blocks (no Lightning): recurrent encoders, cells, regularisation, attention."""

from seqkit.nn.recurrent import RecurrentEncoder

__all__ = ["RecurrentEncoder"]
