"""How a run uses the CPU: threads chosen from the free cores and the model's size (said at start), and whether the
CPU computes in bfloat16 natively.

torch starts one intra-op thread per core. On a machine that is also running something else, a second thread of a
small recurrent model mostly waits for a busy core: small trainings ran 6-22x slower with torch's default than
with one thread (2-core machine, one other training running). On idle cores a second thread paid 1.13-1.81x for
every recipe measured but the tiniest. Hence :func:`choose_threads`: one thread per free core, one for a tiny
model.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from seqkit.errors import ConfigError

#: Below this many trainable parameters a second thread does not pay, even on an idle machine: 1.03x the steps/s
#: for 0.16M parameters against 1.42-1.81x for models of 1M and more (``seqkit bench threads``, 2 idle cores;
#: docs/results.md, "CPU threads").
SMALL_MODEL = 500_000


def machine_cores() -> int:
    """Cores this process may run on (its CPU affinity, which containers and ``taskset`` restrict)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def free_cores() -> int:
    """Cores not taken by other work: the process's cores less the last minute's load average, at least one."""
    try:
        busy = round(os.getloadavg()[0])
    except OSError:  # no load average on this platform
        busy = 0
    return max(1, machine_cores() - busy)


def choose_threads(parameters: int, free: int, processes: int = 1) -> int:
    """Intra-op threads for each of ``processes`` processes training a model of ``parameters`` trainable
    parameters on ``free`` cores: one for a small model, else a share of the free cores."""
    if parameters < SMALL_MODEL:
        return 1
    return max(1, free // processes)


def check_threads(requested: int | None) -> None:
    """Refuse a thread count outside 1..the cores this process may use (:func:`machine_cores`): 0 cannot run,
    and threads beyond the cores only queue for them."""
    cores = machine_cores()
    if requested is not None and not 1 <= requested <= cores:
        raise ConfigError(f"--threads must be in 1..{cores} (the CPU cores this process may use), got {requested}.")


def set_threads(requested: int | None, parameters: int, processes: int = 1) -> str:
    """Set torch's intra-op threads and return the line that says how many and why.

    ``requested`` wins; without it, ``OMP_NUM_THREADS`` (which torch already read) is kept; else
    :func:`choose_threads` decides for one of ``processes`` processes on this machine.
    """
    import torch

    check_threads(requested)
    if requested is not None:
        reason = "--threads"
    elif os.environ.get("OMP_NUM_THREADS"):
        requested, reason = torch.get_num_threads(), "OMP_NUM_THREADS"
    else:
        free = free_cores()
        requested = choose_threads(parameters, free, processes)
        reason = (f"chosen for {parameters / 1e6:.1f}M trainable parameters and {free} free of {machine_cores()} "
                  "cores; --threads N to choose")
    torch.set_num_threads(requested)
    return f"CPU threads: {requested} ({reason})"


def cpu_has_bf16() -> bool:
    """Whether the CPU has bfloat16 instructions (AVX512-BF16 or AMX), which make bf16 autocast pay; elsewhere it is
    emulated and slower. ``False`` where the CPU's flags cannot be read."""
    try:
        with open("/proc/cpuinfo") as info:
            flags = next((line for line in info if line.startswith("flags")), "").split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


@functools.cache
def cpu_runs_lstm_in_bf16() -> bool:
    """Whether ``nn.LSTM`` runs under bfloat16 autocast on this CPU. PyTorch runs it through oneDNN, whose bf16 LSTM
    needs AVX-512; elsewhere it raises "could not create a primitive descriptor". Tried once, on a one-unit LSTM."""
    import torch

    lstm = torch.nn.LSTM(1, 1)
    try:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            lstm(torch.zeros(1, 1, 1))
    except RuntimeError:
        return False
    return True


def check_cpu_precision(model: Any, precision: Any, accelerator: Any) -> None:
    """Refuse ``bf16-mixed`` for a model with an ``nn.LSTM`` on a CPU that cannot run it in bf16, before any work.

    Raises:
        ConfigError: naming the precision to use instead.
    """
    import torch

    on_cpu = accelerator == "cpu" or (accelerator in (None, "auto") and not torch.cuda.is_available())
    if str(precision) not in ("bf16", "bf16-mixed") or not on_cpu or cpu_runs_lstm_in_bf16():
        return
    if any(isinstance(module, torch.nn.LSTM) for module in model.modules()):
        raise ConfigError(f"--trainer.precision {precision} cannot run this model's LSTM on this CPU: PyTorch's bf16 "
                          "LSTM needs AVX-512 here. Use --trainer.precision 32-true (bf16 would be emulated, slower).")
