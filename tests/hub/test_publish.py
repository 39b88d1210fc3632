"""seqkit publish: the dry-run folder and its model card, CLI commands on published folders, fast offline failure."""

from __future__ import annotations

import csv
import json

import pytest
import yaml
from huggingface_hub import ModelCard, constants

from seqkit.cli import main

SECRET = "hf_NOT_A_REAL_TOKEN_0123456789"
FILES = {"README.md", "config.json", "config.yaml", "model.safetensors", "tokenizer.json"}


@pytest.fixture(scope="module")
def published(classifier_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("published") / "tiny-sst2"
    assert main(["publish", str(classifier_run), "--repo_id", "someone/tiny-sst2", "--dry_run", "--out", str(out)]) == 0
    return out


def test_dry_run_writes_exactly_the_published_files(published, capsys):
    assert {p.name for p in published.iterdir()} == FILES
    config = json.loads((published / "config.json").read_text())
    assert config["library_name"] == "seqkit" and config["task"] == "seqkit.tasks.classification.SequenceClassifier"
    assert set(config["files"]) == FILES - {"README.md", "config.json"}
    assert config["tokenizers"]["tokenizer"]["settings"]["kind"] == "word"
    assert config["hparams"]["num_classes"] == 2 and config["data"]["init_args"]["max_length"] == 48
    training = yaml.safe_load((published / "config.yaml").read_text())
    assert training["model"]["class_path"] == "seqkit.tasks.SequenceClassifier" and training["run_dir"] is None


def test_dry_run_lists_the_files_and_uploads_nothing(classifier_run, tmp_path, capsys):
    out = tmp_path / "folder"
    assert main(["publish", str(classifier_run), "--repo_id", "someone/x", "--dry_run", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert all(name in printed for name in FILES) and "nothing was uploaded" in printed


def _metrics(run) -> list[dict[str, str]]:
    with (run / "metrics.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_model_card_carries_the_run_results_in_model_index(published, classifier_run):
    card = ModelCard.load(published / "README.md")
    data = card.data
    assert data.library_name == "seqkit" and data.pipeline_tag == "text-classification"
    assert data.datasets == ["sst2"] and {"seqkit", "rnn"} <= set(data.tags)
    assert data.model_name == "tiny-sst2"
    results = {(r.dataset_split, r.metric_type, r.metric_name): r.metric_value for r in data.eval_results}
    rows = _metrics(classifier_run)
    test_acc = next(float(r["test_acc"]) for r in rows if r.get("test_acc"))
    best_val_acc = max(float(r["val_acc"]) for r in rows if r.get("val_acc"))
    assert results[("test", "accuracy", "Accuracy, test")] == round(test_acc, 4)
    assert results[("validation", "accuracy", "Accuracy, validation")] == round(best_val_acc, 4)
    assert "model-index" in (published / "README.md").read_text()
    assert 'seqkit.load("someone/tiny-sst2")' in card.text


def test_cli_commands_take_a_published_folder(published, classifier_run, capsys):
    texts = ["a gripping , funny film", "dull and far too long"]
    assert main(["classify", *texts, "--checkpoint", str(classifier_run), "--no_text"]) == 0
    from_run = capsys.readouterr().out
    assert main(["classify", *texts, "--checkpoint", str(published), "--no_text"]) == 0
    assert capsys.readouterr().out == from_run


@pytest.fixture()
def no_login(monkeypatch, tmp_path):
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_OIDC_RESOURCE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)


def test_publish_without_a_token_fails_at_once(no_login, tmp_path, capsys):
    # The run directory does not even exist: the token is checked before anything is loaded.
    assert main(["publish", str(tmp_path / "missing-run"), "--repo_id", "someone/x"]) == 2
    err = capsys.readouterr().err
    assert "No HuggingFace token" in err and len(err.strip().splitlines()) == 1


def test_publish_offline_fails_at_once_and_never_prints_the_token(no_login, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("HF_TOKEN", SECRET)
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    assert main(["publish", str(tmp_path / "missing-run"), "--repo_id", "someone/x"]) == 2
    out = capsys.readouterr()
    assert "Cannot reach the HuggingFace Hub at http://127.0.0.1:9" in out.err
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert main(["publish", str(tmp_path / "missing-run"), "--repo_id", "someone/x"]) == 2
    out2 = capsys.readouterr()
    assert "HF_HUB_OFFLINE is set" in out2.err
    assert SECRET not in out.out + out.err + out2.out + out2.err


def test_loading_a_hub_id_offline_fails_fast_with_the_local_alternative(no_login, monkeypatch):
    from seqkit.errors import CheckpointError
    from seqkit.inference import load

    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")
    with pytest.raises(CheckpointError, match="Cannot reach the HuggingFace Hub .* local copy"):
        load("someone/not-here")


def test_upload_creates_the_repo_and_branch_and_uploads_the_folder(classifier_run, tmp_path, monkeypatch, capsys):
    """The Hub calls, recorded by a stand-in HfApi (this machine has no Hub)."""
    import huggingface_hub

    from seqkit.commands import publish

    calls = []

    class FakeApi:
        def __init__(self, token):
            calls.append(("token", token == SECRET))

        def create_repo(self, repo_id, **kwargs):
            calls.append(("create_repo", repo_id, kwargs["private"]))
            return f"https://huggingface.co/{repo_id}"

        def create_branch(self, repo_id, branch, exist_ok):
            calls.append(("create_branch", repo_id, branch))

        def upload_folder(self, repo_id, folder_path, revision, commit_message):
            calls.append(("upload_folder", repo_id, sorted(p.name for p in folder_path.iterdir()), revision))
            return type("Commit", (), {"commit_url": f"https://huggingface.co/{repo_id}/commit/abc"})()

    monkeypatch.setattr(publish, "hub_token", lambda: SECRET)
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    out = tmp_path / "folder"
    args = [str(classifier_run), "--repo_id", "someone/tiny", "--private", "--revision", "v1", "--out", str(out)]
    assert main(["publish", *args]) == 0
    assert calls == [("token", True), ("create_repo", "someone/tiny", True), ("create_branch", "someone/tiny", "v1"),
                     ("upload_folder", "someone/tiny", sorted(FILES), "v1")]
    printed = capsys.readouterr().out
    assert "commit/abc" in printed and SECRET not in printed
