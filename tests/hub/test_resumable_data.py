"""The pieces of an exact resume: loader position, sampler epochs, the language model's carried state."""

from __future__ import annotations

import pytest
import torch
from lightning.fabric.utilities.data import _set_sampler_epoch

from seqkit.data.resumable import ResumableDataLoader
from seqkit.data.sampler import BucketBatchSampler
from seqkit.tasks import LanguageModel


def _loader(position=None) -> ResumableDataLoader:
    sampler = BucketBatchSampler(list(range(1, 41)), 4, pool_factor=2, seed=3)
    return ResumableDataLoader(list(range(40)), batch_sampler=sampler, collate_fn=list, position=position)


def test_lightning_reaches_the_bucket_sampler_epoch():
    loader = _loader()
    first = list(loader)
    _set_sampler_epoch(loader, 1)  # what Lightning's fit loop calls at every epoch start
    assert loader.batch_sampler.epoch == 1 and list(loader) != first


def test_a_restored_loader_skips_the_batches_already_trained_on():
    loader = _loader(position=lambda: (2, 3))
    _set_sampler_epoch(loader, 2)
    epoch_two = list(loader)
    assert loader.state_dict() == {"epoch": 2, "batches": 3}

    resumed = _loader()
    resumed.load_state_dict({"epoch": 2, "batches": 3})
    assert len(resumed) == len(epoch_two)  # Lightning counts the skipped batches as done
    assert list(resumed) == epoch_two[3:]
    assert list(resumed) == epoch_two  # the next pass of the same epoch is whole again


class _Augmented(torch.utils.data.Dataset):
    """Each example drawn at random from the global generator, as data augmentation does."""

    def __len__(self) -> int:
        return 40

    def __getitem__(self, index: int) -> float:
        return index + float(torch.rand(()))


def test_random_augmentation_resumes_exactly_and_leaves_the_global_generator_alone():
    def loader() -> ResumableDataLoader:
        return ResumableDataLoader(_Augmented(), batch_sampler=BucketBatchSampler([1] * 40, 4, seed=3),
                                   collate_fn=list)

    torch.manual_seed(0)
    uninterrupted = loader()
    _set_sampler_epoch(uninterrupted, 2)
    before = torch.get_rng_state()
    epoch_two = list(uninterrupted)
    assert torch.equal(torch.get_rng_state(), before)  # loading drew nothing from the model's generator
    assert list(uninterrupted) == epoch_two  # the same batches: their randomness depends on the batch alone
    torch.manual_seed(0)
    resumed = loader()
    resumed.load_state_dict({"epoch": 2, "batches": 3})
    torch.rand(5)  # whatever the model drew in between
    assert list(resumed) == epoch_two[3:]


@pytest.mark.filterwarnings("ignore:You are trying to `self.log\\(\\)`")
def test_the_language_model_checkpoints_its_carried_state():
    module = LanguageModel(30, network={"embedding_dim": 8, "hidden_size": 8, "num_layers": 2, "weight_drop": 0.0})
    module.training_step({"input_ids": torch.randint(4, 30, (3, 5)), "target_ids": torch.randint(4, 30, (3, 5))}, 0)
    checkpoint: dict = {}
    module.on_save_checkpoint(checkpoint)
    restored = LanguageModel(30, network={"embedding_dim": 8, "hidden_size": 8, "num_layers": 2, "weight_drop": 0.0})
    restored.on_load_checkpoint(checkpoint)
    for saved, loaded in zip(module._states["train"], restored._states["train"], strict=True):
        assert all(torch.equal(a, b) for a, b in zip(saved, loaded, strict=True))
