"""CPU threads: chosen from the model's size and the free cores, said at start, overridable."""

from __future__ import annotations

import torch

from seqkit import threads
from seqkit.cli import main
from tests.helpers import REPO


def test_small_models_get_one_thread_and_large_ones_a_share_of_the_free_cores():
    assert threads.choose_threads(threads.SMALL_MODEL - 1, free=8) == 1
    assert threads.choose_threads(threads.SMALL_MODEL, free=8) == 8
    assert threads.choose_threads(10 * threads.SMALL_MODEL, free=8, processes=2) == 4
    assert threads.choose_threads(10 * threads.SMALL_MODEL, free=1, processes=2) == 1


def test_free_cores_subtract_the_load(monkeypatch):
    monkeypatch.setattr(threads, "machine_cores", lambda: 4)
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (2.6, 0.0, 0.0))
    assert threads.free_cores() == 1
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (9.0, 0.0, 0.0))
    assert threads.free_cores() == 1  # never fewer than one


def test_the_option_wins_then_omp_num_threads_then_the_choice(monkeypatch):
    before = torch.get_num_threads()
    try:
        assert threads.set_threads(1, parameters=10**9) == "CPU threads: 1 (--threads)"
        assert torch.get_num_threads() == 1
        monkeypatch.setenv("OMP_NUM_THREADS", "1")
        assert "OMP_NUM_THREADS" in threads.set_threads(None, parameters=10**9)
        monkeypatch.delenv("OMP_NUM_THREADS")
        line = threads.set_threads(None, parameters=1000)
        assert line.startswith("CPU threads: 1 (chosen for 0.0M trainable parameters") and "--threads N" in line
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_bench_threads_times_each_count(capsys, data_root):
    before = torch.get_num_threads()
    try:
        assert main(["bench", "threads", "--recipe", str(REPO / "recipes" / "sentiment" / "sst2_tiny.yaml"),
                     "--threads", "[1, 2]", "--steps", "2", "--warmup", "1", "--rounds", "1"]) == 0
    finally:
        torch.set_num_threads(before)
    out = capsys.readouterr().out
    assert "trainable parameters" in out
    rows = [line.split() for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert [row[0] for row in rows] == ["1", "2"] and rows[0][6] == "1.00x"


def test_bench_threads_compares_batch_sizes_and_compile(capsys, data_root):
    before = torch.get_num_threads()
    try:
        assert main(["bench", "threads", "--recipe", str(REPO / "recipes" / "sentiment" / "sst2_tiny.yaml"),
                     "--threads", "[1]", "--batch_sizes", "[4, 8]", "--compile", "[false, true]", "--steps", "2",
                     "--warmup", "1", "--rounds", "1"]) == 0
    finally:
        torch.set_num_threads(before)
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert [(row[2], row[3]) for row in rows] == [("4", "no"), ("8", "no"), ("4", "yes"), ("8", "yes")]
    assert "the first 1 steps took" in out and "(compilation included)" in out


def test_bf16_instructions_are_read_from_the_cpu_flags(tmp_path, monkeypatch):
    import builtins

    real_open = builtins.open
    for flags, expected in (("fpu avx512f avx512_bf16", True), ("fpu amx_bf16 amx_tile", True), ("fpu avx2", False)):
        fake = tmp_path / "cpuinfo"
        fake.write_text(f"processor\t: 0\nflags\t\t: {flags}\n")
        monkeypatch.setattr(builtins, "open", lambda path, *a, f=fake, **k: real_open(
            f if path == "/proc/cpuinfo" else path, *a, **k))
        assert threads.cpu_has_bf16() is expected


def test_bf16_mixed_is_refused_before_any_work_where_the_cpu_cannot_run_an_lstm_in_bf16(tmp_path, monkeypatch, capsys,
                                                                                        data_root):
    monkeypatch.setattr(threads, "cpu_runs_lstm_in_bf16", lambda: False)
    run = tmp_path / "run"
    code = main(["fit", "--config", str(REPO / "recipes" / "lm" / "tiny.yaml"), "--trainer.accelerator", "cpu",
                 "--trainer.precision", "bf16-mixed", "--run_dir", str(run)])
    err = capsys.readouterr().err
    assert code != 0
    assert "--trainer.precision 32-true" in err and "LSTM" in err
    assert not run.exists()


def test_the_lstm_probe_agrees_with_a_real_bf16_run():
    lstm = torch.nn.LSTM(4, 4, batch_first=True)
    try:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            lstm(torch.randn(2, 3, 4))
        ran = True
    except RuntimeError:
        ran = False
    assert threads.cpu_runs_lstm_in_bf16() is ran
