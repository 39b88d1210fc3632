"""Run the tutorial scripts and keep what they print and draw, for the documentation site.

    python docs/tutorials/run.py                      # every docs/tutorials/NN_name.py
    python docs/tutorials/run.py 01 02_bptt           # the named ones (by number or full name)
    python docs/tutorials/run.py --out /tmp/generated

Each script runs as ``python NN_name.py --out DIR`` in its own process with one thread (``OMP_NUM_THREADS=1``
unless already set); its standard output goes to ``DIR/NN_name.txt`` and its figures are ``DIR/NN_name*.png``. The
pages include both from ``docs/tutorials/generated/`` (not committed: ``make docs`` recreates it).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
GENERATED = HERE / "generated"


def tutorial_scripts(names: list[str] | None = None) -> list[Path]:
    """The tutorial scripts ``NN_name.py`` in order, or only those whose name or number is in ``names``."""
    scripts = sorted(path for path in HERE.glob("[0-9][0-9]_*.py"))
    if not names:
        return scripts
    chosen = [path for path in scripts if path.stem in names or path.stem[:2] in names]
    unknown = set(names) - {path.stem for path in chosen} - {path.stem[:2] for path in chosen}
    if unknown:
        raise SystemExit(f"no tutorial named {sorted(unknown)}; have {[path.stem for path in scripts]}")
    return chosen


def run_tutorial(script: Path, out: Path, timeout: float = 600.0) -> subprocess.CompletedProcess:
    """Run one script into ``out``; its stdout is saved as ``out/<stem>.txt``. Raises on failure."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob(f"{script.stem}*.png"):
        old.unlink()  # a figure the script no longer draws must not survive
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"), "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [sys.executable, str(script), "--out", str(out)],
        capture_output=True, text=True, env=env, timeout=timeout, check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{script.name} failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}")
    (out / f"{script.stem}.txt").write_text(result.stdout)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the tutorials into docs/tutorials/generated/.")
    parser.add_argument("names", nargs="*", help="tutorials to run (NN or NN_name); default: all")
    parser.add_argument("--out", type=Path, default=GENERATED, help=f"output folder (default {GENERATED})")
    args = parser.parse_args(argv)
    for script in tutorial_scripts(args.names):
        start = time.perf_counter()
        run_tutorial(script, args.out)
        print(f"{script.name:<36} {time.perf_counter() - start:6.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
