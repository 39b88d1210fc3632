"""What the ``seqkit`` command prints: seqkit's progress, metrics and where things went, not third-party noise.

Called once at the CLI entry point (libraries are not edited and nothing changes for Python users, except that the
``seqkit`` logger's warnings reach standard error as ``seqkit: ...`` lines).
"""

from __future__ import annotations

import logging
import os
import sys
import warnings

#: Messages from libraries that tell a seqkit user nothing (each is about the libraries' internals or something
#: seqkit already reports in its own words).
NOISE = (
    ".*isinstance\\(treespec, LeafSpec\\).*",  # Lightning's use of a deprecated torch API, on every fit
    "When using the `ThroughputMonitor`, you need to define a `flops_per_batch`",  # no FLOPs for RNNs
    ".*could not find the monitored key in the returned metrics.*",  # a run too short to validate: seqkit says so
    ".*does not have many workers.*",  # num_workers is a recipe choice; data is pre-tokenised Arrow
    "The number of training batches .* is smaller than the logging interval",
    "Experiment logs directory .* exists and is not empty",
    "Be aware that when using `ckpt_path`, callbacks used to create",
)
#: Lightning log lines to drop (they come through logging, not warnings).
LOG_NOISE = ("will override existing callbacks passed to Trainer", "Tip:", "Skipping setting a default `ModelSummary`")


class _DropNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(text in message for text in LOG_NOISE)


def quiet_libraries() -> None:
    """Silence the third-party messages in :data:`NOISE` and the ``datasets`` progress bars (Generating,
    Flattening, Casting...); show seqkit's own warnings as one ``seqkit: ...`` line each."""
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")  # read when datasets is imported
    os.environ.setdefault("JSONARGPARSE_DEPRECATION_WARNINGS", "off")
    for message in NOISE:
        warnings.filterwarnings("ignore", message=message)
    noise = _DropNoise()
    for name in ("lightning.pytorch", "lightning.pytorch.utilities.rank_zero", "lightning.fabric",
                 "pytorch_lightning"):
        logging.getLogger(name).addFilter(noise)
    logger = logging.getLogger("seqkit")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("seqkit: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
