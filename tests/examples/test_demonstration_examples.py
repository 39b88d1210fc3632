"""The demonstration families' examples run: Hopfield/BAM (no training), and the echo-state and history-compressor
figures from a tiny run trained here. Each example's ``main(argv)`` is called in this process, at small sizes, with
its output in a temporary folder."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from seqkit.cli import main as seqkit

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
#: Options that make any recipe's run tiny and quiet.
QUIET = ["--threads", "1", "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
         "--trainer.num_sanity_val_steps", "0", "--trainer.logger", "false"]


def example(name: str) -> ModuleType:
    """``examples/<name>.py`` imported as a module (its ``main`` is not run on import)."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def is_png(path: Path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_hopfield_figures_measure_capacity_and_energy(tmp_path, capsys):
    example("hopfield_figures").main(["--out", str(tmp_path), "--sizes", "40", "--trials", "1"])
    assert is_png(tmp_path / "hopfield_energy.png") and is_png(tmp_path / "hopfield_capacity.png")
    assert "wrote" in capsys.readouterr().out


def test_hopfield_words_recall_clean_words(capsys):
    example("hopfield_words").main(["--noise", "0.0"])
    out = capsys.readouterr().out
    # Uncorrupted stored patterns are fixed points: every word comes back as stored.
    assert "recalled 'house'" in out and "recalled 'night'" in out
    assert "'maison'" in out
    assert "Modern Hopfield (one update, beta 0.2): 24/24 words retrieved exactly" in out


def _fit(run: Path, *options: str) -> None:
    code = seqkit(["fit", *options, "--run_dir", str(run), *QUIET])
    assert code == 0, f"seqkit fit {' '.join(options)} exited with {code}"


def test_echo_state_figure_from_a_tiny_run(tmp_path, capsys):
    run = tmp_path / "esn"
    _fit(run, "--config", "esn/sst2", "--data.init_args.splits.max_rows", "200",
         "--model.init_args.network.reservoir.reservoir_size", "60", "--trainer.limit_val_batches", "1")
    example("echo_state_figures").main(["--run", str(run), "--out", str(tmp_path / "img"), "--units", "20"])
    assert is_png(tmp_path / "img" / "echo_state.png")
    assert "wrote" in capsys.readouterr().out


def test_history_compressor_figure_from_a_tiny_run(tmp_path, capsys):
    # The example reads PTB's validation split from $SEQKIT_DATA_DIR, which the test session always sets.
    run = tmp_path / "compressor"
    _fit(run, "--config", "compressor/ptb_chars", "--data.init_args.splits.max_rows", "60",
         "--data.init_args.bptt", "32", "--data.init_args.batching.batch_size", "4",
         "--data.init_args.batching.eval_batch_size", "4", "--trainer.max_steps", "3",
         "--trainer.limit_val_batches", "1")
    example("history_compressor_figure").main(["--run", str(run), "--out", str(tmp_path / "img"), "--chars", "120"])
    assert is_png(tmp_path / "img" / "history_compressor.png")
    out = capsys.readouterr().out
    assert "passed up" in out and "bits/char" in out
