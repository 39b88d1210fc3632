"""``seqkit bench NAME``: speed benchmarks that print their measurements.

Each benchmark is a module ``seqkit.bench.<name>`` with a typed ``bench(...)`` function; its docstring is its
``--help``.
"""

from __future__ import annotations

from collections.abc import Callable

from seqkit.bench import ddp, gpu, layers, lm, padding, reviews, threads, translate, trees

#: ``seqkit bench NAME``: name -> typed benchmark function.
BENCHMARKS: dict[str, Callable[..., int]] = {
    module.__name__.rsplit(".", 1)[1]: module.bench
    for module in (ddp, gpu, layers, lm, padding, reviews, threads, translate, trees)
}
