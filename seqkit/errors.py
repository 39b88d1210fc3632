"""Exceptions seqkit raises for bad input: each message says what is wrong and what to do."""

from __future__ import annotations


class SeqkitError(Exception):
    """Base class of every error seqkit raises on purpose."""


class DataError(SeqkitError, ValueError):
    """A dataset, split, column or value cannot be used as configured."""


class HubUnreachableError(DataError, ConnectionError):
    """The HuggingFace Hub cannot be reached and nothing local stands in for it."""


class TokenizerError(SeqkitError, ValueError):
    """A tokenizer cannot be trained, loaded or used as configured."""


class CheckpointError(SeqkitError, ValueError):
    """A checkpoint or published model folder is missing, corrupt or incompatible."""


class PublishError(SeqkitError, RuntimeError):
    """A model cannot be uploaded to the HuggingFace Hub (no token, offline, refused)."""


class ConfigError(SeqkitError, ValueError):
    """A recipe or command-line option is misspelled or has a value of the wrong type or range."""
