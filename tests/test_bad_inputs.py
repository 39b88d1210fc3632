"""Every bad input answered in one line: the real CLI as a subprocess, for each case.

Each case asserts a non-zero exit, no traceback, at most two lines on standard error that name the problem, and
nothing written or lost: no new run folder, cache entry or output file, and the files that were there unchanged.
Two tiny runs are trained once for the module; every other case fails before any training starts.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.helpers import REPO, subprocess_env

pytestmark = pytest.mark.slow

TINY = str(REPO / "recipes" / "sentiment" / "sst2_tiny.yaml")
SMALL = ["--data.init_args.splits.max_rows.train", "200", "--data.init_args.splits.max_rows.validation", "50",
         "--data.init_args.splits.max_rows.test", "50", "--trainer.enable_progress_bar", "false",
         "--trainer.enable_model_summary", "false"]
FIT = ["fit", "--config", TINY, *SMALL, "--trainer.max_epochs", "1"]
#: A small hierarchical network.
HAN_SMALL = {"encoder": {"embedding_dim": 8, "hidden_size": 8}, "sentence_hidden_size": 8,
             "word_attention_size": 8, "sentence_attention_size": 8}


def seqkit(args: list[str], cwd: Path, runs: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "seqkit", *args], capture_output=True, cwd=cwd, input=stdin,
                          env=subprocess_env(OMP_NUM_THREADS="1", SEQKIT_RUNS_DIR=str(runs)), timeout=300)


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with its SHA-256 (what must not change)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".seqkit-lock"}


def assert_one_line(done: subprocess.CompletedProcess, *words: str) -> str:
    err = done.stderr.decode(errors="replace")
    out = done.stdout.decode(errors="replace")
    lines = [line for line in err.splitlines() if line.strip()]
    assert done.returncode != 0, out + err
    assert "Traceback" not in err + out, err
    assert 1 <= len(lines) <= 2, err
    message = lines[-1]
    assert message.startswith("seqkit: error: "), err
    for word in words:
        assert word in message, message
    assert "weights_only" not in err.replace("--weights_only", "")  # never advise unsafe loading
    return message


@pytest.fixture(scope="module")
def place(tmp_path_factory, data_root) -> Path:
    return tmp_path_factory.mktemp("bad-inputs")


@pytest.fixture(scope="module")
def run(place) -> Path:
    """A finished tiny classifier run (best.ckpt, last.ckpt, metrics.csv, tokenizer/)."""
    folder = place / "run"
    done = seqkit([*FIT, "--run_dir", str(folder)], place, place / "runs")
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    return folder


@pytest.fixture()
def runs(place) -> Path:
    """The runs root of the failing commands: it must stay empty."""
    folder = place / "runs-bad"
    folder.mkdir(exist_ok=True)
    yield folder
    assert not any(folder.iterdir()), f"a failed command left {list(folder.rglob('*'))}"


# ---------------------------------------------------------------------------------------------- options and recipes
def test_a_config_typo_is_the_one_line_that_matters(place, runs):
    cache = place / "cache-options"
    done = subprocess.run([sys.executable, "-m", "seqkit", *FIT, "--model.init_args.hiden_size", "3"],
                          capture_output=True, cwd=place, timeout=300,
                          env=subprocess_env(OMP_NUM_THREADS="1", SEQKIT_RUNS_DIR=str(runs),
                                             SEQKIT_CACHE_DIR=str(cache)))
    assert_one_line(done, "hiden_size", "not accepted")
    assert not cache.exists()  # no tokenizer was trained


@pytest.mark.parametrize(("option", "words"), [
    (["--model.init_args.optimizer.init_args.lr", "-0.01"], ["lr", "greater than 0"]),
    (["--data.init_args.batching.batch_size", "0"], ["batch_size", "at least 1"]),
    (["--model.init_args.network.encoder.dropout", "1.5"], ["dropout", "[0, 1)"]),
    (["--model.init_args.network.encoder.hidden_size", "0"], ["hidden_size", "at least 1"]),
    (["--model.init_args.network.encoder.hidden_size", "abc"], ["hidden_size", "int"]),
])
def test_bad_hyperparameters_fail_before_any_data_work(runs, capsys, monkeypatch, tmp_path, option, words):
    """The same CLI in this process (one Lightning import for all cases instead of one each)."""
    from seqkit.cli import main

    monkeypatch.setenv("SEQKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SEQKIT_RUNS_DIR", str(runs))
    assert main([*FIT, *option]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and all(word in err for word in words), err
    assert not (tmp_path / "cache").exists()


# ---------------------------------------------------------------------------------------------- checkpoints
class Payload:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _bad_checkpoints(place: Path, run: Path) -> dict[str, tuple[Path, list[str]]]:
    good = (run / "checkpoints" / "last.ckpt").read_bytes()
    truncated, noise, pickled = place / "truncated.ckpt", place / "noise.ckpt", place / "pickled.ckpt"
    truncated.write_bytes(good[: len(good) // 3])
    noise.write_bytes(os.urandom(4096))
    torch.save({"state_dict": {}, "payload": Payload(str(place / "PWNED"))}, pickled)
    return {"truncated": (truncated, ["cannot be read"]), "noise": (noise, ["cannot be read"]),
            "pickle": (pickled, ["objects other than tensors"]), "missing": (place / "nope.ckpt", ["does not exist"])}


def test_an_explicit_bad_ckpt_path_is_refused_before_lightning_reads_it(place, run, runs):
    path, words = _bad_checkpoints(place, run)["pickle"]
    done = seqkit(["test", "--config", TINY, *SMALL, "--ckpt_path", str(path)], place, runs)
    assert_one_line(done, str(path), *words)
    assert not (place / "PWNED").exists()


@pytest.mark.parametrize("kind", ["truncated", "noise", "missing"])
def test_every_bad_ckpt_path_is_one_line(place, run, runs, capsys, kind):
    from seqkit.cli import main

    path, words = _bad_checkpoints(place, run)[kind]
    assert main(["fit", "--config", TINY, *SMALL, "--run_dir", str(runs / "x"), "--ckpt_path", str(path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and all(word in err for word in words), err
    assert "weights_only" not in err


def test_a_pickle_checkpoint_never_runs_through_classify(place, run, runs):
    path, _ = _bad_checkpoints(place, run)["pickle"]
    assert_one_line(seqkit(["classify", "--checkpoint", str(path), "fine"], place, runs), "objects other than")
    assert not (place / "PWNED").exists()


def test_a_bad_pretrained_lm_is_one_line(place, run, runs):
    path, _ = _bad_checkpoints(place, run)["noise"]
    done = seqkit([*FIT, "--model.init_args.pretrained_lm", str(path)], place, runs)
    assert_one_line(done, "pretrained_lm", "cannot be read")


# ---------------------------------------------------------------------------------------------- run folders
def test_a_finished_run_folder_is_never_reused_without_ckpt_path(place, run, runs):
    before = snapshot(run)
    assert_one_line(seqkit([*FIT, "--run_dir", str(run)], place, runs), "already holds a run", "--ckpt_path last")
    assert snapshot(run) == before


def test_a_resume_that_changes_the_tokenizer_touches_nothing(place, run, runs):
    before = snapshot(run)
    done = seqkit([*FIT, "--run_dir", str(run), "--ckpt_path", "last", "--data.init_args.tokenizer.vocab_size", "3000"],
                  place, runs)
    assert_one_line(done, "tokenizer.vocab_size=3000", "trained with 5000")
    assert snapshot(run) == before


def test_a_resume_that_changes_the_model_touches_nothing(run, runs, capsys):
    from seqkit.cli import main

    before = snapshot(run)
    change = ["--model.init_args.network.encoder.hidden_size", "64"]
    assert main([*FIT, "--run_dir", str(run), "--ckpt_path", "last", *change]) == 2
    assert "hidden_size=64, but the run was trained with 32" in capsys.readouterr().err
    assert snapshot(run) == before


def test_a_run_folder_in_use_is_locked(place, run, runs):
    before = snapshot(run)
    with (run / ".seqkit-lock").open("a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another fit holds the folder
        done = seqkit([*FIT, "--run_dir", str(run), "--ckpt_path", "last"], place, runs)
    assert_one_line(done, "in use by another seqkit fit")
    assert snapshot(run) == before


def test_a_runs_folder_that_cannot_be_written_is_one_line(tmp_path, monkeypatch, capsys):
    from seqkit.cli import main

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("SEQKIT_RUNS_DIR", str(blocker / "runs"))
    monkeypatch.setenv("SEQKIT_CACHE_DIR", str(tmp_path / "cache"))
    assert main(FIT) == 2
    assert "cannot be created: " in capsys.readouterr().err
    assert not (tmp_path / "cache").exists()  # found before the data was loaded


# ---------------------------------------------------------------------------------------------- commands
def test_output_equal_to_input_is_refused_and_the_input_kept(place, run, runs, tmp_path):
    source = tmp_path / "in.txt"
    source.write_text("fine\n" * 50)
    for command in (["classify", "--checkpoint", str(run)], ["translate", "--checkpoint", str(run)]):
        done = seqkit([*command, "--input", str(source), "--output", str(source)], place, runs)
        assert_one_line(done, "also the input")
        assert source.read_text() == "fine\n" * 50


def test_a_failing_classify_leaves_an_existing_output_untouched(place, run, runs, tmp_path):
    source, output = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text('{"text": "fine"}\n{"body": "no text"}\n')
    output.write_text("earlier results\n")
    done = seqkit(["classify", "--checkpoint", str(run), "--input", str(source), "--output", str(output)], place, runs)
    assert_one_line(done, "Line 2", "--text_field")
    assert output.read_text() == "earlier results\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]  # no temporary file left


@pytest.mark.parametrize("command", ["classify", "explain"])
def test_non_utf8_input_names_the_line(place, run, runs, tmp_path, command):
    source = tmp_path / "latin1.txt"
    source.write_bytes("fine\ncaf\xe9 cr\xe8me\n".encode("latin-1"))
    extra = ["--html", str(tmp_path / "out.html")] if command == "explain" else []
    done = seqkit([command, "--checkpoint", str(run), "--input", str(source), *extra], place, runs)
    assert_one_line(done, "Line 2", "not UTF-8")
    assert not (tmp_path / "out.html").exists()


@pytest.mark.parametrize(("option", "word"), [
    (["--max_new_tokens", "-5"], "--max_new_tokens"), (["--top_p", "2"], "--top_p"),
    (["--temperature", "-1"], "--temperature"), (["--top_k", "0"], "--top_k"),
])
def test_generate_refuses_bad_sampling_settings(place, run, runs, option, word):
    assert_one_line(seqkit(["generate", "--checkpoint", str(run), *option], place, runs), word)


def test_a_mistyped_local_checkpoint_is_not_sent_to_the_hub(place, run, runs):
    (place / "runs").mkdir(exist_ok=True)
    assert_one_line(seqkit(["classify", "--checkpoint", "runs/nope", "fine"], place, runs), "runs/nope does not exist")


# ---------------------------------------------------------------------------------------------- published folders
@pytest.fixture(scope="module")
def published(place, run) -> Path:
    out = place / "published"
    done = seqkit(["publish", str(run), "--repo_id", "someone/tiny", "--dry_run", "--out", str(out)], place,
                  place / "runs")
    assert done.returncode == 0, done.stderr.decode()
    return out


@pytest.mark.parametrize("name", ["../victim/important.txt", "ABSOLUTE"])
def test_publish_never_deletes_outside_its_folder(place, run, runs, published, tmp_path, name):
    folder = tmp_path / "out"
    folder.mkdir()
    for path in published.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    victim = tmp_path / "victim" / "important.txt"
    victim.parent.mkdir()
    victim.write_text("keep me")
    config = json.loads((folder / "config.json").read_text())
    config["files"][str(victim) if name == "ABSOLUTE" else name] = "0" * 64
    (folder / "config.json").write_text(json.dumps(config))
    before = snapshot(folder)
    done = seqkit(["publish", str(run), "--repo_id", "x/y", "--dry_run", "--out", str(folder)], place, runs)
    assert_one_line(done, "not a file inside")
    assert victim.read_text() == "keep me" and snapshot(folder) == before


def test_publish_refuses_a_folder_seqkit_did_not_write(place, run, runs, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    done = seqkit(["publish", str(run), "--repo_id", "x/y", "--dry_run", "--out", str(folder)], place, runs)
    assert_one_line(done, "not a seqkit model folder")
    assert (folder / "notes.txt").read_text() == "mine" and len(list(folder.iterdir())) == 1


def test_config_json_naming_another_module_imports_nothing(place, runs, published, tmp_path):
    folder = tmp_path / "evil"
    folder.mkdir()
    for path in published.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    config = json.loads((folder / "config.json").read_text())
    config["task"] = "this.Foo"  # importing `this` prints the Zen of Python
    (folder / "config.json").write_text(json.dumps(config))
    done = seqkit(["classify", "--checkpoint", str(folder), "fine"], place, runs)
    assert_one_line(done, "'this.Foo' is not a seqkit task")
    assert b"Beautiful is better" not in done.stdout + done.stderr


def test_an_older_format_checkpoint_is_accepted_for_resume(run, tmp_path):
    from seqkit.checkpointing import check_checkpoint

    legacy = tmp_path / "last.ckpt"
    torch.save(torch.load(run / "checkpoints" / "last.ckpt", weights_only=True), legacy,
               _use_new_zipfile_serialization=False)  # torch's pre-1.6 (non-zip) format
    check_checkpoint(legacy)


# ------------------------------------------------------------------------------ sampling values that cannot work
def test_generate_calls_an_infinite_temperature_not_finite(place, run, runs):
    done = seqkit(["generate", "--checkpoint", str(run), "--temperature", "inf"], place, runs)
    assert_one_line(done, "--temperature", "finite")
    assert b"0 (greedy) or more" not in done.stderr


# Outputs, publishing and the environment
# (imports inside the tests: this block is appended to a file whose imports other blocks share)
class PipeReader:
    """A named pipe's reading end, read by a thread until every writer is gone.

    The test holds a writing end of its own until :meth:`result`, so the thread never sees an end of file before the
    command has opened the pipe; a pipe the command replaced by a plain file gives ``b""``, never a hang.
    """

    def __init__(self, fifo: Path) -> None:
        import threading

        self.read_end = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        self.write_end = os.open(fifo, os.O_WRONLY)
        os.set_blocking(self.read_end, True)
        self.chunks: list[bytes] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while chunk := os.read(self.read_end, 1 << 16):
            self.chunks.append(chunk)

    def result(self) -> bytes:
        os.close(self.write_end)
        self.thread.join(timeout=60)
        os.close(self.read_end)
        return b"".join(self.chunks)


@pytest.fixture(scope="module")
def tiny_models(place) -> dict[str, Path]:
    """Published folders of an untrained translator and review model (for translate and explain)."""
    from seqkit.data.tokenizers import TokenizerConfig, train_tokenizer
    from seqkit.pretrained import SeqkitModel
    from seqkit.tasks.hierarchical import HierarchicalClassifier
    from seqkit.tasks.translation import Seq2SeqTranslator

    tokenizer = train_tokenizer(TokenizerConfig(kind="word", vocab_size=60), [["a good film", "the cat sat"]])
    vocab = tokenizer.vocab_size
    torch.manual_seed(0)
    folders = {"translate": place / "tiny-translator", "explain": place / "tiny-reviews"}
    SeqkitModel(Seq2SeqTranslator(vocab, vocab, network={"embedding_dim": 8, "hidden_size": 8}, beam_size=2),
                {"tokenizer": tokenizer}).save_pretrained(folders["translate"])
    SeqkitModel(HierarchicalClassifier(vocab, 2, network=HAN_SMALL),
                {"tokenizer": tokenizer}).save_pretrained(folders["explain"])
    return folders


def _writing(command: str, run: Path, tiny: dict[str, Path], source: str, target: str) -> list[str]:
    """``command`` reading ``source`` and writing ``target`` (``--output``, or ``--html`` for explain)."""
    if command == "classify":
        return ["classify", "--checkpoint", str(run), "--input", source, "--output", target]
    if command == "translate":
        return ["translate", "--checkpoint", str(tiny[command]), "--input", source, "--output", target, "--quiet"]
    return ["explain", "--checkpoint", str(tiny[command]), "--input", source, "--html", target]


def _expected(command: str, output: bytes) -> None:
    text = output.decode()
    if command == "explain":
        assert "<html" in text.lower(), text[:300]
    elif command == "classify":
        assert [json.loads(line)["line"] for line in text.splitlines()] == [1, 2], text
    else:
        assert len(text.splitlines()) == 2, text


def _special_target(kind: str, folder: Path) -> Path:
    import stat

    if kind == "device":  # a copy of /dev/null (as root; the real one is never a test's target)
        target = folder / "null"
        try:
            os.mknod(target, stat.S_IFCHR | 0o666, os.makedev(1, 3))
            with target.open("w") as handle:
                handle.write("can be written")
        except OSError:
            pytest.skip("device files cannot be made or used here (not root, or a nodev mount)")
        return target
    fifo = folder / "pipe"
    os.mkfifo(fifo)
    if kind == "link-to-pipe":
        (folder / "link").symlink_to(fifo)
        return folder / "link"
    return fifo


@pytest.mark.parametrize(("command", "kind"), [
    ("classify", "pipe"), ("translate", "pipe"), ("explain", "pipe"), ("classify", "link-to-pipe"),
    ("classify", "device"),
])
def test_an_output_that_is_not_a_regular_file_is_written_in_place(place, run, runs, tiny_models, tmp_path, command,
                                                                   kind):
    source = tmp_path / "in.txt"
    source.write_text("a good film\nthe cat sat\n")
    target = _special_target(kind, tmp_path)
    before = {p.name: (p.is_symlink(), os.stat(p).st_mode) for p in tmp_path.iterdir()}
    reader = PipeReader(tmp_path / "pipe") if kind != "device" else None
    done = seqkit(_writing(command, run, tiny_models, str(source), str(target)), place, runs)
    received = reader.result() if reader else None
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert {p.name: (p.is_symlink(), os.stat(p).st_mode) for p in tmp_path.iterdir()} == before  # nothing replaced
    if received is not None:
        _expected(command, received)


@pytest.mark.parametrize(("command", "source", "target"), [
    ("classify", "-", "-"), ("classify", "/dev/stdin", "-"), ("translate", "-", "-"), ("explain", "-", "-"),
])
def test_dash_reads_standard_input_and_writes_standard_output(place, run, runs, tiny_models, tmp_path, command,
                                                              source, target):
    done = seqkit(_writing(command, run, tiny_models, source, target), tmp_path, runs,
                  stdin=b"a good film\nthe cat sat\n")
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    _expected(command, done.stdout)
    assert list(tmp_path.iterdir()) == []  # no file named "-", no temporary file


def test_a_regular_output_is_still_replaced_whole(place, run, runs, tmp_path):
    source, output = tmp_path / "in.txt", tmp_path / "out.jsonl"
    source.write_text("a good film\nthe cat sat\n")
    output.write_text("earlier results\n")
    os.link(output, tmp_path / "hard-link")  # a rename leaves the old file's other name as it was
    (tmp_path / "soft-link.jsonl").symlink_to(output)
    done = seqkit(["classify", "--checkpoint", str(run), "--input", str(source), "--output", str(output)], place, runs)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    _expected("classify", output.read_bytes())
    assert (tmp_path / "hard-link").read_text() == "earlier results\n"  # replaced by a rename, not written over
    (tmp_path / "hard-link").unlink()
    done = seqkit(["classify", "--checkpoint", str(run), "--input", str(source), "--output",
                   str(tmp_path / "soft-link.jsonl"), "--no_text"], place, runs)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert (tmp_path / "soft-link.jsonl").is_symlink() and "text" not in output.read_text()  # the link's file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt", "out.jsonl", "soft-link.jsonl"]


class FullDisk:
    """A file whose writes fail with ENOSPC after ``room`` bytes, as on a disk that fills up."""

    def __init__(self, handle, room: int) -> None:
        self.handle, self.room = handle, room

    def write(self, data) -> int:
        import errno

        self.room -= len(data)
        if self.room < 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        return self.handle.write(data)

    def __getattr__(self, name: str):
        return getattr(self.handle, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.handle.close()


#: ``seqkit`` with every ``torch.save`` writing to a disk that fills after 4 KB (a real process: real standard error).
FULL_DISK_SEQKIT = """
import sys, torch
from tests.test_bad_inputs import FullDisk
save = torch.save
torch.save = lambda obj, file, *args, **kwargs: save(obj, FullDisk(file, 4096), *args, **kwargs)
from seqkit.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_full_disk_during_fit_is_one_line(place, runs, tmp_path):
    run_dir = tmp_path / "run"
    done = subprocess.run([sys.executable, "-c", FULL_DISK_SEQKIT, *FIT, "--run_dir", str(run_dir)],
                          capture_output=True, cwd=place, timeout=300,
                          env=subprocess_env(OMP_NUM_THREADS="1", SEQKIT_RUNS_DIR=str(runs)))
    err = done.stderr.decode(errors="replace")
    lines = [line for line in err.splitlines() if line.strip()]
    assert done.returncode != 0 and "Traceback" not in err, err[-3000:]
    assert lines[-1].startswith("seqkit: error: ") and sum("error" in line.lower() for line in lines) == 1, err
    assert str(run_dir / "checkpoints") in lines[-1] and "free space" in lines[-1].lower(), lines[-1]
    assert not [p.name for p in (run_dir / "checkpoints").iterdir()]  # no partial checkpoint left


def test_a_full_disk_while_classify_writes_keeps_the_old_output(run, runs, tmp_path, monkeypatch, capsys):
    import types

    from seqkit.cli import main
    from seqkit.commands import files

    source, output = tmp_path / "in.txt", tmp_path / "out.jsonl"
    source.write_text("a good film\n" * 50)
    output.write_text("earlier results\n")
    full = types.SimpleNamespace(**{name: getattr(os, name) for name in dir(os) if not name.startswith("__")})
    full.fdopen = lambda *args, **kwargs: FullDisk(os.fdopen(*args, **kwargs), 100)
    monkeypatch.setattr(files, "os", full)  # the output file's writes only
    assert main(["classify", "--checkpoint", str(run), "--input", str(source), "--output", str(output)]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("seqkit: error: "), err
    assert str(output) in err and "free space" in err
    assert output.read_text() == "earlier results\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt", "out.jsonl"]


def test_a_full_device_as_output_is_one_line(place, run, runs, tmp_path):
    import stat

    full = tmp_path / "full"  # a copy of /dev/full: every write fails with ENOSPC
    try:
        os.mknod(full, stat.S_IFCHR | 0o666, os.makedev(1, 7))
        full.open("w").close()
    except OSError:
        pytest.skip("device files cannot be made or used here (not root, or a nodev mount)")
    done = seqkit(["classify", "--checkpoint", str(run), "--output", str(full), "a good film"], place, runs)
    assert_one_line(done, str(full), "free space")
    assert stat.S_ISCHR(os.stat(full).st_mode)


@pytest.mark.parametrize(("variable", "below"), [
    ("SEQKIT_DATA_DIR", ""), ("HF_HOME", ""), ("SEQKIT_CACHE_DIR", ""), ("SEQKIT_CACHE_DIR", "/cache"),
])
def test_a_folder_variable_pointing_at_a_file_is_named_before_any_work(place, runs, tmp_path, variable, below):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    value = f"{blocker}{below}"
    done = subprocess.run([sys.executable, "-m", "seqkit", *FIT, "--run_dir", str(tmp_path / "run")],
                          capture_output=True, cwd=place, timeout=300,
                          env=subprocess_env(OMP_NUM_THREADS="1", SEQKIT_RUNS_DIR=str(runs), **{variable: value}))
    message = assert_one_line(done, f"{variable}={value}", "not a folder")
    assert message.count("\n") == 0 and "train.parquet" not in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"] and blocker.read_text() == "not a folder"


@pytest.mark.parametrize(("code", "words"), [
    ("ENOSPC", ["no space left", "free space"]), ("EDQUOT", ["quota", "free space"]), ("EROFS", ["read-only"]),
    ("EACCES", None),
])
def test_storage_errors_are_one_line_naming_the_file(code, words):
    import errno

    from seqkit.cli import storage_problem

    problem = storage_problem(OSError(getattr(errno, code), "refused", "/data/out.jsonl"))
    if words is None:  # not the storage's fault: left to the command (or a traceback that shows where)
        assert problem is None
        return
    assert "\n" not in problem and "/data/out.jsonl" in problem and all(word in problem for word in words), problem


# Model folders from others ------------------------------------------------------------------------------------------
#: Address space of a command fed a hostile model or config: what the sizes ask for must never be allocated.
MEMORY_LIMIT = 2 << 30


def limited_seqkit(args: list[str], cwd: Path, runs: Path) -> subprocess.CompletedProcess:
    """The CLI as a subprocess limited to 2 GB of address space."""
    import resource

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    return subprocess.run([sys.executable, "-m", "seqkit", *args], capture_output=True, cwd=cwd, preexec_fn=limit,
                          env=subprocess_env(OMP_NUM_THREADS="1", SEQKIT_RUNS_DIR=str(runs)), timeout=300)


def _edited(published: Path, folder: Path, edit) -> Path:
    folder.mkdir()
    for path in published.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    config = json.loads((folder / "config.json").read_text())
    text = edit(config, folder)
    (folder / "config.json").write_text(text if isinstance(text, str) else json.dumps(config))
    return folder


def _bigger_tokenizer(config: dict, folder: Path) -> None:
    from seqkit.data.tokenizers import TokenizerConfig, train_tokenizer

    words = [f"w{i}" for i in range(config["hparams"]["vocab_size"] + 50)]
    data = train_tokenizer(TokenizerConfig(kind="word", vocab_size=len(words) + 10), [words]).serialized()
    (folder / "tokenizer.json").write_bytes(data)
    config["files"]["tokenizer.json"] = hashlib.sha256(data).hexdigest()


_FOLDER_ATTACKS = {
    "tokenizer-outside": (lambda c, f: c["tokenizers"]["tokenizer"].update(file="/etc/passwd"), "not a plain file"),
    "tokenizer-dotdot": (lambda c, f: c["tokenizers"]["tokenizer"].update(file="../published/tokenizer.json"),
                         "not a plain file"),
    "hidden-size": (lambda c, f: c["hparams"]["network"]["encoder"].update(hidden_size=60000), "shape"),
    "vocab-size": (lambda c, f: c["hparams"].update(vocab_size=2_000_000_000), "shape"),
    "nested-extra-key": (lambda c, f: c["hparams"]["network"]["encoder"].update(extra={"a": 1}),
                         "not a EncoderConfig setting"),
    "size-text": (lambda c, f: c["hparams"]["network"]["encoder"].update(hidden_size="abc"), "hidden_size = 'abc'"),
    "size-negative": (lambda c, f: c["hparams"]["network"]["encoder"].update(hidden_size=-5), "at least 1"),
    "classes-negative": (lambda c, f: c["hparams"].update(num_classes=-1), "num_classes = -1"),
    "files-list": (lambda c, f: c.update(files=list(c["files"])), "'files' must be an object"),
    "hparams-text": (lambda c, f: c.update(hparams="x"), "'hparams' must be an object"),
    "tokenizers-list": (lambda c, f: c.update(tokenizers=["tokenizer.json"]), "'tokenizers' must be an object"),
    "format-text": (lambda c, f: c.update(format_version="2"), "'format_version' must be an integer"),
    "list-not-object": (lambda c, f: json.dumps([c]), "not a JSON object"),
    "deep-nesting": (lambda c, f: '{"hparams": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
    "tokenizer-too-big": (_bigger_tokenizer, "embedding has"),
}


@pytest.mark.parametrize("attack", sorted(_FOLDER_ATTACKS))
def test_classify_refuses_a_hostile_model_folder_within_2_gb(place, runs, published, tmp_path, attack):
    edit, words = _FOLDER_ATTACKS[attack]
    folder = _edited(published, tmp_path / attack, edit)
    before = snapshot(folder)
    done = limited_seqkit(["classify", "--checkpoint", str(folder), "a fine film"], place, runs)
    assert_one_line(done, words)
    assert snapshot(folder) == before


def test_classify_ignores_a_language_model_path_in_a_published_folder(place, runs, published, tmp_path):
    folder = _edited(published, tmp_path / "lm", lambda c, f: c["hparams"].update(
        pretrained_lm=str(tmp_path / "no-such-run"), lm_architecture=None))
    done = limited_seqkit(["classify", "--checkpoint", str(folder), "a fine film"], place, runs)
    assert done.returncode == 0, done.stderr.decode()[-2000:]


def _alias_bomb(path: Path) -> Path:
    lines = ["a: &a [" + ", ".join(["x"] * 10) + "]"]
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*{'a' if i == 1 else f'l{i - 1}'}"] * 10) + "]" for i in range(1, 9)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("command", [[*FIT, "--config"], ["classify", "--config"]])
def test_an_alias_bomb_config_is_refused_within_2_gb(place, runs, tmp_path, command):
    done = limited_seqkit([*command, str(_alias_bomb(tmp_path / "bomb.yaml"))], place, runs)
    assert_one_line(done, "aliases expand")


def test_a_run_config_naming_another_module_imports_nothing(place, runs, tmp_path):
    (tmp_path / "config.yaml").write_text("model:\n  class_path: this.X\n  init_args: {}\n")
    done = seqkit(["fit", "--config", str(tmp_path / "config.yaml")], place, runs)
    assert_one_line(done, "'this.X' is not allowed", "SEQKIT_ALLOWED_IMPORTS")
    assert b"Beautiful is better" not in done.stdout + done.stderr


def test_a_model_size_no_machine_holds_is_refused_before_it_is_built(place, runs):
    done = limited_seqkit([*FIT, "--model.init_args.network.encoder.hidden_size", "60000"], place, runs)
    assert_one_line(done, "above the limit of 2,000,000,000", "--max_parameters")


# Inputs, bounds and messages
FORECAST_RECIPE = """
seed_everything: 0
trainer: {{max_epochs: 1, accelerator: cpu, devices: 1, enable_progress_bar: false, enable_model_summary: false}}
data:
  class_path: seqkit.data.ForecastingDataModule
  init_args: {{source: {{name: {folder}}}, lookback: 24, horizon: 12, borders: [200, 300, 400]}}
model:
  class_path: seqkit.tasks.Forecaster
  init_args: {{network: {{architecture: linear}}}}
"""


def test_blank_texts_get_a_blank_record_not_a_label(place, run, runs):
    done = seqkit(["classify", "--checkpoint", str(run), "", "   ", "fine"], place, runs)
    assert done.returncode == 0 and b"Traceback" not in done.stderr, done.stderr.decode()
    records = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert [(r["text"], r["label"], r.get("blank")) for r in records[:2]] == [("", None, True), ("   ", None, True)]
    assert records[2]["label"] in (0, 1) and "blank" not in records[2]


def test_a_series_with_a_timestamp_twice_is_refused_in_one_line(place, runs, tmp_path):
    from tests.forecasting.series import write_series

    folder = tmp_path / "series"
    folder.mkdir()
    frame = write_series(folder / "series.parquet")
    frame.loc[9, "date"] = frame.loc[8, "date"]
    frame.to_parquet(folder / "series.parquet", index=False)
    recipe = tmp_path / "forecast.yaml"
    recipe.write_text(FORECAST_RECIPE.format(folder=folder))
    assert_one_line(seqkit(["fit", "--config", str(recipe)], place, runs), "'date'", "twice (rows 8 and 9)")


def test_generate_bounds_max_new_tokens(place, run, runs):
    done = seqkit(["generate", "--checkpoint", str(run), "--max_new_tokens", str(10**9)], place, runs)
    assert_one_line(done, "--max_new_tokens", "0..100,000")


def _classify_many(place: Path, run: Path, runs: Path, tmp_path: Path) -> subprocess.Popen:
    """A classify of 200,000 lines to a pipe, once its first records have come out."""
    source = tmp_path / "many.txt"
    source.write_text("a gorgeous , witty film\n" * 200_000)
    import signal

    # Test workers may run with SIGINT ignored, which a child inherits (Python then never raises KeyboardInterrupt):
    # the command starts with Ctrl-C's default meaning, as from a terminal.
    process = subprocess.Popen([sys.executable, "-m", "seqkit", "classify", "--checkpoint", str(run), "--input",
                                str(source)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=place,
                               env=subprocess_env(OMP_NUM_THREADS="1", SEQKIT_RUNS_DIR=str(runs)),
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert process.stdout.readline().startswith(b"{")
    return process


def test_ctrl_c_during_classify_is_one_line_and_status_130(place, run, runs, tmp_path):
    import signal

    process = _classify_many(place, run, runs, tmp_path)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err.decode()
    assert err.decode().strip().splitlines() == ["seqkit: interrupted"]


def test_a_reader_that_stops_early_ends_classify_quietly(place, run, runs, tmp_path):
    process = _classify_many(place, run, runs, tmp_path)
    process.stdout.close()  # `| head -1`
    err = process.stderr.read()
    assert process.wait(timeout=120) == 141 and err == b"", err.decode()


@pytest.mark.parametrize("target", ["folder", "device"])
def test_export_onnx_refuses_a_folder_or_a_device(place, run, runs, tmp_path, target):
    path = tmp_path / "out"
    if target == "folder":
        path.mkdir()
    else:
        path.symlink_to(os.devnull)
    done = seqkit(["export", "onnx", "--checkpoint", str(run), str(path)], place, runs)
    assert_one_line(done, str(path), "folder" if target == "folder" else "not a regular file")
    assert path.resolve() == Path(os.devnull) or not any(path.iterdir())
    assert not list(tmp_path.glob("*.onnx"))


@pytest.mark.parametrize("threads", ["0", "10000"])
def test_threads_outside_the_cores_name_the_range(place, runs, threads):
    done = seqkit([*FIT, "--threads", threads], place, runs)
    assert_one_line(done, "--threads must be in 1..", f"got {threads}")


def test_a_hub_id_with_dots_is_one_line(place, runs, tmp_path):
    recipe = tmp_path / "dots.yaml"
    recipe.write_text("data:\n  class_path: seqkit.data.TextClassificationDataModule\n  init_args:\n"
                      "    source: {name: SetFit/..}\n")
    done = seqkit(["data", "show", "--recipe", str(recipe)], place, runs)
    assert_one_line(done, "'SetFit/..' is not a valid Hub repo id")


@pytest.mark.parametrize("command", ["fit", "classify"])
def test_an_empty_config_file_says_it_is_empty(place, runs, tmp_path, command):
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing here yet\n\n")
    done = seqkit([command, "--config", str(empty)], place, runs)
    assert_one_line(done, f"--config {empty} holds no settings")


@pytest.mark.parametrize("left", [[], ["README.md", "model.safetensors"]])
def test_an_emptied_model_folder_is_not_called_a_run_directory(place, runs, tmp_path, left):
    folder = tmp_path / "published"
    folder.mkdir()
    for name in left:
        (folder / name).write_text("x")
    done = seqkit(["classify", "--checkpoint", str(folder), "fine"], place, runs)
    message = assert_one_line(done, str(folder), "no config.json" if left else "an empty folder")
    assert "Run directory" not in message
