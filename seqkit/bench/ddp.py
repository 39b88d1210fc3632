"""``seqkit bench ddp``: is data-parallel training correct for every task family? Measured, not assumed."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jsonargparse.typing import PositiveInt

from seqkit.bench.ddp_runs import FAMILIES, slug
from seqkit.errors import ConfigError

#: The metric shown for a family in the table: the first of these its test logs.
HEADLINE = ("test_acc", "test_wer", "test_chrf", "test_bleu", "test_ppl", "test_bpc", "test_mse", "test_loss")


def bench(*, processes: PositiveInt = 2, families: list[str] | None = None, out: str | None = None,
          markdown: str | None = None, json_file: str | None = None, accelerator: str = "cpu",
          timeout: PositiveInt = 3600) -> int:
    """Every task family, trained and evaluated on several processes and on one, through the seqkit CLI: whether
    the processes' weights stay identical, whether a run stopped in the middle of an epoch and resumed ends with
    the weights of an uninterrupted one, whether 1 and N processes give the same test metrics on one checkpoint
    and count each test example exactly once (in the metric and in the files: confusion matrix, hypotheses,
    predictions). Each family is a tiny version of one of its recipes (see ``seqkit.bench.ddp_runs.FAMILIES``); it
    needs the recipes' data. On CPU the processes talk through gloo; exit status 1 if any check fails.

    Args:
        processes: processes of the distributed runs (torchrun --standalone on this machine)
        families: names of the families to run (default: all)
        out: folder for the runs (default: a new temporary folder, removed afterwards)
        markdown: also write the table to this file
        json_file: also write every measurement to this JSON file
        accelerator: cpu, or gpu (then processes <= visible GPUs)
        timeout: seconds each of the two launches may take before it is stopped
    """
    names = families or [family.name for family in FAMILIES]
    unknown = sorted(set(names) - {family.name for family in FAMILIES})
    if unknown:
        raise ConfigError(f"Unknown families {unknown}; they are: {[family.name for family in FAMILIES]}.")
    chosen = [family for family in FAMILIES if family.name in names]
    with tempfile.TemporaryDirectory(prefix="seqkit-ddp-") as scratch:
        folder = Path(out) if out else Path(scratch)
        launches = {
            "train": ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(processes)],
            "evaluate": [],
        }
        seconds = {}
        for mode, launcher in launches.items():
            started = time.perf_counter()
            command = [sys.executable, *launcher, "-m", "seqkit.bench.ddp_runs", "--mode", mode, "--out",
                       str(folder), "--families", json.dumps(names), "--accelerator", accelerator]
            command += ["--devices", str(processes)] if mode == "train" else []
            log = folder / f"{mode}.log"
            print(f"seqkit bench ddp: {mode} on {processes if mode == 'train' else 1} process(es), "
                  f"{len(chosen)} families; output in {log}", flush=True)
            folder.mkdir(parents=True, exist_ok=True)
            with log.open("w") as handle:
                try:
                    subprocess.run(command, timeout=timeout, check=False, stdout=handle, stderr=subprocess.STDOUT,
                                   env={**os.environ, "OMP_NUM_THREADS": "1"})
                except subprocess.TimeoutExpired:
                    print(f"  stopped after {timeout} s", flush=True)
            seconds[mode] = round(time.perf_counter() - started, 1)
        results = {family.name: _compare(family, folder / slug(family.name), processes) for family in chosen}
        if not all(result["ok"] for result in results.values()):
            for mode in launches:
                print(f"\n--- the end of {mode}.log\n" + (folder / f"{mode}.log").read_text(errors="replace")[-4000:])
    table = markdown_table(results, processes)
    print(table)
    print(f"\nWall time: {seconds['train']:.0f} s for the {processes}-process runs, {seconds['evaluate']:.0f} s for "
          "the 1-process evaluations.")
    if markdown:
        Path(markdown).write_text(table + "\n", encoding="utf-8")
    if json_file:
        Path(json_file).write_text(json.dumps({"processes": processes, "accelerator": accelerator,
                                               "seconds": seconds, "families": results}, indent=1) + "\n")
    return 0 if all(result["ok"] for result in results.values()) else 1


def _read(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {"error": f"no {path.name}: the launch did not finish"}


def _compare(family, folder: Path, processes: int) -> dict:
    """One family's measurements and the verdict of each check."""
    many, one = _read(folder / "train.json"), _read(folder / "evaluate.json")
    result: dict = {"recipe": family.recipe, "many": many, "one": one}
    errors = [f"{mode}: {data['error']}" for mode, data in (("train", many), ("evaluate", one)) if "error" in data]
    if errors:
        result.update(ok=False, errors=errors)
        return result
    metrics_many, metrics_one = many["test"], one["test"]
    differences = {key: abs(metrics_many[key] - metrics_one[key]) / max(abs(metrics_one[key]), 1e-12)
                   for key in metrics_one.keys() & metrics_many.keys()}
    result["headline"] = next((key for key in HEADLINE if key in metrics_one), None)
    result["largest_relative_difference"] = max(differences.values(), default=math.nan)
    checks = {
        "metrics_equal": bool(differences) and metrics_one.keys() == metrics_many.keys()
        and result["largest_relative_difference"] <= 1e-5,
        "rows_once": all(sum(run["test_probe"]["evaluated"]) == run["test_probe"]["split"] for run in (many, one)),
        "files_equal": _files_equal(many, one),
        "weights_equal": len(set(many["digests"])) == 1 and len(many["digests"]) == processes,
    }
    folders = many["run_folders"]
    checks["one_run_folder"] = (folders["configs"], folders["metrics"], folders["placeholders"]) == (
        ["config.yaml"], ["metrics.csv"], []) and set(folders["checkpoints"]) <= {"best.ckpt", "last.ckpt"}
    if "stopped_digests" in many:
        checks["resume_equal"] = many["stopped_digests"] == many["digests"]
    if "stopped-1_digests" in one:
        checks["resume_equal_one_process"] = one["stopped-1_digests"] == one["full-1_digests"]
    if family.predict:
        checks["predictions_once"] = all(
            sum(run["predict_probe"]["evaluated"]) == run["predict_probe"]["split"] for run in (many, one))
        checks["predictions_equal"] = _same_numbers(many["predicted"], one["predicted"])
    result.update(checks=checks, ok=all(checks.values()))
    return result


def _files_equal(many: dict, one: dict) -> bool:
    """The per-example files of the N-process and the 1-process test hold the split's rows, with equal content."""
    split = one["test_probe"]["split"]
    files_many, files_one = many.get("files", {}), one.get("files", {})
    counts_right = all(rows == split for rows, *_ in files_one.values())
    return files_many.keys() == files_one.keys() and counts_right and files_many == files_one


def _same_numbers(many: dict, one: dict) -> bool:
    """Prediction files with the same rows and the same numbers (to 1e-5: a batch of another size may change the
    last bits of a float)."""
    if many.keys() != one.keys():
        return False
    for name, (rows, _, numbers) in one.items():
        other_rows, _, other = many[name]
        if rows != other_rows or len(numbers) != len(other):
            return False
        if any(not math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-5) for a, b in zip(numbers, other, strict=True)):
            return False
    return True


def _yes(value: bool | None) -> str:
    return "n/a" if value is None else ("yes" if value else "**NO**")


def markdown_table(results: dict[str, dict], processes: int) -> str:
    """The results as a markdown table, one row per family."""
    lines = [
        f"| family (recipe) | test metric, 1 process | {processes} processes | test rows counted "
        f"(1 / {processes} processes / split) | per-example files | rank weights equal | resume equal |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, result in results.items():
        if "checks" not in result:
            lines.append(f"| {name} (`{result['recipe']}`) | failed: {'; '.join(result['errors'])[:200]} "
                         "| | | | | |")
            continue
        many, one, checks, key = result["many"], result["one"], result["checks"], result["headline"]
        metric = key.removeprefix("test_") if key else "-"
        counted = (f"{sum(one['test_probe']['evaluated'])} / {sum(many['test_probe']['evaluated'])} / "
                   f"{one['test_probe']['split']}")
        if "predicted" in many:
            counted += f"; predict {sum(many['predict_probe']['evaluated'])}"
        files = ", ".join(f"{file} {rows}" for file, (rows, *_) in many.get("files", {}).items())
        files = (files or "-") + ("" if not many.get("files") else f" (equal: {_yes(checks['files_equal'])})")
        if "predicted" in many:
            files += "; " + ", ".join(f"{file} {rows}" for file, (rows, *_) in many["predicted"].items())
            files += f" (equal: {_yes(checks['predictions_equal'])})"
        resume = checks.get("resume_equal")
        resume_text = f"{_yes(resume)} (stopped at step {many['stopped_at'][0]} of {many['stopped_at'][1]})" \
            if resume is not None else "n/a"
        metric_one = f"{metric} {one['test'][key]:.4f}" if key else "-"
        metric_many = f"{metric} {many['test'][key]:.4f}" if key else "-"
        equal = f" (all equal: {_yes(checks['metrics_equal'])})"
        lines.append(f"| {name} (`{result['recipe']}`) | {metric_one} | {metric_many}{equal} | {counted} "
                     f"({_yes(checks['rows_once'])}) | {files} | {_yes(checks['weights_equal'])} | {resume_text} |"
                     + ("" if checks["one_run_folder"] else " run folder: **NO** |"))
    return "\n".join(lines)
