"""`seqkit speedrun`: a recipe under a time limit, then the task's metric read back from the run's log."""

from __future__ import annotations

import pytest

from seqkit.cli import main
from seqkit.commands import speedrun as module
from seqkit.errors import ConfigError
from tests.helpers import REPO


def test_every_task_has_its_speedrun_recipe():
    for spec in module.SPEEDRUNS.values():
        assert (REPO / "recipes" / f"{spec.recipe}.yaml").is_file()


def test_the_headline_is_the_best_validation_value_or_the_last_test_value(tmp_path):
    log = tmp_path / "metrics.csv"
    log.write_text("step,val_ppl,val_acc,test_acc\n1,300,,\n2,200,0.5,\n3,250,0.7,\n4,,,0.65\n")
    value, series = module.headline(log, module.SPEEDRUNS["lm"])
    assert value == 200 and series == {"val_ppl": [300, 200, 250], "val_acc": [0.5, 0.7]}
    assert module.headline(log, module.SPEEDRUNS["sentiment"])[0] == 0.65
    log.write_text("step,train_loss\n1,5.0\n")
    with pytest.raises(ConfigError, match="no val_ppl"):
        module.headline(log, module.SPEEDRUNS["lm"])


def test_a_speedrun_trains_tests_and_prints_its_metric(data_root, runs_dir, monkeypatch, capsys):
    tiny = module.Speedrun("sentiment/sst2_tiny", "test_acc", "SST-2 test accuracy", higher_is_better=True)
    monkeypatch.setitem(module.SPEEDRUNS, "sentiment", tiny)
    assert main(["speedrun", "sentiment", "--minutes", "2", "--threads", "1", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "speedrun sentiment: sentiment/sst2_tiny, limit 2 min of training" in out
    line = next(line for line in out.splitlines() if "SST-2 test accuracy:" in line)
    assert 0.5 < float(line.split(":")[1]) <= 1.0
    assert "val_acc at each validation:" in out
