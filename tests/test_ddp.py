"""Distributed training on CPU (gloo, 2 processes) under every launcher: torchrun (one node and two), SLURM (through
its environment variables, as Lightning's own tests do), hand-started nodes (MASTER_ADDR / NODE_RANK), Lightning's own
launcher (killed, then resumed on two torchrun nodes), ddp_spawn and ddp_notebook.

Each launch trains some task families through the seqkit CLI (``seqkit.bench.ddp_runs``, several runs in one
process) and records what every rank saw; the last test evaluates every trained checkpoint on one process and checks,
family by family, what ``seqkit bench ddp`` reports: ranks' weights equal, a stop mid-epoch resumed to the
uninterrupted weights, test metrics of 1 and 2 processes equal, each test example counted once (metrics and files),
one run folder. The tests of this module share their runs: run them together, in order. Every launch is bounded by a
timeout: a hang fails the test instead of stalling the suite.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from seqkit.bench.ddp import _compare
from seqkit.bench.ddp_runs import FAMILIES, TINY, slug
from tests.helpers import REPO, free_port, subprocess_env

pytestmark = pytest.mark.slow

#: Which families each launcher trains (every family once; a family that starts from another shares its launch).
LAUNCHES = {
    "torchrun": ["sentiment (BiGRU classifier)", "language model + NT-ASGD", "ULMFiT fine-tuning + GradualUnfreezing",
                 "sentiment + TimeBudgetDecay"],
    "slurm": ["translation (attention seq2seq)", "forecasting (LSTM)", "spoken digits (speech classifier)",
              "connected digits (CTC recogniser)"],
    "nodes": ["trees (Tree-LSTM)", "reviews (HAN)", "echo-state classifier", "CNN + BiLSTM classifier",
              "history compressor", "echo-state language model", "character-CNN language model"],
}
#: The families stopped mid-epoch and resumed in these launches (the language model is killed and resumed by
#: test_a_killed_run_resumes_on_two_torchrun_nodes; the Tree-LSTM on one process at the end).
RESUMED = ["forecasting (LSTM)"]
BY_NAME = {family.name: family for family in FAMILIES}
LAUNCH_TIMEOUT = 420


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("ddp")


def _env(**extra: str) -> dict[str, str]:
    env = subprocess_env(OMP_NUM_THREADS="1", **extra)
    for name in ("SEQKIT_RUN_DIR", "RANK", "LOCAL_RANK", "WORLD_SIZE", "NODE_RANK", "MASTER_ADDR", "MASTER_PORT"):
        if name not in extra:
            env.pop(name, None)
    return env


def launch(processes: list[tuple[list[str], dict[str, str]]], folder: Path, timeout: int = LAUNCH_TIMEOUT) -> list[str]:
    """Start every ``(command, environment)`` at once and wait for all; returns their outputs. Each runs in its own
    process group, killed whole if the launch outlives ``timeout`` (which fails the test)."""
    folder.mkdir(parents=True, exist_ok=True)
    logs = [folder / f"process-{index}.log" for index in range(len(processes))]
    started = []
    for (command, env), log in zip(processes, logs, strict=True):
        with log.open("w") as handle:
            started.append(subprocess.Popen(command, env=env, cwd=folder, stdout=handle, stderr=subprocess.STDOUT,
                                            start_new_session=True))
    try:
        for process in started:
            process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        for process in started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
        pytest.fail(f"the launch outlived {timeout} s; its output:\n" + _tail(logs))
    outputs = [log.read_text(errors="replace") for log in logs]
    codes = [process.returncode for process in started]
    assert codes == [0] * len(codes), f"exit codes {codes}:\n" + _tail(logs)
    return outputs


def _tail(logs: list[Path]) -> str:
    return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}" for log in logs if log.is_file())


def worker(out: Path, launcher: str, *options: str) -> list[str]:
    """The command of one process that trains ``launcher``'s families."""
    return ["-m", "seqkit.bench.ddp_runs", "--mode", "train", "--out", str(out), "--families",
            json.dumps(LAUNCHES[launcher]), "--resume", json.dumps(RESUMED), *options]


def check_trained(out: Path, launcher: str, processes: int = 2) -> dict[str, dict]:
    """Each family of ``launcher``: trained without error on ``processes`` ranks whose weights are identical, in one
    run folder, its test counting each example once; stopped and resumed to the same weights where it resumes."""
    results = {}
    for name in LAUNCHES[launcher]:
        trained = json.loads((out / slug(name) / "train.json").read_text())
        assert "error" not in trained, f"{name}: {trained['error']}"
        assert len(trained["digests"]) == processes and len(set(trained["digests"])) == 1, name
        folders = trained["run_folders"]
        assert folders["configs"] == ["config.yaml"] and folders["metrics"] == ["metrics.csv"], name
        assert folders["placeholders"] == [], name
        assert sum(trained["test_probe"]["evaluated"]) == trained["test_probe"]["split"], name
        assert all(count > 0 for count in trained["test_probe"]["evaluated"]), name
        for rows, *_ in trained["files"].values():
            assert rows == trained["test_probe"]["split"], (name, trained["files"])
        if name in RESUMED:
            assert trained["stopped_digests"] == trained["digests"], f"{name}: resumed weights differ"
        results[name] = trained
    return results


def test_torchrun_one_node(out):
    """torchrun --standalone: two ranks, kept identical under the callbacks TimeBudgetDecay (rank zero's clock),
    NT-ASGD and gradual unfreezing; predictions hold each test row once."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               *worker(out, "torchrun", "--devices", "2")]
    launch([(command, _env())], out / "launch-torchrun")
    trained = check_trained(out, "torchrun")
    predicted = trained["sentiment (BiGRU classifier)"]
    assert predicted["predicted"]["predictions.jsonl"][0] == predicted["test_probe"]["split"] == 101
    assert sum(predicted["predict_probe"]["evaluated"]) == 101


def test_slurm_tasks_agree_on_the_job_folder(out):
    """Two SLURM tasks (srun's variables, set by hand): only rank zero creates the run folder, named by the job."""
    job, port, runs = str(uuid.uuid4().int % 10**6), str(free_port()), out / "runs-slurm"
    processes = [([sys.executable, *worker(out, "slurm", "--devices", "2", "--unnamed")], _env(
        SLURM_NTASKS="2", SLURM_NTASKS_PER_NODE="2", SLURM_NNODES="1", SLURM_PROCID=str(rank),
        SLURM_LOCALID=str(rank), SLURM_NODEID="0", SLURM_JOB_ID=job, SLURM_JOB_NAME="seqkit-test",
        SLURM_NODELIST="127.0.0.1", MASTER_ADDR="127.0.0.1", MASTER_PORT=port, SEQKIT_RUNS_DIR=str(runs)))
        for rank in (0, 1)]
    launch(processes, out / "launch-slurm")
    trained = check_trained(out, "slurm")
    for name in LAUNCHES["slurm"]:
        assert Path(trained[name]["full"]).name == f"job-{job}"
    # Forecasting is data-parallel: each rank trains on half the windows (256 windows, batches of 32, 2 epochs).
    forecast = trained["forecasting (LSTM)"]
    assert forecast["stopped_at"][1] == 8
    assert forecast["predicted"]["forecasts.parquet"][0] == sum(forecast["predict_probe"]["evaluated"]) == 65


def test_hand_started_nodes_follow_the_folder_rank_zero_names(out):
    """Two "nodes" started by hand (MASTER_ADDR, MASTER_PORT, NODE_RANK) without --run_dir: rank zero names a new
    timestamped folder, the other node learns it; nothing else appears under the runs folder."""
    port, runs = str(free_port()), out / "runs-nodes"
    processes = [([sys.executable, *worker(out, "nodes", "--devices", "1", "--nodes", "2", "--unnamed")],
                  _env(MASTER_ADDR="127.0.0.1", MASTER_PORT=port, NODE_RANK=str(rank), SEQKIT_RUNS_DIR=str(runs)))
                 for rank in (0, 1)]
    launch(processes, out / "launch-nodes")
    trained = check_trained(out, "nodes")
    for name in LAUNCHES["nodes"]:
        recipe = runs / BY_NAME[name].recipe
        assert [folder.name for folder in recipe.iterdir()] == [Path(trained[name]["full"]).name]
    assert not list(runs.rglob(".pending*"))


def test_ddp_spawn_writes_one_run_folder(out):
    """``seqkit fit --trainer.strategy ddp_spawn``: the workers are spawned processes (the run folder's lock stays
    with the process that holds it); one run folder, one set of checkpoints and metrics."""
    run = out / "spawn" / "run"
    command = [sys.executable, "-m", "seqkit", "fit", "--config", "esn/sst2", "--run_dir", str(run), *TINY,
               "--trainer.accelerator", "cpu", "--trainer.devices", "2", "--trainer.strategy", "ddp_spawn",
               "--model.init_args.network.reservoir.reservoir_size", "50", "--data.init_args.splits.max_rows", "100"]
    launch([(command, _env(MASTER_PORT=str(free_port()), SEQKIT_RUNS_DIR=str(out / "spawn" / "runs")))],
           out / "spawn")
    # A readout fitted in closed form has a best checkpoint too.
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["best.ckpt", "last.ckpt"]
    assert [p.name for p in run.glob("config*.yaml")] == ["config.yaml"]
    assert "rows_accumulated" in (run / "metrics.csv").read_text().splitlines()[0]
    assert [p.name for p in (out / "spawn").iterdir() if p.is_dir()] == ["run"]  # the workers made no folder


def test_a_killed_run_resumes_on_two_torchrun_nodes(out):
    """SIGKILL both ranks of a run started by Lightning's own launcher in the middle of its second epoch; resume it
    with --ckpt_path last on two torchrun agents, one process each, meeting on 127.0.0.1 (--nnodes 2 --node_rank):
    the weights equal those of the uninterrupted torchrun run of the same recipe (dropout, weight drop, carried
    language-model states, NT-ASGD)."""
    family = BY_NAME["language model + NT-ASGD"]
    uninterrupted = json.loads((out / slug(family.name) / "train.json").read_text())
    run, steps = out / "killed", uninterrupted["steps"]
    command = ["-m", "seqkit", "fit", "--config", family.recipe, "--run_dir", str(run), *TINY,
               "--trainer.accelerator", "cpu", "--trainer.strategy", "ddp", *family.overrides,
               "--trainer.callbacks+=seqkit.bench.ddp_runs.Probe"]
    kill = [sys.executable, *command, "--trainer.devices", "2", "--checkpoint_every_n_steps", str(steps // 2 + 2),
            "--trainer.callbacks+=tests.hub.callbacks.KillAtStep", "--trainer.callbacks.step", str(steps // 2 + 4)]
    killed = subprocess.run(kill, env=_env(MASTER_PORT=str(free_port())), cwd=out, capture_output=True, text=True,
                            timeout=LAUNCH_TIMEOUT)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    port = str(free_port())
    resume = [([sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--node_rank", str(rank),
                "--nproc_per_node", "1", "--master_addr", "127.0.0.1", "--master_port", port, *command,
                "--trainer.devices", "1", "--trainer.num_nodes", "2", "--ckpt_path", "last"], _env())
              for rank in (0, 1)]
    outputs = launch(resume, out / "launch-resume")
    assert f"Resuming {run} from {run / 'checkpoints' / 'last.ckpt'}" in outputs[0]
    assert json.loads((run / "probe-fit.json").read_text())["digests"] == uninterrupted["digests"]


def test_a_non_finite_loss_on_one_rank_stops_every_rank(out):
    """ddp_notebook (forked processes, as in a notebook): rank 1's loss becomes NaN, every rank stops at that step
    (none is left waiting in the next all-reduce) and the command ends with the one-line error."""
    command = [sys.executable, "-m", "seqkit", "fit", "--config", "sentiment/sst2_tiny", "--run_dir",
               str(out / "nan"), *TINY, "--trainer.accelerator", "cpu", "--trainer.devices", "2",
               "--trainer.strategy", "ddp_notebook", "--data.init_args.splits.max_rows", "200",
               "--trainer.callbacks+=tests.helpers.PoisonWeightsAtStep", "--trainer.callbacks.step", "2",
               "--trainer.callbacks.rank", "1"]
    done = subprocess.run(command, env=_env(MASTER_PORT=str(free_port())), cwd=out, capture_output=True, text=True,
                          timeout=LAUNCH_TIMEOUT)
    assert done.returncode == 2, done.stderr[-3000:]
    assert done.stderr.strip().splitlines()[-1].startswith(
        "seqkit: error: Training loss became non-finite on rank 1 of 2 in batch 2 of epoch 0; lower the learning rate")
    assert "Traceback" not in done.stderr


@pytest.mark.full_data
def test_one_process_evaluates_each_checkpoint_as_the_ranks_did(out):
    """Every family trained above, tested (and predicted from) again on one process: the same test metrics, each
    example counted once, the same per-example files; and one stop-and-resume on one process."""
    trained = [name for names in LAUNCHES.values() for name in names]
    missing = [name for name in trained if not (out / slug(name) / "train.json").is_file()]
    assert not missing, f"run the whole module: the launches of {missing} did not run"
    command = [sys.executable, "-m", "seqkit.bench.ddp_runs", "--mode", "evaluate", "--out", str(out), "--families",
               json.dumps(trained), "--resume_one_process", json.dumps(["trees (Tree-LSTM)"])]
    launch([(command, _env())], out / "launch-evaluate")
    failed = {}
    for name in trained:
        result = _compare(BY_NAME[name], out / slug(name), 2)
        if not result["ok"]:
            failed[name] = result.get("checks") or result.get("errors")
    assert not failed
    one = json.loads((out / slug("trees (Tree-LSTM)") / "evaluate.json").read_text())
    assert one["stopped-1_digests"] == one["full-1_digests"]  # a requested stop (as max_time makes) resumed


def test_families_cover_every_task():
    """Every task class of seqkit.tasks is in the families these tests (and seqkit bench ddp) run."""
    import yaml

    import seqkit.tasks

    covered = {yaml.safe_load((REPO / "recipes" / f"{family.recipe}.yaml").read_text())["model"]["class_path"]
               for family in FAMILIES}
    assert {f"seqkit.tasks.{name}" for name in seqkit.tasks.__all__} <= covered
    assert sorted(name for names in LAUNCHES.values() for name in names) == sorted(BY_NAME)
