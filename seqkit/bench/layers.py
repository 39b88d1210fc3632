"""Forward+backward time of fused vs cell-loop vs compiled-cell LSTM/GRU, and of packing vs split runs."""

from __future__ import annotations

import os
import platform
import statistics
import time
import warnings
from collections.abc import Callable
from types import SimpleNamespace

import torch
from jsonargparse.typing import PositiveInt
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seqkit.bench.timing import synchronize
from seqkit.nn.cell_rnn import CellRNN
from seqkit.nn.lengths import run_fused_by_length
from seqkit.nn.parallel_scan import MinGRU, MinLSTM

_FUSED = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


def _timed(fn: Callable[[], Tensor], params: list[nn.Parameter]) -> float:
    for p in params:
        p.grad = None
    synchronize(params[0].device)
    start = time.perf_counter()
    fn().sum().backward()
    synchronize(params[0].device)
    return time.perf_counter() - start


def _interleaved(impls: dict[str, Callable[[], Tensor]], params: list[nn.Parameter], repeats: int,
                 baseline: str) -> dict[str, dict[str, float]]:
    """Per implementation: best and median ms, best/best ratio and median paired (same-repeat) ratio to baseline.

    On a loaded machine the best time is the steadiest estimate of the cost itself; the paired ratio compares
    runs made moments apart. Both are printed so a disagreement between them shows the noise.
    """
    times: dict[str, list[float]] = {name: [] for name in impls}
    for _ in range(repeats):
        for name, fn in impls.items():
            times[name].append(_timed(fn, params))
    return {
        name: {
            "best": min(t) * 1000,
            "median": statistics.median(t) * 1000,
            "ratio_best": min(t) / min(times[baseline]),
            "ratio_paired": statistics.median(a / b for a, b in zip(t, times[baseline])),
        }
        for name, t in times.items()
    }


def _header(args: SimpleNamespace) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores" if hasattr(os, "getloadavg") else ""
    return (f"torch {torch.__version__}, {torch.get_num_threads()} threads, {cpu}, {load}; float32; "
            f"{args.repeats} repeats, implementations interleaved within each")


def _layers_table(args: SimpleNamespace) -> None:
    shape = (f"batch {args.batch} x length {args.length}, input {args.input_size}, hidden {args.hidden_size}, "
             f"{args.layers} layers, unidirectional")
    print(f"seqkit bench layers: forward+backward, {shape}")
    print(_header(args))
    print()
    rows = []
    for cell in args.cells.split(","):
        torch.manual_seed(args.seed)
        fused = _FUSED[cell](args.input_size, args.hidden_size, args.layers, batch_first=True)
        loop = CellRNN.from_fused(fused)
        x = torch.randn(args.batch, args.length, args.input_size)
        impls = {"fused": lambda f=fused, x=x: f(x)[0], "cell loop": lambda m=loop, x=x: m(x)[0]}
        params = [*fused.parameters(), *loop.parameters()]
        notes = {}
        if not args.no_compile:
            compiled = CellRNN.from_fused(fused, compile=True)
            params += list(compiled.parameters())
            print(f"compiling the {cell} cell loop ...", flush=True)
            start = time.perf_counter()
            _timed(lambda m=compiled, x=x: m(x)[0], params)
            caches = "caches disabled" if args.cold_compile else "on-disk caches on"
            notes["compiled cell loop"] = f"first call {time.perf_counter() - start:.0f} s (compile, {caches})"
            impls["compiled cell loop"] = lambda m=compiled, x=x: m(x)[0]
        for fn in impls.values():  # warm-up, outside the timings
            _timed(fn, params)
        stats = _interleaved(impls, params, args.repeats, "fused")
        rows += [(cell, name, stats[name], notes.get(name, "")) for name in impls]
    print("x fused: best time / fused best time; paired: median over repeats of time / fused time in that repeat")
    print(f"{'cell':<5} {'implementation':<20} {'best ms':>9} {'median ms':>10} {'x fused':>8} {'paired':>7}  note")
    for cell, name, st, note in rows:
        print(f"{cell:<5} {name:<20} {st['best']:9.1f} {st['median']:10.1f} {st['ratio_best']:8.2f} "
              f"{st['ratio_paired']:7.2f}  {note}")


def _packed(rnn: nn.RNNBase, x: Tensor, lengths: Tensor) -> Tensor:
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    return pad_packed_sequence(rnn(packed)[0], batch_first=True, total_length=x.shape[1])[0]


def _lengths_table(args: SimpleNamespace) -> None:
    print(f"seqkit bench layers --lengths: forward+backward, batch {args.batch}, lengths uniform in [T/2, T], "
          f"input {args.input_size}, hidden {args.hidden_size}, {args.layers} layers")
    print(_header(args))
    print("padded: one call over the padded batch ignoring lengths (wrong final states; the lower bound)")
    print()
    print("best of the repeats; pack/split: best pack time / best split time")
    print(f"{'cell':<7} {'T':>5} {'lengths':>8} {'pack ms':>9} {'split ms':>9} {'padded ms':>10} {'pack/split':>11}")
    for bidirectional in (False, True):
        for cell in args.cells.split(","):
            torch.manual_seed(args.seed)
            rnn = _FUSED[cell](args.input_size, args.hidden_size, args.layers, batch_first=True,
                               bidirectional=bidirectional)
            params = list(rnn.parameters())
            for max_len in (int(n) for n in args.lengths.split(",")):
                x = torch.randn(args.batch, max_len, args.input_size)
                lengths = torch.randint(max_len // 2, max_len + 1, (args.batch,))
                lengths[0] = max_len
                impls = {
                    "pack": lambda r=rnn, x=x, n=lengths: _packed(r, x, n),
                    "split": lambda r=rnn, x=x, n=lengths: run_fused_by_length(r, x, n)[0],
                    "padded": lambda r=rnn, x=x: r(x)[0],
                }
                for fn in impls.values():
                    _timed(fn, params)
                st = _interleaved(impls, params, args.repeats, "split")
                name = ("bi" if bidirectional else "") + cell
                print(f"{name:<7} {max_len:>5} {len(set(lengths.tolist())):>8} {st['pack']['best']:9.1f} "
                      f"{st['split']['best']:9.1f} {st['padded']['best']:10.1f} {st['pack']['ratio_best']:11.2f}",
                      flush=True)


def _scan_table(args: SimpleNamespace) -> None:
    print(f"seqkit bench layers --scan: forward+backward, batch {args.batch}, input {args.input_size}, hidden "
          f"{args.hidden_size}, {args.layers} layers, unidirectional, on {args.device}")
    print(_header(args))
    print("best of the repeats; x lstm: best time / fused LSTM best time")
    names = {"lstm": nn.LSTM, "gru": nn.GRU, "mingru": MinGRU, "minlstm": MinLSTM}
    print(f"{'T':>5} " + " ".join(f"{name + ' ms':>11}" for name in names) + "  "
          + " ".join(f"{name + ' x lstm':>14}" for name in list(names)[1:]))
    for length in (int(n) for n in args.scan.split(",")):
        torch.manual_seed(args.seed)
        layers = {name: cls(args.input_size, args.hidden_size, args.layers, batch_first=True).to(args.device)
                  for name, cls in names.items()}
        x = torch.randn(args.batch, length, args.input_size, device=args.device)
        impls = {name: (lambda m=layer, x=x: m(x)[0]) for name, layer in layers.items()}
        params = [p for layer in layers.values() for p in layer.parameters()]
        for fn in impls.values():
            _timed(fn, params)
        st = _interleaved(impls, params, args.repeats, "lstm")
        print(f"{length:>5} " + " ".join(f"{st[name]['best']:11.1f}" for name in names) + "  "
              + " ".join(f"{st[name]['ratio_best']:14.2f}" for name in list(names)[1:]), flush=True)


def bench(*, batch: PositiveInt = 32, length: PositiveInt = 70, input_size: PositiveInt = 256,
          hidden_size: PositiveInt = 256, layers: PositiveInt = 2, cells: str = "lstm,gru", repeats: PositiveInt = 10,
          threads: PositiveInt | None = None, no_compile: bool = False, cold_compile: bool = False,
          lengths: str | None = None, scan: str | None = None, seed: int = 0, device: str = "cpu") -> int:
    """Time forward+backward of recurrent layers.

    Implementations alternate within each repeat, so the ratios stay meaningful on a busy machine; medians are
    reported.

    Args:
        batch: batch size B
        length: sequence length T
        input_size: input size I
        hidden_size: hidden size H
        layers: stacked layers
        cells: comma-separated: lstm, gru, rnn
        repeats: timed repeats per implementation
        threads: torch threads (default: torch's default)
        no_compile: skip the compiled cell loop (its first call compiles for a minute or more per cell)
        cold_compile: disable torch.compile's on-disk caches, so the first call shows the full compile time
            (otherwise a repeated run reuses earlier compiled graphs and compiles in seconds)
        lengths: comma-separated maximum lengths T1,T2,...: instead, time variable-length batches (lengths uniform
            in [T/2, T]): packing vs split-by-length vs the padded run that ignores lengths
        scan: comma-separated lengths T1,T2,...: instead, time the parallel-scan cells (minGRU, minLSTM) against
            fused LSTM and GRU at these lengths, e.g. 35,70,400,2000
        seed: random seed
        device: where the --scan table runs (cpu, or cuda: the fused layers are then cuDNN's)
    """
    args = SimpleNamespace(**locals())  # the tables below read the settings together
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.cold_compile:
        from torch._inductor import config as inductor_config

        inductor_config.force_disable_caches = True
        warnings.filterwarnings("ignore", message="dynamo_pgo force disabled")  # says what we just asked for
    unknown = set(args.cells.split(",")) - set(_FUSED)
    if unknown:
        print(f"seqkit bench layers: unknown cells {sorted(unknown)} (choose from {sorted(_FUSED)})")
        return 2
    if args.scan:
        _scan_table(args)
    elif args.lengths:
        _lengths_table(args)
    else:
        _layers_table(args)
    return 0
