"""Model cards: the Hub's YAML header (library, tags, datasets, ``model-index`` results) and a short usage page."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from seqkit.pretrained.tasks import TaskSupport

#: seqkit metric suffix -> (Hub metric id, readable name).
METRIC_TYPES = {
    "acc": ("accuracy", "Accuracy"),
    "f1": ("f1", "Macro F1"),
    "loss": ("loss", "Loss (nats)"),
    "ppl": ("perplexity", "Perplexity (per token)"),
    "word_ppl": ("perplexity", "Perplexity (per word)"),
    "bleu": ("bleu", "BLEU"),
    "chrf": ("chrf", "chrF"),
    "mse": ("mse", "MSE (standardised)"),
    "mae": ("mae", "MAE (standardised)"),
    "wer": ("wer", "Word error rate (each digit a word)"),
    "sentence_acc": ("accuracy", "Sentence accuracy (every word right)"),
}
SPLITS = {"val": "validation", "test": "test"}


def _floats(row: dict[str, str]) -> dict[str, float]:
    values = {}
    for key, text in row.items():
        try:
            values[key] = float(text)
        except (TypeError, ValueError):
            continue
    return values


def run_results(metrics_csv: str | Path, monitor: tuple[str, str] | None = None) -> dict[str, float]:
    """Results of a run from its ``metrics.csv``: every ``test_*`` metric (last value) and the ``val_*`` metrics of
    the best validation epoch by ``monitor`` (``(name, "min"|"max")``; the last epoch without one)."""
    path = Path(metrics_csv)
    if not path.is_file():
        return {}
    with path.open(newline="") as handle:
        rows = [_floats(row) for row in csv.DictReader(handle)]
    results: dict[str, float] = {}
    for row in rows:
        results.update({k: v for k, v in row.items() if k.startswith("test_") and math.isfinite(v)})
    val_rows = [row for row in rows if any(k.startswith("val_") for k in row)]
    if monitor and monitor[0].startswith("val_"):
        name, mode = monitor
        candidates = [row for row in val_rows if name in row and math.isfinite(row[name])]
        if candidates:
            pick = min if mode == "min" else max
            val_rows = [pick(candidates, key=lambda row: row[name])]
    if val_rows:
        results.update({k: v for k, v in val_rows[-1].items() if k.startswith("val_") and math.isfinite(v)})
    return dict(sorted(results.items()))


def eval_results(results: dict[str, float], task_type: str, dataset: str) -> list[EvalResult]:
    """``model-index`` entries for ``val_*``/``test_*`` results whose metric seqkit knows."""
    entries = []
    for key, value in results.items():
        prefix, _, metric = key.partition("_")
        if prefix not in SPLITS or metric not in METRIC_TYPES:
            continue
        metric_type, readable = METRIC_TYPES[metric]
        entries.append(EvalResult(
            task_type=task_type, dataset_type=dataset, dataset_name=dataset, dataset_split=SPLITS[prefix],
            metric_type=metric_type, metric_value=round(float(value), 4),
            metric_name=f"{readable}, {SPLITS[prefix]}",
        ))
    return entries


def build_card(*, name: str, task: str, support: TaskSupport, dataset: str | None, results: dict[str, float],
               hparams: dict[str, Any], repo_id: str | None = None) -> ModelCard:
    """The model card: YAML header parsed by the Hub (library, tags, datasets, ``model-index``), then a usage page.

    Args:
        name: Model name (the Hub repository's name when ``repo_id`` is given).
        task: The task's class path.
        support: The task's Hub metadata (pipeline tag, tags).
        dataset: Name of the training dataset, if known.
        results: Metrics such as ``{"test_acc": 0.81}``.
        hparams: The model's settings, listed in a table.
        repo_id: Hub repository ``owner/name`` the card is for.
    """
    name = repo_id.split("/")[-1] if repo_id else name
    task_type = support.task_type or "other"
    entries = eval_results(results, task_type, dataset) if dataset else []
    data = ModelCardData(library_name="seqkit", tags=["seqkit", "rnn", *support.tags],
                         datasets=[dataset] if dataset else None, pipeline_tag=support.pipeline_tag, model_name=name,
                         eval_results=entries or None)
    lines = [
        f"# {name}",
        "",
        f"A `{task}` model trained with [seqkit](https://github.com/seqkit/seqkit)"
        + (f" on `{dataset}`." if dataset else "."),
        "",
        "## Usage",
        "",
        "```python",
        "import seqkit",
        "",
        f'model = seqkit.load("{repo_id or "path/to/this/folder"}")',
    ]
    lines += {
        "text-generation": ['print(model.generate("the meaning of", max_new_tokens=20))'],
        "text-classification": ['print(model.classify(["a gripping, funny film"]))'],
        "translation": ['print(model.translate(["a man is sleeping ."]))'],
        "time-series-forecasting": ["print(model.forecast(frame))  # a pandas DataFrame of recent rows"],
    }.get(support.pipeline_tag or "", ["print(model.module)"])
    lines += ["```", ""]
    if results:
        lines += ["## Results", "", "| metric | value |", "|---|---|"]
        lines += [f"| {key} | {value:.4f} |" for key, value in results.items()]
        lines.append("")
    if hparams:
        lines += ["## Model settings", "", "| setting | value |", "|---|---|"]
        lines += [f"| {key} | `{value}` |" for key, value in sorted(hparams.items()) if key != "label_names"]
        lines.append("")
    lines += [
        "## Files",
        "",
        "`model.safetensors` (weights), `config.json` (task, settings, file hashes), the tokenizer file(s), "
        "`config.yaml` (the training configuration: `seqkit fit --config config.yaml` trains it again).",
        "",
    ]
    return ModelCard(f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(lines))
