"""A local stand-in for the HuggingFace Hub, for tests: the part of its HTTP API that `datasets` and
`huggingface_hub` use to find, download and upload dataset and model repos.

It serves repos held in memory (``{path: bytes}`` per revision) on 127.0.0.1 only:

- ``GET  /api/{datasets|models}/{id}[/revision/{rev}]``: repo info (``sha``, ``siblings``, ``cardData``);
- ``GET  /api/{type}s/{id}/tree/{rev}[/{path}]``: tree listing (``recursive``), ``POST .../paths-info/{rev}``;
- ``HEAD|GET /[datasets/]{id}/resolve/{rev}/{path}``: downloads with ``X-Repo-Commit``, ``ETag``,
  ``Content-Length`` and byte ranges, as the real Hub answers them (no Xet headers: plain HTTP downloads);
- ``GET  /files/{name}``: plain files outside any repo (e.g. an archive that a source downloads by URL);
- the commit API behind ``HfApi.create_repo`` / ``upload_folder``: ``POST /api/repos/create``,
  ``POST /api/{type}s/{id}/preupload/{rev}`` (every file "regular"), ``POST /api/{type}s/{id}/commit/{rev}``
  (NDJSON, base64 contents), and ``GET /api/whoami-v2``.

Every request is recorded in :attr:`FakeHub.requests`, so a test can assert what the clients asked for.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

TOKEN = "hf_fake_token_for_tests"


def _git_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Revision:
    """One commit of a repo: its files and the commit sha."""

    files: dict[str, bytes]
    sha: str = ""

    def __post_init__(self) -> None:
        if not self.sha:
            digest = hashlib.sha1()
            for path in sorted(self.files):
                digest.update(path.encode() + b"\0" + hashlib.sha1(self.files[path]).digest())
            self.sha = digest.hexdigest()


@dataclass
class Repo:
    """A repo: named refs (``main``, ``refs/convert/parquet``...) pointing at revisions."""

    repo_type: str
    repo_id: str
    refs: dict[str, Revision] = field(default_factory=dict)
    card_data: dict = field(default_factory=dict)

    def revision(self, name: str) -> Revision | None:
        if name in self.refs:
            return self.refs[name]
        return next((rev for rev in self.refs.values() if rev.sha == name), None)


class FakeHub:
    """An in-memory Hub served over HTTP on ``127.0.0.1`` (a free port). Use as a context manager."""

    def __init__(self) -> None:
        self.repos: dict[tuple[str, str], Repo] = {}
        self.plain_files: dict[str, bytes] = {}
        self.requests: list[str] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ content
    def add_repo(self, repo_type: str, repo_id: str, files: dict[str, bytes], ref: str = "main",
                 sha: str = "", card_data: dict | None = None) -> Revision:
        """Add (or extend with another ref) a repo; returns the new revision (its ``sha`` is the commit id)."""
        repo = self.repos.setdefault((repo_type, repo_id), Repo(repo_type, repo_id))
        revision = Revision(dict(files), sha)
        repo.refs[ref] = revision
        if card_data is not None:
            repo.card_data = card_data
        return revision

    @property
    def url(self) -> str:
        assert self._server is not None, "start the hub first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> FakeHub:
        hub = self

        class Handler(_Handler):
            owner = hub

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    owner: FakeHub
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    # ------------------------------------------------------------------ helpers
    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None,
              content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, value: object, status: int = 200) -> None:
        self._send(status, json.dumps(value).encode())

    def _error(self, status: int, message: str, code: str | None = None) -> None:
        headers = {"X-Error-Message": message}
        if code:
            headers["X-Error-Code"] = code
        self._send(status, json.dumps({"error": message}).encode(), headers)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _repo(self, repo_type: str, repo_id: str) -> Repo | None:
        repo = self.owner.repos.get((repo_type, repo_id))
        if repo is None:
            self._error(404, "Repository not found", "RepoNotFound")
        return repo

    def _revision(self, repo: Repo, name: str) -> Revision | None:
        revision = repo.revision(unquote(name))
        if revision is None:
            self._error(404, f"Invalid rev id: {unquote(name)}", "RevisionNotFound")
        return revision

    # ------------------------------------------------------------------ routing
    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        self.owner.requests.append(f"{self.command} {self.path}")
        url = urlsplit(self.path)
        parts = [unquote(p) for p in url.path.strip("/").split("/")]
        query = parse_qs(url.query)
        if parts[:2] == ["api", "whoami-v2"]:
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                return self._error(401, "Invalid credentials in Authorization header")
            return self._json({"type": "user", "name": "tester", "orgs": [], "auth": {"type": "access_token"}})
        if parts[0] == "files" and len(parts) == 2:
            data = self.owner.plain_files.get(parts[1])
            if data is None:
                return self._error(404, "Entry not found", "EntryNotFound")
            return self._file(data, {"ETag": f'"{hashlib.sha256(data).hexdigest()}"'})
        if parts[0] == "api" and len(parts) >= 4 and parts[1] in ("models", "datasets"):
            return self._api_get(parts[1][:-1], parts[2:], query)
        if "resolve" in parts:
            return self._resolve(parts)
        self._error(404, "Not found")

    def do_POST(self) -> None:
        self.owner.requests.append(f"{self.command} {self.path}")
        parts = [unquote(p) for p in urlsplit(self.path).path.strip("/").split("/")]
        writes = parts == ["api", "repos", "create"] or any(verb in parts for verb in ("preupload", "commit"))
        if writes and self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._error(401, "Invalid credentials in Authorization header")
        if parts == ["api", "repos", "create"]:
            return self._create_repo(json.loads(self._body()))
        if parts == ["api", "validate-yaml"]:
            return self._validate_yaml(json.loads(self._body()).get("content", ""))
        if parts[0] == "api" and parts[1] in ("models", "datasets") and len(parts) >= 6:
            repo_type, repo_id, verb, rev = parts[1][:-1], "/".join(parts[2:4]), parts[4], "/".join(parts[5:])
            if verb == "paths-info":
                return self._paths_info(repo_type, repo_id, rev)
            if verb == "preupload":
                files = json.loads(self._body()).get("files", [])
                return self._json({"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                                             for f in files], "commitOid": None})
            if verb == "commit":
                return self._commit(repo_type, repo_id, rev)
        self._error(404, "Not found")

    # ------------------------------------------------------------------ read API
    def _info(self, repo: Repo, revision: Revision) -> dict:
        info = {
            "_id": revision.sha[:24], "id": repo.repo_id, "author": repo.repo_id.split("/")[0],
            "sha": revision.sha, "private": False, "gated": False, "disabled": False, "downloads": 0, "likes": 0,
            "tags": [], "lastModified": "2026-01-01T00:00:00.000Z", "createdAt": "2026-01-01T00:00:00.000Z",
            "siblings": [{"rfilename": path} for path in sorted(revision.files)],
        }
        if repo.card_data:
            info["cardData"] = repo.card_data
        if repo.repo_type == "model":
            info["modelId"] = repo.repo_id
        return info

    def _entry(self, path: str, data: bytes | None) -> dict:
        if data is None:
            return {"type": "directory", "oid": hashlib.sha1(path.encode()).hexdigest(), "size": 0, "path": path}
        entry = {"type": "file", "oid": _git_sha(data), "size": len(data), "path": path}
        if path.endswith((".parquet", ".safetensors", ".arrow", ".gz")):
            entry["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 130}
        return entry

    def _api_get(self, repo_type: str, parts: list[str], query: dict) -> None:
        repo = self._repo(repo_type, "/".join(parts[:2]))
        if repo is None:
            return
        rest = parts[2:]
        if not rest or rest[0] == "revision":
            revision = self._revision(repo, "/".join(rest[1:]) if rest else "main")
            return None if revision is None else self._json(self._info(repo, revision))
        if rest[0] == "tree":
            return self._tree(repo, rest[1:], query)
        self._error(404, "Not found")

    def _split_rev_path(self, repo: Repo, rest: list[str]) -> tuple[Revision | None, str]:
        """``refs/convert/parquet/a/b`` -> (that ref, ``a/b``): the longest ref name that matches wins."""
        for cut in range(len(rest), 0, -1):
            revision = repo.revision("/".join(rest[:cut]))
            if revision is not None:
                return revision, "/".join(rest[cut:])
        self._error(404, f"Invalid rev id: {rest[0] if rest else ''}", "RevisionNotFound")
        return None, ""

    def _tree(self, repo: Repo, rest: list[str], query: dict) -> None:
        revision, folder = self._split_rev_path(repo, rest)
        if revision is None:
            return
        recursive = query.get("recursive", ["false"])[0].lower() == "true"
        prefix = f"{folder}/" if folder else ""
        entries: dict[str, dict] = {}
        for path, data in revision.files.items():
            if not path.startswith(prefix):
                continue
            relative = path[len(prefix):].split("/")
            for depth in range(1, len(relative)):
                directory = prefix + "/".join(relative[:depth])
                if recursive or depth == 1:
                    entries.setdefault(directory, self._entry(directory, None))
            if recursive or len(relative) == 1:
                entries[path] = self._entry(path, data)
        if folder and not entries:
            return self._error(404, f"Entry not found: {folder}", "EntryNotFound")
        self._json([entries[key] for key in sorted(entries)])

    def _paths_info(self, repo_type: str, repo_id: str, rev: str) -> None:
        repo = self._repo(repo_type, repo_id)
        revision = repo and self._revision(repo, rev)
        if revision is None:
            return
        body = self._body().decode()
        form = parse_qs(body) if "=" in body else {}
        if self.headers.get("Content-Type", "").startswith("application/json"):
            form = {key: value if isinstance(value, list) else [value] for key, value in json.loads(body).items()}
        answer = []
        for path in form.get("paths", []):
            if path in revision.files:
                answer.append(self._entry(path, revision.files[path]))
            elif any(name.startswith(f"{path}/") for name in revision.files):
                answer.append(self._entry(path, None))
        self._json(answer)

    def _resolve(self, parts: list[str]) -> None:
        at = parts.index("resolve")
        repo_type = "dataset" if parts[0] == "datasets" else "model"
        repo_id = "/".join(parts[1:at] if repo_type == "dataset" else parts[:at])
        repo = self._repo(repo_type, repo_id)
        if repo is None:
            return
        revision, path = self._split_rev_path(repo, parts[at + 1:])
        if revision is None:
            return
        data = revision.files.get(path)
        if data is None:
            return self._error(404, "Entry not found", "EntryNotFound")
        headers = {"X-Repo-Commit": revision.sha}
        if path.endswith((".parquet", ".safetensors", ".gz")):
            headers["X-Linked-Etag"] = f'"{hashlib.sha256(data).hexdigest()}"'
            headers["X-Linked-Size"] = str(len(data))
        headers["ETag"] = f'"{_git_sha(data)}"'
        self._file(data, headers)

    def _file(self, data: bytes, headers: dict[str, str]) -> None:
        headers = {**headers, "Accept-Ranges": "bytes"}
        ranged = self.headers.get("Range", "")
        if ranged.startswith("bytes=") and self.command == "GET":
            start_text, _, end_text = ranged[6:].partition("-")
            if start_text:
                start = int(start_text)
                end = min(int(end_text), len(data) - 1) if end_text else len(data) - 1
            else:  # a suffix range: the last N bytes
                start, end = max(0, len(data) - int(end_text)), len(data) - 1
            if start >= len(data):
                return self._send(416, b"", {"Content-Range": f"bytes */{len(data)}"})
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            return self._send(206, data[start:end + 1], headers, "application/octet-stream")
        self._send(200, data, headers, "application/octet-stream")

    # ------------------------------------------------------------------ write API
    def _create_repo(self, body: dict) -> None:
        repo_type = body.get("type") or "model"
        name = body["name"] if not body.get("organization") else f"{body['organization']}/{body['name']}"
        key = (repo_type, name)
        if key in self.owner.repos:
            return self._error(409, "You already created this repo")
        self.owner.add_repo(repo_type, name, {".gitattributes": b"*.safetensors filter=lfs\n"})
        self._json({"url": f"{self.owner.url}/{name}", "name": name})

    def _validate_yaml(self, content: str) -> None:
        """A model card's metadata block must be a YAML mapping (the real Hub also checks its schema)."""
        import yaml

        if content.startswith("---"):
            block = content[3:].split("\n---", 1)[0]
            try:
                if not isinstance(yaml.safe_load(block) or {}, dict):
                    raise yaml.YAMLError("metadata is not a mapping")
            except yaml.YAMLError as error:
                return self._error(400, f"Invalid metadata in README.md: {error}")
        self._json({"errors": [], "warnings": []})

    def _commit(self, repo_type: str, repo_id: str, rev: str) -> None:
        repo = self._repo(repo_type, repo_id)
        revision = repo and self._revision(repo, rev)
        if revision is None:
            return
        files = dict(revision.files)
        for line in self._body().decode().splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            value = item["value"]
            if item["key"] == "file":
                files[value["path"]] = base64.b64decode(value["content"])
            elif item["key"] in ("deletedFile", "deletedFolder"):
                files = {p: d for p, d in files.items() if p != value["path"] and not p.startswith(value["path"] + "/")}
            elif item["key"] == "lfsFile":
                return self._error(400, "this stand-in takes regular files only")
        new = self.owner.add_repo(repo_type, repo_id, files, ref=unquote(rev))
        self._json({"commitUrl": f"{self.owner.url}/{repo_id}/commit/{new.sha}", "commitOid": new.sha,
                    "pullRequestUrl": None})
