"""What ranks agree on, without starting any process: who is rank zero under each launcher, which strategy an
external launcher gets, a run folder's lock that ddp_spawn can pickle (the launches themselves: tests/test_ddp.py)."""

from __future__ import annotations

import pickle

import pytest

from seqkit.distributed import gather_objects, launched_as_rank_zero, own_share, ranks_where, strategy_for_launcher
from seqkit.runs import RunLock

LAUNCHER_VARIABLES = ("TORCHELASTIC_RUN_ID", "RANK", "LOCAL_RANK", "WORLD_SIZE", "GROUP_RANK", "NODE_RANK",
                      "SLURM_NTASKS", "SLURM_NTASKS_PER_NODE", "SLURM_PROCID", "SLURM_LOCALID", "SLURM_NODEID",
                      "SLURM_JOB_NAME",
                      "LSB_JOBID", "LSB_DJOB_RANKFILE", "JSM_NAMESPACE_LOCAL_RANK", "JSM_NAMESPACE_SIZE")


SRUN = {"SLURM_NTASKS": "2", "SLURM_NTASKS_PER_NODE": "2", "SLURM_NODEID": "0", "SLURM_JOB_NAME": "train"}


@pytest.fixture()
def bare(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in LAUNCHER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize(("variables", "zero"), [
    ({}, True),                                                                   # one process, or Lightning's own
    ({"LOCAL_RANK": "1"}, False),                                                 # a child Lightning started
    ({"NODE_RANK": "1"}, False),                                                  # node 1 started by hand
    ({"NODE_RANK": "0", "LOCAL_RANK": "0"}, True),
    ({"TORCHELASTIC_RUN_ID": "x", "RANK": "1", "LOCAL_RANK": "1", "WORLD_SIZE": "2"}, False),  # torchrun
    ({"TORCHELASTIC_RUN_ID": "x", "RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "2"}, True),
    ({**SRUN, "SLURM_PROCID": "1", "SLURM_LOCALID": "1"}, False),                # srun
    ({**SRUN, "SLURM_PROCID": "0", "SLURM_LOCALID": "0"}, True),
    ({"SLURM_NTASKS": "1", "SLURM_PROCID": "0", "SLURM_JOB_NAME": "bash", "LOCAL_RANK": "1"}, False),  # salloc shell
])
def test_rank_zero_is_read_from_the_launcher(bare, variables, zero):
    for name, value in variables.items():
        bare.setenv(name, value)
    assert launched_as_rank_zero() is zero


def test_a_spawning_strategy_becomes_ddp_when_the_launcher_started_every_process(bare):
    assert strategy_for_launcher("ddp_spawn") == "ddp_spawn"  # Lightning starts them: spawn as asked
    bare.setenv("TORCHELASTIC_RUN_ID", "x")
    bare.setenv("RANK", "0")
    assert strategy_for_launcher("ddp_spawn") == "ddp"
    assert strategy_for_launcher("ddp_notebook") == "ddp"
    assert strategy_for_launcher("ddp_spawn_find_unused_parameters_true") == "ddp_find_unused_parameters_true"
    assert strategy_for_launcher("ddp") == "ddp" and strategy_for_launcher("auto") == "auto"


def test_collectives_answer_as_one_process_outside_a_distributed_run():
    assert gather_objects({"a": 1}) == [{"a": 1}]
    assert own_share(["mine"]) == "mine" and own_share(["r0", "r1"]) is None and own_share(None) is None
    assert ranks_where(True) == [0] and ranks_where(False) == []


def test_a_held_run_lock_pickles_without_its_open_file(tmp_path):
    """ddp_spawn pickles everything the Trainer reaches, the CLI's lock on the run folder included."""
    lock = RunLock(tmp_path)
    lock.acquire()
    try:
        copy = pickle.loads(pickle.dumps(lock))
        assert copy.path == lock.path and copy._handle is None
    finally:
        lock.release()
