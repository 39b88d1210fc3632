"""What loading a model says when it fails for a reason other than the model: memory, a folder emptied or cut."""

from __future__ import annotations

import pytest
import torch

from seqkit.data.tokenizers import TokenizerConfig, train_tokenizer
from seqkit.errors import CheckpointError
from seqkit.inference import load_model
from seqkit.pretrained import SeqkitModel
from seqkit.tasks import SequenceClassifier

ALLOCATOR = ("[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: not enough memory: you tried to "
             "allocate 240000000000 bytes.")


@pytest.fixture()
def folder(tmp_path):
    tokenizer = train_tokenizer(TokenizerConfig(kind="word", vocab_size=50), [["a good film", "a bad film"]])
    torch.manual_seed(0)
    module = SequenceClassifier(tokenizer.vocab_size, 2, network={"encoder": {"embedding_dim": 8, "hidden_size": 8}})
    path = tmp_path / "published"
    SeqkitModel(module, {"tokenizer": tokenizer}, {}).save_pretrained(path)
    return path


@pytest.mark.parametrize("error", [RuntimeError(ALLOCATOR), MemoryError()])
def test_memory_running_out_is_not_called_a_failed_download(monkeypatch, folder, error):
    import seqkit.inference.loading as loading

    def build(*args, **kwargs):
        raise error

    monkeypatch.setattr("seqkit.pretrained.folder.build_module", build)
    monkeypatch.setattr(loading, "probe", lambda: None)  # the Hub answers
    monkeypatch.setattr(SeqkitModel, "from_pretrained", classmethod(
        lambda cls, *args, **kwargs: cls.load_folder(folder)))  # the download worked
    with pytest.raises(CheckpointError, match="Not enough memory to build the model of someone/model") as caught:
        load_model("someone/model")
    assert "download" not in str(caught.value)
    assert ("240.0 GB" in str(caught.value)) is isinstance(error, RuntimeError)
    with pytest.raises(CheckpointError, match=f"Not enough memory to build the model of {folder}"):
        load_model(folder)


def test_an_emptied_published_folder_is_not_called_a_run_directory(folder):
    (folder / "config.json").unlink()
    with pytest.raises(CheckpointError, match="has no config.json: it is an incomplete published model") as caught:
        load_model(folder)
    assert "Run directory" not in str(caught.value)
    for path in folder.iterdir():
        path.unlink()
    with pytest.raises(CheckpointError, match="is an empty folder") as caught:
        load_model(folder)
    assert "Run directory" not in str(caught.value)
