"""``seqkit bench NAME``: speed benchmarks that print their measurements.

Each benchmark is a module ``seqkit.bench.<name>`` with a ``main(argv)`` function and a one-line docstring.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys


def available() -> dict[str, str]:
    """Benchmark name -> first line of its module docstring."""
    found = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        found[info.name] = (module.__doc__ or "").strip().splitlines()[0] if module.__doc__ else ""
    return found


def main(argv: list[str]) -> int:
    benches = available()
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: seqkit bench NAME [options]\n\nbenchmarks:")
        for name, text in benches.items():
            print(f"  {name:<12} {text}")
        if not benches:
            print("  (none installed)")
        return 0
    if argv[0] not in benches:
        print(f"seqkit bench: unknown benchmark {argv[0]!r} (known: {', '.join(benches) or 'none'})", file=sys.stderr)
        return 2
    return int(importlib.import_module(f"{__name__}.{argv[0]}").main(argv[1:]) or 0)
