"""The folder of one command: which it is, the checks before anything is loaded, creating and locking it, the
folder a rank other than zero follows, and removing it again when the command fails before it trained."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.utilities import rank_zero_only

from seqkit import settings
from seqkit.distributed import launched_as_rank_zero
from seqkit.errors import CheckpointError
from seqkit.runs import (
    PENDING,
    RunLock,
    check_creatable,
    check_resume_settings,
    create_run_dir,
    holds_a_run,
    inherited_run_dir,
    job_id,
    job_run_dir,
)


def run_name(config: Any) -> str:
    """``<task>/<recipe>`` from the config file (``recipes/lm/tiny.yaml`` -> ``lm/tiny``), so runs of recipes that
    share a file name (``lm/tiny``, ``translation/tiny``) never share a folder."""
    files = config.get("config") or []
    if files:
        path = Path(str(getattr(files[-1], "absolute", files[-1]))).resolve()
        if path.name == "config.yaml" and holds_a_run(path.parent):  # retraining from a run's own config
            return "/".join(path.parent.parent.parts[-2:])
        return f"{path.parent.name}/{path.stem}" if path.parent.name else path.stem
    class_path = (config.get("model") or {}).get("class_path", "model")
    return class_path.rsplit(".", 1)[-1].lower()


def evaluated_run(subcommand: str, config: Any) -> Path | None:
    """The run folder whose checkpoint ``validate``/``test``/``predict`` evaluates, if the checkpoint is in one."""
    ckpt_path = config.get("ckpt_path")
    if subcommand == "fit" or not ckpt_path or not Path(ckpt_path).is_file():
        return None
    path = Path(ckpt_path).resolve()
    run = path.parent.parent if path.parent.name == "checkpoints" else path.parent
    return run if (run / "config.yaml").is_file() else None


def _writable(create: Callable[[], Path], where: Any) -> Path:
    """``create()``, with a folder the storage refuses (read-only, a file in the way, a full disk) in one line."""
    try:
        return create()
    except OSError as error:
        raise CheckpointError(
            f"Run folder {error.filename or where} cannot be created or written ({error.strerror}); choose another "
            "--run_dir (or SEQKIT_RUNS_DIR)."
        ) from None


class RunFolder:
    """The run folder of one command, from the first checks to its release.

    Attributes:
        new: A folder this process created (removed again if the command fails before writing a checkpoint).
        named: Whether seqkit named that folder (rather than ``--run_dir``).
    """

    def __init__(self) -> None:
        self.new: Path | None = None
        self.named = False
        self._lock: RunLock | None = None

    @staticmethod
    def given(config: Any) -> tuple[Path | None, Path | None]:
        """``(inherited, requested)``: the folder a parent process chose, and the one the command will use when it
        is known before anything is built (the inherited one, else ``--run_dir``)."""
        inherited = inherited_run_dir()
        explicit = config.get("run_dir")
        return inherited, inherited if inherited is not None else (Path(explicit) if explicit else None)

    def check(self, subcommand: str, config: Any) -> None:
        """What is wrong with the folder asked for, before any data or model work (one line, nothing written)."""
        inherited, run_dir = self.given(config)
        ckpt_path = config.get("ckpt_path")
        if ckpt_path == "last" and run_dir is None and not job_id():
            raise CheckpointError("--ckpt_path last resumes a run: give its folder with --run_dir RUN_DIR.")
        if subcommand == "fit" and inherited is None and run_dir is not None and not ckpt_path:
            if run_dir.exists() and not run_dir.is_dir():
                raise CheckpointError(f"--run_dir {run_dir} is a file, not a folder.")
            if run_dir.is_dir() and holds_a_run(run_dir):
                raise CheckpointError(
                    f"{run_dir} already holds a run; resume it with --ckpt_path last, or train into a new --run_dir."
                )

    def claim(self, subcommand: str, config: Any, dumped: dict) -> None:
        """Lock the folder ``fit`` trains in (rank zero), or check that a new one can be created; a resume must
        keep the run's model and tokenizer settings (``dumped``, the whole config, against ``RUN/config.yaml``)."""
        inherited, run_dir = self.given(config)
        if subcommand == "fit" and inherited is None and run_dir is not None and launched_as_rank_zero():
            self.lock(run_dir)  # before the folder is checked or anything is loaded into it
        elif inherited is None and run_dir is None:
            check_creatable(settings.runs_dir())  # found now, not after the data is loaded
        if subcommand == "fit" and config.get("ckpt_path") and run_dir is not None and run_dir.is_dir():
            check_resume_settings(run_dir, dumped)

    def make(self, subcommand: str, config: Any) -> Path:
        """The folder of the command, created (by rank zero) and, for ``fit``, locked. Called once data and model
        exist, so a bad recipe fails before any folder is created."""
        inherited, _ = self.given(config)
        explicit = config.get("run_dir")
        evaluated = None
        if subcommand != "fit" and inherited is None:
            # Evaluating never writes over a run's own files: results go to a new RUN/<subcommand>/<time> folder
            # of the evaluated run (or of the --run_dir given, when that already holds a run).
            evaluated = Path(explicit) if explicit and holds_a_run(Path(explicit)) else (
                None if explicit else evaluated_run(subcommand, config))
        if inherited is None and not launched_as_rank_zero():  # rank zero creates, locks and writes the folder
            return self.follow(subcommand, config, explicit, evaluated)
        if inherited is not None:
            run_dir = _writable(lambda: _made(inherited), inherited)
        elif evaluated is not None or not explicit:
            name, root = (subcommand, evaluated) if evaluated is not None else (run_name(config), None)
            run_dir = self.new = _writable(lambda: create_run_dir(name, root=root), root or settings.runs_dir())
            self.named = True
        else:
            run_dir = Path(explicit)
            if not run_dir.exists():
                self.new = run_dir
            _writable(lambda: _made(run_dir), run_dir)
        if subcommand == "fit" and inherited is None:  # one training process per folder at a time
            self.lock(run_dir)
        return run_dir

    @staticmethod
    def follow(subcommand: str, config: Any, explicit: str | None, evaluated: Path | None) -> Path:
        """The run folder of a rank other than zero, which creates nothing: the folder given or the job's, else a
        name that :class:`~seqkit.distributed.FollowRankZeroRunDir` replaces with rank zero's once processes
        connect."""
        if explicit and evaluated is None:
            return Path(explicit)
        name, root = (subcommand, evaluated) if evaluated is not None else (run_name(config), None)
        return job_run_dir(name, root) or (root or settings.runs_dir()) / name / PENDING

    def lock(self, run_dir: Path) -> None:
        """Create ``run_dir`` if needed and hold its lock for the rest of the command (one ``fit`` per folder)."""
        if self._lock is not None:
            return
        if not run_dir.exists():
            self.new = run_dir

        def locked() -> Path:
            run_dir.mkdir(parents=True, exist_ok=True)
            lock = RunLock(run_dir)
            lock.acquire()
            self._lock = lock
            return run_dir

        _writable(locked, run_dir)

    def release(self) -> None:
        if self._lock is not None:
            self._lock.release()

    def discard(self, trained: bool) -> None:
        """Remove the folder this process created when the command failed before training began (``trained``:
        whether any step ran; its logs then tell what went wrong) or before any checkpoint."""
        folder = self.new
        if folder is None or not folder.is_dir() or any(folder.glob("checkpoints/*.ckpt")) or trained:
            return
        if rank_zero_only.rank == 0:
            shutil.rmtree(folder, ignore_errors=True)
            if self.named:  # seqkit chose the name: an evaluation (RUN/test/) or recipe folder left empty
                with contextlib.suppress(OSError):
                    folder.parent.rmdir()


def _made(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def continue_csv_log(logger: CSVLogger) -> None:
    """Make a resumed run append to its ``metrics.csv`` (Lightning's CSV writer would start the file afresh)."""
    if rank_zero_only.rank != 0:
        return
    path = Path(logger.log_dir) / "metrics.csv"
    if not path.is_file():
        return
    import csv

    saved = path.read_bytes()
    with path.open(newline="") as handle:
        header = next(csv.reader(handle), [])
    writer = logger.experiment  # created now: it deletes an existing metrics.csv, which is put back at once
    path.write_bytes(saved)
    writer.metrics_keys = list(header)
