"""The shared DataModule options: one ``batching`` and one ``splits`` group, module defaults kept, misuse refused."""

from __future__ import annotations

import json
from argparse import ArgumentError

import lightning as L
import pytest
from jsonargparse import ArgumentParser

from seqkit.data import (
    Batching,
    DataSource,
    ForecastingDataModule,
    LanguageModelingDataModule,
    Splits,
    TextClassificationDataModule,
    TranslationDataModule,
    TreeDataModule,
)
from seqkit.errors import DataError

SOURCE = DataSource(name="unused")  # constructors read no data


@pytest.mark.parametrize("module, train, evaluation", [
    (TextClassificationDataModule, 32, 32), (TranslationDataModule, 64, 64), (TreeDataModule, 25, 25),
    (LanguageModelingDataModule, 20, 10), (ForecastingDataModule, 32, 32),
])
def test_unset_batch_sizes_are_the_modules_own_defaults(module, train, evaluation):
    batching = module(SOURCE, batching=Batching(num_workers=1)).batching  # another field set: sizes stay the module's
    assert (batching.batch_size, batching.eval_batch_size, batching.num_workers) == (train, evaluation, 1)
    batching = module(SOURCE, batching=Batching(batch_size=8)).batching
    assert (batching.batch_size, batching.eval_batch_size) == (8, 10 if evaluation == 10 else 8)
    assert module(SOURCE).batching == module(SOURCE, batching=Batching()).batching


def _parse(init_args: dict, *overrides: str) -> L.LightningDataModule:
    parser = ArgumentParser(exit_on_error=False)
    parser.add_subclass_arguments(L.LightningDataModule, "data")
    config = {"class_path": "seqkit.data.TranslationDataModule", "init_args": {"source": {"name": "x"}, **init_args}}
    return parser.instantiate(parser.parse_args(["--data", json.dumps(config), *overrides])).data


def test_recipe_groups_parse_as_nested_arguments():
    data = _parse({"batching": {"num_workers": 2}, "splits": {"validation": None, "max_rows": {"train": 50}}},
                  "--data.init_args.splits.max_rows.test", "7", "--data.init_args.batching.max_tokens", "900")
    assert data.batching == Batching(batch_size=64, eval_batch_size=64, max_tokens=900, num_workers=2)
    assert data.splits == Splits(validation=None, max_rows={"train": 50, "test": 7})
    assert data.split_roles() == {"train": "train", "test": "test"}


def test_the_flat_options_of_older_recipes_are_refused():
    with pytest.raises(ArgumentError, match="Option 'batch_size' is not accepted"):
        _parse({"batch_size": 8})


@pytest.mark.parametrize("build, message", [
    (lambda: LanguageModelingDataModule(SOURCE, batching=Batching(max_tokens=500)),
     r"batching.max_tokens does not apply to LanguageModelingDataModule \(one token stream\)"),
    (lambda: ForecastingDataModule(SOURCE, batching=Batching(bucketing=False)), "batching.bucketing does not apply"),
    (lambda: ForecastingDataModule(SOURCE, splits=Splits(validation="dev")), "splits.validation does not apply"),
])
def test_fields_a_module_cannot_honour_are_refused(build, message):
    with pytest.raises(DataError, match=message):
        build()
