"""Published model folders and Hub repos built to attack: files outside the folder, sizes far beyond the weights,
extra files in a repository, broken config.json values. ``seqkit.load`` and ``seqkit classify --checkpoint`` refuse
or ignore each one in one line, without reading anything outside the folder, downloading anything the config does
not list, or taking memory the weights do not justify (the loads run in a subprocess limited to 2 GB).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from seqkit.data.tokenizers import TokenizerConfig, train_tokenizer
from seqkit.errors import CheckpointError
from seqkit.inference import load
from seqkit.pretrained import SeqkitModel
from seqkit.tasks import SequenceClassifier
from tests.fake_hub import FakeHub
from tests.helpers import REPO, seqkit_command, subprocess_env

TEXTS = ["a good film", "a bad film", "the cat sat on the mat", "what a gripping story"]
#: Address space of the subprocess that loads an attack: a model that allocates what a config asks fails here.
MEMORY_LIMIT = 2 << 30


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer(TokenizerConfig(kind="word", vocab_size=100), [TEXTS])


@pytest.fixture(scope="module")
def good(tokenizer, tmp_path_factory) -> Path:
    """A small published classifier folder."""
    torch.manual_seed(0)
    module = SequenceClassifier(tokenizer.vocab_size, 2, network={"encoder": {"embedding_dim": 8, "hidden_size": 8}},
                                label_names=["neg", "pos"])
    folder = tmp_path_factory.mktemp("published") / "good"
    SeqkitModel(module, {"tokenizer": tokenizer}, {"data": {"init_args": {"max_length": 8}}}).save_pretrained(folder)
    return folder


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def hostile(good: Path, where: Path, change: Callable[[dict, Path], object]) -> Path:
    """A copy of ``good`` at ``where`` whose config.json ``change(config, folder)`` edits (it may add files)."""
    shutil.copytree(good, where)
    config = json.loads((where / "config.json").read_text())
    replaced = change(config, where)
    text = replaced if isinstance(replaced, str) else json.dumps(config)
    (where / "config.json").write_text(text)
    return where


def list_file(config: dict, folder: Path, name: str, data: bytes) -> None:
    """Write ``name`` into ``folder`` and list it with its true hash: only the name itself can be wrong."""
    (folder / name).write_bytes(data)
    config["files"][name] = sha(data)


# ---------------------------------------------------------------------------------------------- files outside
def test_a_tokenizer_path_outside_the_folder_is_refused(good, tmp_path):
    outside = tmp_path / "elsewhere" / "tokenizer.json"
    outside.parent.mkdir()
    outside.write_bytes((good / "tokenizer.json").read_bytes())

    def absolute(config, folder):
        config["tokenizers"]["tokenizer"]["file"] = str(outside)
        config["files"][str(outside)] = sha(outside.read_bytes())

    def dotdot(config, folder):
        config["tokenizers"]["tokenizer"]["file"] = "../elsewhere/tokenizer.json"
        config["files"]["../elsewhere/tokenizer.json"] = sha(outside.read_bytes())

    def system_file(config, folder):
        config["tokenizers"]["tokenizer"]["file"] = "/etc/passwd"

    for name, change in (("absolute", absolute), ("dotdot", dotdot), ("system", system_file)):
        with pytest.raises(CheckpointError, match="not a (plain )?file"):
            load(hostile(good, tmp_path / name, change))


def test_an_unlisted_tokenizer_file_is_refused(good, tmp_path):
    def unlisted(config, folder):
        (folder / "other.json").write_bytes((folder / "tokenizer.json").read_bytes())
        config["tokenizers"]["tokenizer"]["file"] = "other.json"

    with pytest.raises(CheckpointError, match="does not list it with its SHA-256"):
        load(hostile(good, tmp_path / "unlisted", unlisted))


def test_an_unlisted_training_config_is_never_read(good, tmp_path):
    def planted(config, folder):
        (folder / "config.yaml").write_text("a: &a [1]\nb: [*a, *a]\n")  # not listed: must not be read at all
        config["files"].pop("config.yaml", None)

    model = load(hostile(good, tmp_path / "planted", planted)).model
    assert model.training_config == {}


def test_a_link_out_of_the_folder_is_refused(good, tmp_path):
    secret = tmp_path / "secret.json"
    secret.write_bytes((good / "tokenizer.json").read_bytes())

    def link(config, folder):
        (folder / "tokenizer.json").unlink()
        (folder / "tokenizer.json").symlink_to(secret)

    with pytest.raises(CheckpointError, match="not a file inside"):
        load(hostile(good, tmp_path / "link", link))


def test_pretrained_lm_is_not_published_and_never_opened_at_load(good, tokenizer, tmp_path):
    module = SequenceClassifier(tokenizer.vocab_size, 2, network={"encoder": {"embedding_dim": 8, "hidden_size": 8}})
    module.hparams["pretrained_lm"] = str(tmp_path / "lm-run")
    SeqkitModel(module, {"tokenizer": tokenizer}).save_pretrained(tmp_path / "published")
    assert "pretrained_lm" not in json.loads((tmp_path / "published" / "config.json").read_text())["hparams"]

    def points_away(config, folder):  # a hand-made config that names a language model run anyway
        config["hparams"]["pretrained_lm"] = str(tmp_path / "no-such-lm-run")
        config["hparams"]["lm_architecture"] = None

    predictor = load(hostile(good, tmp_path / "points-away", points_away))
    assert predictor.classify("a good film")["label_name"] in ("neg", "pos")


# ---------------------------------------------------------------------------------------------- sizes
def _set_encoder(key: str, value: object) -> Callable[[dict, Path], None]:
    def change(config, folder):
        config["hparams"]["network"]["encoder"][key] = value
    return change


def _set_hparam(key: str, value: object) -> Callable[[dict, Path], None]:
    def change(config, folder):
        config["hparams"][key] = value
    return change


@pytest.mark.parametrize(("change", "words"), [
    (_set_encoder("hidden_size", 60000), "shape"),
    (_set_hparam("vocab_size", 2_000_000_000), "shape"),
    (_set_encoder("num_layers", 1_000_000), "at most 1024"),
    (_set_encoder("num_layers", 3), "lack"),
])
def test_sizes_beyond_the_weights_are_refused_before_building(good, tmp_path, change, words):
    with pytest.raises(CheckpointError, match=words):
        load(hostile(good, tmp_path / "sizes", change))


def test_the_parameter_limit_is_an_argument_and_an_environment_setting(good, monkeypatch):
    with pytest.raises(CheckpointError, match="above the limit of 10;.*max_parameters"):
        load(good, max_parameters=10)
    monkeypatch.setenv("SEQKIT_MAX_PARAMETERS", "10")
    with pytest.raises(CheckpointError, match="above the limit of 10"):
        load(good)
    assert load(good, max_parameters=10**6).classify("a good film")


def test_a_tokenizer_larger_than_the_embedding_is_refused(good, tmp_path):
    bigger = train_tokenizer(TokenizerConfig(kind="word", vocab_size=400), [[f"word{i}" for i in range(300)]])

    def swap(config, folder):
        list_file(config, folder, "tokenizer.json", bigger.serialized())

    with pytest.raises(CheckpointError, match="embedding has"):
        load(hostile(good, tmp_path / "bigger", swap))


# ---------------------------------------------------------------------------------------------- config.json schema
def _deep(depth: int) -> str:
    return '{"library_name": "seqkit", "task": "x", "files": {}, "hparams": {"x": ' + "[" * depth + "]" * depth + "}}"


@pytest.mark.parametrize(("change", "words"), [
    (_set_encoder("extra", 1), "not a EncoderConfig setting"),
    (_set_encoder("hidden_size", "abc"), "hidden_size = 'abc' is a string, not an integer"),
    (_set_encoder("hidden_size", -5), "hidden_size = -5 must be at least 1"),
    (_set_hparam("num_classes", -1), "num_classes = -1 must be at least 1"),
    (lambda config, folder: config["hparams"]["network"].update(pooling="nonsense"), "must be one of"),
    (_set_hparam("unknown_setting", 1), "does not take"),
    (lambda config, folder: config.update(files=["model.safetensors"]), "'files' must be an object"),
    (lambda config, folder: config.update(hparams="big"), "'hparams' must be an object"),
    (lambda config, folder: config.update(tokenizers={"tokenizer": "tokenizer.json"}), "must be an object"),
    (lambda config, folder: config.update(format_version="2"), "'format_version' must be an integer"),
    (lambda config, folder: config.update(format_version=2), "newer seqkit"),
    (lambda config, folder: config.update(surprise={"a": 1}), "unknown key 'surprise'"),
    (lambda config, folder: json.dumps([config]), "not a JSON object"),
    (lambda config, folder: _deep(100_000), "nested too deeply"),
    (lambda config, folder: _deep(20), "nested more than"),
    (lambda config, folder: config["files"].update({"model.safetensors": "abc"}), "SHA-256 \\(64 hex"),
])
def test_every_config_json_problem_is_one_line(good, tmp_path, change, words):
    with pytest.raises(CheckpointError, match=words) as caught:
        load(hostile(good, tmp_path / "bad", change))
    assert "\n" not in str(caught.value)


# ---------------------------------------------------------------------------------------------- under a memory limit
LOADER = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
import seqkit
from seqkit.errors import SeqkitError
for target in sys.argv[1:]:
    try:
        seqkit.load(target).classify("a good film")
        print(json.dumps([target, "loaded"]))
    except SeqkitError as error:
        print(json.dumps([target, "refused: " + str(error)]))
"""


def load_under_limit(targets: list[str], **env: str) -> dict[str, str]:
    """``seqkit.load`` of each target in one subprocess whose address space is limited to 2 GB."""
    done = subprocess.run([sys.executable, "-c", LOADER.format(limit=MEMORY_LIMIT), *targets], capture_output=True,
                          text=True, env=subprocess_env(OMP_NUM_THREADS="1", **env), cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(line) for line in done.stdout.splitlines())


def _attacks(good: Path, tmp_path: Path) -> dict[str, Path]:
    def outside(config, folder):
        config["tokenizers"]["tokenizer"]["file"] = "/etc/passwd"

    return {
        "outside": hostile(good, tmp_path / "outside", outside),
        "hidden": hostile(good, tmp_path / "hidden", _set_encoder("hidden_size", 60000)),
        "vocab": hostile(good, tmp_path / "vocab", _set_hparam("vocab_size", 2_000_000_000)),
        "classes": hostile(good, tmp_path / "classes", _set_hparam("num_classes", 400_000_000)),
    }


@pytest.mark.slow
def test_hostile_folders_are_refused_within_2_gb(good, tmp_path):
    attacks = _attacks(good, tmp_path)
    results = load_under_limit([str(good), *map(str, attacks.values())])
    assert results[str(good)] == "loaded"
    for name, folder in attacks.items():
        assert results[str(folder)].startswith("refused: "), (name, results[str(folder)])
        assert "memory" not in results[str(folder)].replace("before any memory", ""), results[str(folder)]


def _limit_memory() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def classify_under_limit(checkpoint: str, **env: str) -> subprocess.CompletedProcess:
    """``seqkit classify --checkpoint CHECKPOINT`` in a subprocess limited to 2 GB."""
    return subprocess.run([*seqkit_command(), "classify", "--checkpoint", checkpoint, "a good film"],
                          capture_output=True, text=True, env=subprocess_env(OMP_NUM_THREADS="1", **env), cwd=REPO,
                          timeout=300, preexec_fn=_limit_memory)


def assert_one_line(done: subprocess.CompletedProcess) -> None:
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith("seqkit: error: "), done.stderr[-2000:]


@pytest.mark.slow
def test_classify_refuses_hostile_folders_within_2_gb(good, tmp_path):
    for folder in _attacks(good, tmp_path).values():
        assert_one_line(classify_under_limit(str(folder)))


# ---------------------------------------------------------------------------------------------- from the Hub
def _repo(folder: Path) -> dict[str, bytes]:
    files = {path.name: path.read_bytes() for path in folder.iterdir() if path.is_file()}
    return {**files, "junk.bin": b"\0" * 3_000_000, "evil.py": b"print('owned')\n", "sub/extra.txt": b"x"}


@pytest.mark.slow
def test_a_hub_download_fetches_only_the_listed_files_and_refuses_attacks(good, tmp_path):
    attacks = _attacks(good, tmp_path)
    home = tmp_path / "hf"
    with FakeHub() as hub:
        hub.add_repo("model", "someone/good", _repo(good))
        for name, folder in attacks.items():
            hub.add_repo("model", f"attack/{name}", _repo(folder))

        def dotdot(config, folder):
            config["files"]["../../escape.txt"] = sha(b"x")

        hub.add_repo("model", "attack/dotdot", _repo(hostile(good, tmp_path / "dotdot", dotdot)))
        hub.add_repo("model", "attack/big-config", {"config.json": b" " * 3_000_000 + b"{}"})
        targets = ["someone/good", *(f"attack/{name}" for name in attacks), "attack/dotdot", "attack/big-config"]
        hub_env = {"HF_ENDPOINT": hub.url, "HF_HOME": str(home), "HF_HUB_DISABLE_TELEMETRY": "1"}
        results = load_under_limit(targets, **hub_env)
        commands = {repo: classify_under_limit(repo, **hub_env) for repo in ("someone/good", "attack/hidden",
                                                                               "attack/outside")}
        requested = "\n".join(hub.requests)
    assert commands["someone/good"].returncode == 0, commands["someone/good"].stderr[-2000:]
    for repo in ("attack/hidden", "attack/outside"):
        assert_one_line(commands[repo])
    assert results["someone/good"] == "loaded"
    for target in targets[1:]:
        assert results[target].startswith("refused: "), (target, results[target])
    assert "not a plain file name" in results["attack/dotdot"]
    assert "refused before downloading it" in results["attack/big-config"]
    for never in ("junk.bin", "evil.py", "extra.txt", "escape.txt"):
        assert never not in requested
        assert not list(home.rglob(never))
    assert "/resolve/" in requested and "config.json" in requested
