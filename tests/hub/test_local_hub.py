"""The Hub paths end to end through the real ``huggingface_hub`` / ``datasets`` clients, against a local Hub.

Publishing pushes through ``HfApi`` (create repo, preupload, commit); ``seqkit.load("owner/name")`` and
``seqkit classify --checkpoint owner/name`` download what was pushed and reproduce the run's predictions;
``seqkit data pull`` writes the local layout; wrong ids, revisions, configs, splits and columns fail in one line; a
Hub that accepts connections and never answers fails within its timeout instead of hanging.
"""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from tests.fake_hub import TOKEN, FakeHub
from tests.helpers import REPO, seqkit_command, subprocess_env
from tests.hub_repos import GLUE_REVISION, build

pytestmark = pytest.mark.slow
TEXTS = ["a gorgeous , witty , seductive movie .", "a tedious , joyless mess ."]


@pytest.fixture(scope="module")
def hub(data_root):
    with FakeHub() as server:
        server.facts = build(server, data_root)
        yield server


def run(args: list[str], home: Path, hub_url: str | None, timeout: int = 300, **env: str):
    """seqkit in a subprocess with its own HuggingFace cache, no local data folder and the Hub at ``hub_url``."""
    environment = subprocess_env(HF_HOME=str(home / "hf"), HF_DATASETS_CACHE=str(home / "hf" / "datasets"),
                                 SEQKIT_CACHE_DIR=str(home / "seqkit-cache"), HF_HUB_DISABLE_TELEMETRY="1",
                                 OMP_NUM_THREADS="1")
    environment.pop("SEQKIT_DATA_DIR", None)
    environment.pop("HF_TOKEN", None)
    environment.update(env)
    if hub_url:
        environment["HF_ENDPOINT"] = hub_url
    return subprocess.run([*seqkit_command(), *args], capture_output=True, text=True, env=environment, cwd=REPO,
                          timeout=timeout)


def one_line_error(done: subprocess.CompletedProcess) -> str:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if line.startswith("seqkit: error:")]
    assert len(lines) == 1, done.stderr[-2000:]
    return lines[0]


def test_publish_pushes_through_hfapi_and_the_download_reproduces_the_run(classifier_run, hub, tmp_path):
    pushed = run(["publish", str(classifier_run), "--repo_id", "tester/sst2-tiny"], tmp_path, hub.url,
                 HF_TOKEN=TOKEN)
    assert pushed.returncode == 0, pushed.stderr[-3000:]
    assert TOKEN not in pushed.stdout + pushed.stderr
    repo = hub.repos[("model", "tester/sst2-tiny")].refs["main"]
    assert {"model.safetensors", "config.json", "README.md"} <= set(repo.files)
    assert any(line.startswith("POST /api/models/tester/sst2-tiny/commit/main") for line in hub.requests)

    local = run(["classify", "--checkpoint", str(classifier_run), *TEXTS], tmp_path, None)
    remote = run(["classify", "--checkpoint", "tester/sst2-tiny", *TEXTS], tmp_path, hub.url)
    assert local.returncode == 0 and remote.returncode == 0, local.stderr[-2000:] + remote.stderr[-2000:]
    assert remote.stdout == local.stdout  # labels and probabilities, to the printed digit
    assert any("/tester/sst2-tiny/resolve/" in line and "model.safetensors" in line for line in hub.requests)

    script = (f"import json, seqkit; texts = {TEXTS!r}; "
              f"print(json.dumps([seqkit.load('tester/sst2-tiny').classify(texts), "
              f"seqkit.load({str(classifier_run)!r}).classify(texts)]))")
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=300,
                            env=subprocess_env(HF_HOME=str(tmp_path / "hf"), HF_ENDPOINT=hub.url,
                                               HF_HUB_OFFLINE="1"))  # the download above is in the cache
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    downloaded, from_run = json.loads(loaded.stdout.strip().splitlines()[-1])
    assert downloaded == from_run  # labels and probabilities, exactly


def test_data_pull_writes_the_layout_that_the_recipe_then_reads_offline(hub, tmp_path):
    out = tmp_path / "data"
    pulled = run(["data", "pull", "--recipe", "recipes/sentiment/sst2.yaml", "--out", str(out)], tmp_path, hub.url)
    assert pulled.returncode == 0, pulled.stderr[-3000:]
    glue = hub.repos[("dataset", "nyu-mll/glue")].refs["main"].files
    for split in ("train", "validation"):  # GLUE's phrases, without the space each one ends with
        rows = pq.read_table(io.BytesIO(glue[f"sst2/{split}-00000-of-00001.parquet"])).to_pylist()
        written = pq.read_table(out / "sst2" / f"{split}.parquet").to_pylist()
        assert [(r["text"], r["label"]) for r in written] == [(r["sentence"][:-1], r["label"]) for r in rows]
    served = hub.repos[("dataset", "SetFit/sst2")].refs["main"].files
    rows = [json.loads(line) for line in served["test.jsonl"].decode().splitlines()]
    written = pq.read_table(out / "sst2" / "test.parquet").to_pylist()
    assert [(r["text"], r["label"]) for r in written] == [(r["text"], r["label"]) for r in rows]
    source = (out / "sst2" / "SOURCE.md").read_text()
    assert f"nyu-mll/glue:sst2@{GLUE_REVISION}" in source and "SetFit/sst2@main test.jsonl" in source

    shown = run(["data", "show", "--recipe", "recipes/sentiment/sst2.yaml"], tmp_path, None,
                SEQKIT_DATA_DIR=str(out), HF_HUB_OFFLINE="1")
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert f"{out}/sst2/train.parquet" in shown.stdout and "label <- label" in shown.stdout


def test_data_pull_keeps_what_is_there_unless_told_to_overwrite(hub, tmp_path):
    out = tmp_path / "data"
    (out / "sst2").mkdir(parents=True)
    kept = b"a local copy that must survive"
    (out / "sst2" / "train.parquet").write_bytes(kept)
    requests = len(hub.requests)
    refused = run(["data", "pull", "--recipe", "recipes/sentiment/sst2.yaml", "--out", str(out)], tmp_path, hub.url)
    assert "train.parquet already exists: pass --overwrite" in one_line_error(refused)
    assert (out / "sst2" / "train.parquet").read_bytes() == kept and not (out / "sst2" / "SOURCE.md").exists()
    assert len(hub.requests) == requests  # refused before anything was downloaded

    onto_file = run(["data", "pull", "--recipe", "recipes/sentiment/sst2.yaml", "--out", str(out / "sst2" /
                     "train.parquet")], tmp_path, hub.url)
    assert "is not a folder" in one_line_error(onto_file) and len(hub.requests) == requests

    replaced = run(["data", "pull", "--recipe", "recipes/sentiment/sst2.yaml", "--out", str(out), "--overwrite",
                    "true"], tmp_path, hub.url)
    assert replaced.returncode == 0, replaced.stderr[-2000:]
    assert pq.read_table(out / "sst2" / "train.parquet").num_rows > 0 and (out / "sst2" / "SOURCE.md").is_file()


def test_data_pull_holds_out_and_samples_as_the_recipe_says(hub, tmp_path):
    out = tmp_path / "data"
    pulled = run(["data", "pull", "--recipe", "recipes/reviews/yelp.yaml", "--out", str(out)], tmp_path, hub.url)
    assert pulled.returncode == 0, pulled.stderr[-3000:]
    train = pq.read_table(out / "yelp_reviews" / "train.parquet").column("text").to_pylist()
    validation = pq.read_table(out / "yelp_reviews" / "validation.parquet").column("text").to_pylist()
    served = pq.read_table(pa_buffer(hub, "Yelp/yelp_review_full", "yelp_review_full/train-00000-of-00001.parquet"))
    assert sorted(train + validation) == sorted(served.column("text").to_pylist())  # a partition of Hub train
    assert len(validation) == 3  # 1% of the 240 served rows, seeded
    again = run(["data", "pull", "--recipe", "recipes/reviews/yelp.yaml", "--out", str(tmp_path / "again")],
                tmp_path, hub.url)
    assert again.returncode == 0
    assert pq.read_table(tmp_path / "again" / "yelp_reviews" / "validation.parquet").column("text").to_pylist() \
        == validation


def pa_buffer(hub: FakeHub, repo: str, path: str):
    import pyarrow as pa

    return pa.BufferReader(hub.repos[("dataset", repo)].refs["main"].files[path])


def test_the_imdb_rating_archive_is_checksummed_and_read(hub, tmp_path):
    recipe = yaml.safe_load((REPO / "recipes" / "reviews" / "imdb_rating.yaml").read_text())
    archive = recipe["data"]["init_args"]["source"]["archive"]
    archive["url"] = hub.facts["archive_url"]
    archive["sha256"] = "0" * 64
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(recipe))
    refused = run(["data", "pull", "--recipe", str(bad), "--out", str(tmp_path / "data")], tmp_path, hub.url)
    assert "not the expected" in one_line_error(refused)
    assert not list((tmp_path / "seqkit-cache").rglob("*.part")) and not (tmp_path / "data" / "imdb").exists()

    archive["sha256"] = hub.facts["archive_sha256"]
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(recipe))
    pulled = run(["data", "pull", "--recipe", str(good), "--out", str(tmp_path / "data")], tmp_path, hub.url)
    assert pulled.returncode == 0, pulled.stderr[-2000:]
    train = pq.read_table(tmp_path / "data" / "imdb" / "train.parquet")
    assert set(train.column_names) == {"text", "label", "rating"}
    assert set(train.column("rating").to_pylist()) <= {1, 2, 3, 4, 7, 8, 9, 10}


@pytest.mark.parametrize(("override", "expected"), [
    ({"id": "sst2"}, "is not namespaced"),
    ({"id": "nobody/none"}, "There is no Hub dataset 'nobody/none'"),
    ({"revision": "v9"}, "has no revision 'v9'"),
    ({"config": "en-de"}, "has no config 'en-de'; it has: en-fr"),
    ({"splits": {"validation": "dev"}}, "has no split 'dev'"),
    ({"columns": {"text": "sentence"}}, "has no column 'sentence'; it has: text, label, label_text"),
    ({"files": {"train": "train.jsonl", "validation": "dev.jsonl", "test": "test.jsonl"},
      "sha256": {"train": "0" * 64}}, "SetFit/sst2@main/train.jsonl has SHA-256"),
])
def test_a_wrong_hub_setting_gets_one_line_naming_the_key(hub, tmp_path, override, expected):
    recipe = yaml.safe_load((REPO / "recipes" / "sentiment" / "sst2.yaml").read_text())
    source = recipe["data"]["init_args"]["source"]
    if "config" in override:  # a repo with configs
        source["hub"] = {"id": "sentence-transformers/parallel-sentences-tatoeba", "config": "en-de"}
    else:  # the whole of SetFit/sst2 (jsonl files the datasets library reads as train, validation, test)
        source["hub"] = {"id": "SetFit/sst2", **override}
    source.pop("hub_splits")
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    line = one_line_error(run(["data", "show", "--recipe", str(path)], tmp_path, hub.url))
    assert expected in line
    assert "data.init_args.source.hub" in line


def _silent_server() -> tuple[socket.socket, threading.Event]:
    """Accepts connections and never answers (a broken proxy)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    stop = threading.Event()
    held = []

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    threading.Thread(target=accept, daemon=True).start()
    return server, stop


def test_a_hub_that_never_answers_fails_within_the_timeout(tmp_path):
    server, stop = _silent_server()
    url = f"http://127.0.0.1:{server.getsockname()[1]}"
    try:
        start = time.perf_counter()
        data = run(["data", "show", "--recipe", "recipes/sentiment/sst2.yaml"], tmp_path, url, timeout=120,
                   HF_HUB_ETAG_TIMEOUT="2", HF_HUB_DOWNLOAD_TIMEOUT="2")
        model = run(["classify", "--checkpoint", "owner/name", "text"], tmp_path, url, timeout=120,
                    HF_HUB_ETAG_TIMEOUT="2", HF_HUB_DOWNLOAD_TIMEOUT="2")
        elapsed = time.perf_counter() - start
    finally:
        stop.set()
        server.close()
    assert "no answer within 2 s" in one_line_error(data)
    assert "SetFit/sst2" in one_line_error(data)
    assert "no answer within 2 s" in one_line_error(model) and "owner/name" in one_line_error(model)
    assert elapsed < 100  # two processes, each bounded by its 2-second waits, not minutes of retries


def test_the_hub_is_reached_through_an_http_proxy(hub, tmp_path):
    """Behind a proxy the Hub host is never resolved locally: requests go to the proxy (here, the stand-in)."""
    shown = run(["data", "show", "--recipe", "recipes/sentiment/sst2.yaml"], tmp_path, "http://hub.seqkit.test",
                HTTP_PROXY=hub.url, http_proxy=hub.url, NO_PROXY="", no_proxy="")
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert "SetFit/sst2@main" in shown.stdout


def test_data_pull_writes_under_out_even_when_the_source_is_named_by_a_path(hub, tmp_path):
    recipe = yaml.safe_load((REPO / "recipes" / "sentiment" / "sst2.yaml").read_text())
    elsewhere = tmp_path / "elsewhere" / "sst2"
    recipe["data"]["init_args"]["source"]["name"] = str(elsewhere)  # a folder that does not exist yet
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    pulled = run(["data", "pull", "--recipe", str(path), "--out", str(tmp_path / "out")], tmp_path, hub.url)
    assert pulled.returncode == 0, pulled.stderr[-2000:]
    assert (tmp_path / "out" / "sst2" / "train.parquet").is_file() and not elsewhere.exists()
