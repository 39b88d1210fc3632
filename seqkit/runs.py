"""Run directories: one folder per run holding its resolved config, checkpoints, logs and tokenizer.

Layout::

    runs/<recipe>/<YYYYmmdd-HHMMSS>/
        config.yaml          the fully resolved configuration (re-run it with --config)
        checkpoints/         best.ckpt, last.ckpt
        tokenizer/           tokenizer.json or tokenizer.model
        metrics.csv          CSV log; events.out.tfevents.* for TensorBoard
        hparams.yaml

A new run never reuses an existing folder: a clash adds a suffix (``-2``, ``-3``...). Under DDP only global rank
zero creates, locks and writes the folder. The other ranks use the folder given (``--run_dir``), the one their
launching process chose (``SEQKIT_RUN_DIR``, for the processes Lightning starts) or the job's (SLURM or torchrun: every
node derives ``job-<id>`` from the job id); otherwise they learn rank zero's choice once the process group is up
(:class:`seqkit.distributed.FollowRankZeroRunDir`).
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import yaml

from seqkit import settings
from seqkit.errors import CheckpointError
from seqkit.safe_config import YAMLBombError, load_yaml

RUN_DIR_ENV = "SEQKIT_RUN_DIR"
_JOB_ID_VARS = ("SLURM_JOB_ID", "TORCHELASTIC_RUN_ID")


def check_creatable(folder: Path) -> None:
    """Raise :class:`~seqkit.errors.CheckpointError` unless ``folder`` exists as a writable folder or could be
    created (its nearest existing parent is a writable folder). Creates nothing."""
    probe = Path(folder).absolute()
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    if not probe.is_dir():
        raise CheckpointError(f"Run folder {folder} cannot be created: {probe} is a file; choose another --run_dir "
                              "(or SEQKIT_RUNS_DIR).")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise CheckpointError(f"Run folder {folder} cannot be created: {probe} is not writable; choose another "
                              "--run_dir (or SEQKIT_RUNS_DIR).")


def inherited_run_dir() -> Path | None:
    """The run directory chosen by a parent process (``SEQKIT_RUN_DIR``), if any."""
    value = os.environ.get(RUN_DIR_ENV)
    return Path(value) if value else None


def job_id() -> str | None:
    """The cluster job id (SLURM or torchrun) when running inside a job."""
    return next((os.environ[v] for v in _JOB_ID_VARS if os.environ.get(v) not in (None, "", "none")), None)


def job_run_dir(name: str, root: Path | None = None) -> Path | None:
    """``<root>/<name>/job-<id>`` inside a cluster job (every rank derives it alone, and a requeued job finds its own
    folder again), else ``None``. Creates nothing."""
    job = job_id()
    return (root or settings.runs_dir()) / name / f"job-{job}" if job else None


#: The name a rank other than zero gives a folder that rank zero has still to name (it never creates it).
PENDING = ".pending-rank-zero"


def create_run_dir(name: str, root: Path | None = None) -> Path:
    """Create and return a fresh ``<root>/<name>/<timestamp>`` folder (``<root>/<name>/job-<id>`` in a job)."""
    parent = (root or settings.runs_dir()) / name
    parent.mkdir(parents=True, exist_ok=True)
    in_job = job_run_dir(name, root)
    if in_job is not None:
        in_job.mkdir(exist_ok=True)
        return in_job
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for attempt in range(1, 1000):
        run_dir = parent / (stamp if attempt == 1 else f"{stamp}-{attempt}")
        try:
            run_dir.mkdir()
        except FileExistsError:
            continue
        return run_dir
    raise RuntimeError(f"Could not create a run directory under {parent}")


_WARNED: set[Path] = set()  # run folders already reported as having no best.ckpt


def find_checkpoint(path: str | Path) -> tuple[Path, Path]:
    """Resolve a run directory or checkpoint file to ``(checkpoint file, run directory)``.

    A run directory resolves to ``checkpoints/best.ckpt``, else ``checkpoints/last.ckpt``.
    """
    path = Path(path).expanduser()
    if path.is_file():
        run_dir = path.parent.parent if path.parent.name == "checkpoints" else path.parent
        return path, run_dir
    if not path.is_dir():
        raise CheckpointError(f"{path} is neither a run directory nor a checkpoint file.")
    if (path / "checkpoints" / "best.ckpt").is_file():
        return path / "checkpoints" / "best.ckpt", path
    if (path / "checkpoints" / "last.ckpt").is_file():
        if path.resolve() in _WARNED:
            return path / "checkpoints" / "last.ckpt", path
        _WARNED.add(path.resolve())
        logging.getLogger("seqkit").warning(
            "%s has no checkpoints/best.ckpt (validation never ran: training stopped before the first validation); "
            "using checkpoints/last.ckpt, the weights at the end of training.", path)
        return path / "checkpoints" / "last.ckpt", path
    raise CheckpointError(f"Run directory {path} has no checkpoints/best.ckpt or checkpoints/last.ckpt.")


def read_run_config(folder: Path) -> dict:
    """The run's resolved configuration, ``folder/config.yaml`` (``{}`` when there is none); the one reader of it."""
    path = Path(folder) / "config.yaml"
    if not path.is_file():
        return {}
    try:
        config = load_yaml(path.read_text(encoding="utf-8")) or {}
    except YAMLBombError as error:
        raise CheckpointError(f"{path} is refused: {error}.") from None
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{path} is not valid YAML ({type(error).__name__}); was it written by seqkit fit?") \
            from None
    if not isinstance(config, dict):
        raise CheckpointError(f"{path} does not hold a configuration mapping; was it written by seqkit fit?")
    return config


# ---------------------------------------------------------------------------------------------- reusing a run folder
#: Files that say a folder already holds a run (``seqkit fit`` wrote them).
_RUN_MARKERS = ("config.yaml", "checkpoints", "metrics.csv")
LOCK_FILE = ".seqkit-lock"


def holds_a_run(folder: Path) -> bool:
    """Whether ``folder`` already holds a run's files (a finished or interrupted ``seqkit fit``)."""
    return any((folder / name).exists() for name in _RUN_MARKERS)


class RunLock:
    """An exclusive lock on a run folder while a process trains in it (``fcntl.flock``: the system releases it when
    the process ends, even after ``kill -9``, so a stale lock never blocks a resume).

    Where ``fcntl`` does not exist (Windows) the lock is skipped.
    """

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / LOCK_FILE
        self._handle = None

    def acquire(self) -> None:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            return
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            owner = handle.read().strip() or "another process"
            handle.close()
            raise CheckpointError(
                f"Run folder {self.path.parent} is in use by another seqkit fit ({owner}); wait for it to end or "
                "choose another --run_dir."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        self._handle = handle

    def __getstate__(self) -> dict:
        # ddp_spawn pickles everything the Trainer reaches (LightningCLI's saved config reaches this lock): the open
        # file stays with this process, which holds the lock while its workers train.
        return {"path": self.path, "_handle": None}

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()  # closing drops the lock; the empty file stays (removing it would race)
            self._handle = None


def _plain(value: object) -> object:
    """YAML-comparable form of a configuration value (tuples as lists, paths as strings)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def _flatten(value: object, prefix: str) -> dict[str, object]:
    if isinstance(value, dict):
        flat: dict[str, object] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}.{key}"))
        return flat
    return {prefix: value}


def fixed_settings(config: dict) -> dict[str, object]:
    """The settings a resumed run cannot change: the model (but its optimizer and scheduler) and the data module's
    class and tokenizer settings, as ``{"model.init_args.network.hidden_size": 32, ...}``."""
    model = dict(config.get("model") or {})
    model_args = {k: v for k, v in (model.get("init_args") or {}).items() if k not in ("optimizer", "lr_scheduler")}
    data = dict(config.get("data") or {})
    tokenizers = {k: v for k, v in (data.get("init_args") or {}).items() if "tokenizer" in k}
    fixed = {
        **_flatten(model.get("class_path"), "model.class_path"),
        **_flatten(_plain(model_args), "model.init_args"),
        **_flatten(data.get("class_path"), "data.class_path"),
        **_flatten(_plain(tokenizers), "data.init_args"),
    }
    return {k: v for k, v in fixed.items() if v is not None}


def check_resume_settings(run_dir: Path, config: dict) -> None:
    """Raise :class:`~seqkit.errors.CheckpointError` when ``config`` changes a setting that the run in ``run_dir``
    was trained with and that a resume cannot change (the model or the tokenizer), before anything is written."""
    before, now = fixed_settings(read_run_config(run_dir)), fixed_settings(config)
    # Only settings both configurations name: a setting added to seqkit since the run started is not a change.
    for key in sorted(before.keys() & now.keys()):
        if before[key] != now[key]:
            raise CheckpointError(
                f"Resuming {run_dir} with {key}={now.get(key)!r}, but the run was trained with {before.get(key)!r}; "
                "a resume keeps the model and tokenizer settings (drop the change, or train a new run)."
            )
