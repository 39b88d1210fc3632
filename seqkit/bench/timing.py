"""Clocks the benchmarks share: wall and CPU time, and waiting for a GPU's queued work."""

from __future__ import annotations

import time

import torch


def clocks() -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process): CPU time is robust to other processes sharing the machine."""
    return time.perf_counter(), time.process_time()


def synchronize(device: torch.device | str) -> None:
    """Wait for ``device``'s queued kernels: a GPU step is done when they are, not when Python moves on."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)
