"""Diagnostics: plots and the gradient-through-time demonstration (``seqkit grad-plot``)."""

from seqkit.diagnostics.plotting import plot_gradient_norms

__all__ = ["plot_gradient_norms"]
