"""Speech DataModules on the shipped FSDD rows: batches, splits, held-out speakers, connected utterances."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from seqkit.data import AudioFeatures, Composition, ConnectedWordsDataModule, DataSource, Splits, SpokenWordsDataModule
from seqkit.data.speech import draw_plan
from seqkit.errors import DataError
from tests.speech.conftest import FSDD_FIXTURE

FEATURES = AudioFeatures(sample_rate=8000, num_mels=20)


def words(**kwargs) -> SpokenWordsDataModule:
    splits = kwargs.pop("splits", Splits(validation=None, val_from_train=0.25))
    features = kwargs.pop("features", FEATURES)
    return SpokenWordsDataModule(DataSource(name=str(FSDD_FIXTURE)), features, splits=splits, **kwargs)


def test_isolated_words_batches_are_bucketed_features_with_labels():
    data = words()
    data.setup("fit")
    assert {role: len(r) for role, r in data.recordings.items()} == {"train": 15, "validation": 5, "test": 20}
    assert data.num_classes == 10 and data.num_features == 20 and data.feature_stats is None
    batch = next(iter(data.train_dataloader()))
    assert batch["features"].shape[0] == batch["labels"].shape[0] == batch["feature_lengths"].shape[0]
    assert batch["features"].shape[2] == 20 and batch["features"].shape[1] == int(batch["feature_lengths"].max())
    test = torch.cat([b["labels"] for b in data.test_dataloader()])
    assert sorted(test.tolist()) == sorted(list(range(10)) * 2)


def test_held_out_speakers_form_the_test_split():
    data = words(test_speakers=["jackson"], splits=Splits(validation=None))
    tables = data._tables()
    assert set(tables["test"][0].column("speaker").to_pylist()) == {"jackson"}
    assert set(tables["train"][0].column("speaker").to_pylist()) == {"george"}
    assert tables["test"][0].num_rows == tables["train"][0].num_rows == 20  # both shipped takes of each speaker
    with pytest.raises(DataError, match="'nobody', who is not in the data"):
        words(test_speakers=["nobody"], splits=Splits(validation=None))._tables()


def test_global_statistics_are_the_training_features_mean_and_std():
    data = words(features=AudioFeatures(sample_rate=8000, num_mels=20, normalization="global"))
    stats = data.feature_stats
    assert len(stats["mean"]) == len(stats["std"]) == 20 and min(stats["std"]) > 0
    data.setup("fit")
    batch = next(iter(data.train_dataloader()))
    assert batch["features"].abs().max() > 3  # not normalised in the data: the model applies the statistics


def test_a_row_that_is_not_audio_is_refused_naming_row_and_file(tmp_path):
    table = pq.read_table(FSDD_FIXTURE / "train.parquet")
    audio = table.column("audio").to_pylist()
    audio[3] = b"this row holds text, not a WAV file"
    folder = tmp_path / "broken"
    folder.mkdir()
    pq.write_table(table.set_column(0, "audio", pa.array(audio, pa.binary())), folder / "train.parquet")
    pq.write_table(pq.read_table(FSDD_FIXTURE / "test.parquet"), folder / "test.parquet")
    data = SpokenWordsDataModule(DataSource(name=str(folder)), FEATURES, splits=Splits(validation=None))
    with pytest.raises(DataError, match=r"Audio of row 3 \(.*\.wav, .*train\.parquet\) is not audio") as caught:
        data.setup("fit")
    assert "\n" not in str(caught.value)


def test_connected_plans_are_seeded_per_epoch_and_fixed_for_evaluation():
    composition = Composition(min_words=1, max_words=4, train_utterances=12, eval_utterances=6)
    data = ConnectedWordsDataModule(DataSource(name=str(FSDD_FIXTURE)), composition, FEATURES,
                                    splits=Splits(validation=None, val_from_train=0.25))
    data.setup("fit")
    train, _ = data.datasets["train"]
    first, again, second = train.plan(0), train.plan(0), train.plan(1)
    np.testing.assert_array_equal(first.picks, again.picks)
    assert not np.array_equal(first.picks, second.picks)  # every epoch draws new utterances
    assert ((first.counts >= 1) & (first.counts <= 4)).all()
    recordings = data.recordings["train"]
    for row in range(len(first.counts)):  # one speaker per utterance; lengths add up
        picks = first.picks[row, : first.counts[row]]
        assert len(set(recordings.groups[picks])) == 1 and (first.picks[row, first.counts[row]:] == -1).all()
        assert first.lengths[row] == len(train.compose(first, row))
    test, _ = data.datasets["test"]
    assert test.recordings is data.recordings["test"]  # test utterances come from test recordings only
    np.testing.assert_array_equal(test.plan(0).picks, test.plan(5).picks)  # fixed whatever the epoch
    loader = data.train_dataloader()
    loader.batch_sampler.set_epoch(1)
    batch = next(iter(loader))
    assert batch["targets"].shape[1] == 4 and (batch["target_lengths"] >= 1).all()
    for targets, count in zip(batch["targets"], batch["target_lengths"], strict=True):
        assert (targets[:count] >= 0).all() and (targets[count:] == -1).all()


def test_noise_is_added_at_the_drawn_snr():
    data = ConnectedWordsDataModule(DataSource(name=str(FSDD_FIXTURE)), Composition(noise_snr=(10.0, 10.0)),
                                    FEATURES, splits=Splits(validation=None))
    data.setup("fit")
    dataset, _ = data.datasets["test"]
    noisy = dataset.plan(0)
    clean = draw_plan(dataset.recordings, Composition(), len(noisy.counts), dataset.seed, 8000)
    np.testing.assert_array_equal(clean.picks, noisy.picks)  # noise changes nothing else of the draw
    assert (noisy.snr == 10.0).all()
    with_noise, without = dataset.compose(noisy, 0), dataset.compose(clean, 0)
    snr = 10 * np.log10(np.mean(np.square(without)) / np.mean(np.square(with_noise - without)))
    assert snr == pytest.approx(10.0, abs=0.3)
