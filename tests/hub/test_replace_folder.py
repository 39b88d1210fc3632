"""Saving over a published folder replaces it whole: a save that fails midway leaves the old folder as it was."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
import torch

from seqkit.data.tokenizers import TokenizerConfig, train_tokenizer
from seqkit.pretrained import SeqkitModel, swap
from seqkit.pretrained import folder as folder_module
from seqkit.tasks import SequenceClassifier

TEXTS = ["a good film", "a bad film", "the cat sat on the mat"]


def _model(seed: int) -> SeqkitModel:
    tokenizer = train_tokenizer(TokenizerConfig(kind="word", vocab_size=50), [TEXTS])
    torch.manual_seed(seed)
    module = SequenceClassifier(tokenizer.vocab_size, 2, network={"encoder": {"embedding_dim": 4, "hidden_size": 4}})
    return SeqkitModel(module, {"tokenizer": tokenizer})


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _files(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _leftovers(parent: Path, name: str) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name != name)


@pytest.fixture()
def old(tmp_path) -> Path:
    folder = tmp_path / "published"
    _model(0).save_pretrained(folder)
    return folder


def _fail_in_weights(monkeypatch):
    def half_written(module, filename, **_):
        Path(filename).write_bytes(b"half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(folder_module, "save_model", half_written)


def _fail_in_card(monkeypatch):  # the last file written: weights, tokenizer and config.json are already there
    def broken(*args, **kwargs):
        raise RuntimeError("card failed")

    monkeypatch.setattr(SeqkitModel, "generate_model_card", broken)


@pytest.mark.parametrize("fail", [_fail_in_weights, _fail_in_card], ids=["weights", "card"])
def test_a_save_failing_midway_leaves_the_old_folder_whole(old, monkeypatch, fail):
    before = _files(old)
    fail(monkeypatch)
    with pytest.raises((OSError, RuntimeError)):
        _model(1).save_pretrained(old)
    assert _files(old) == before
    assert _leftovers(old.parent, old.name) == []  # no temporary folder beside it
    SeqkitModel.load_folder(old)  # still a complete, verified model folder


@pytest.mark.parametrize("atomic_exchange", [True, False], ids=["exchange", "two-renames"])
def test_a_successful_save_replaces_every_file_and_leaves_nothing_beside(old, monkeypatch, atomic_exchange):
    if not atomic_exchange:
        monkeypatch.setattr(swap, "_exchange", lambda first, second: False)
    before = _files(old)
    _model(1).save_pretrained(old)
    after = _files(old)
    assert after.keys() == before.keys() and after["model.safetensors"] != before["model.safetensors"]
    assert _leftovers(old.parent, old.name) == []
    assert old.stat().st_mode & 0o777 == 0o777 & ~_umask()
    SeqkitModel.load_folder(old)


def test_a_new_folder_is_created_with_its_parents(tmp_path):
    folder = tmp_path / "a" / "b" / "published"
    _model(0).save_pretrained(folder)
    assert (folder / "config.json").is_file() and _leftovers(folder.parent, folder.name) == []
