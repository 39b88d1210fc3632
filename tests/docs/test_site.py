"""The documentation site builds with ``mkdocs build --strict``, is fully static/offline, and documents every public
name of the API packages."""

from __future__ import annotations

import importlib
import inspect
import os
import re
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
import yaml

from tests.docs.conftest import DOCS, GENERATED
from tests.helpers import REPO

#: The packages of the API reference, one page each (docs/api/<last part>.md holding ``::: package``).
API_PACKAGES = [
    "seqkit.nn", "seqkit.data", "seqkit.models", "seqkit.search", "seqkit.tasks", "seqkit.callbacks",
    "seqkit.inference", "seqkit.pretrained",
]

# A network fetch in the built pages: a script, stylesheet or font from http(s), or a CSS url()/@import of one.
_REMOTE = [
    re.compile(r"<script[^>]+src=[\"']?(?:https?:)?//", re.I),
    re.compile(r"<link[^>]+href=[\"']?(?:https?:)?//[^>]*>", re.I),
    re.compile(r"@import\s+(?:url\()?[\"']?(?:https?:)?//", re.I),
    re.compile(r"url\([\"']?(?:https?:)?//", re.I),
    re.compile(r"fonts\.(?:googleapis|gstatic)\.com|googletagmanager|google-analytics", re.I),
]


def remote_fetches(text: str) -> list[str]:
    """The snippets of ``text`` (HTML or CSS) that would make a browser fetch something from the network."""
    found = []
    for pattern in _REMOTE:
        for match in pattern.finditer(text):
            snippet = match.group(0)
            # <link rel="canonical"/"alternate"> etc. are not fetched; only stylesheets, preloads and icons are.
            if snippet.lower().startswith("<link") and not re.search(r"rel=[\"']?(stylesheet|preload|icon|preconnect)",
                                                                     snippet, re.I):
                continue
            found.append(snippet[:120])
    return found


def public_names(package: str) -> dict[str, object]:
    """A package's public API: its ``__all__``, else the public functions and classes defined in it."""
    module = importlib.import_module(package)
    names = getattr(module, "__all__", None)
    if names is None:
        names = [name for name, value in vars(module).items() if not name.startswith("_")
                 and (inspect.isfunction(value) or inspect.isclass(value)) and value.__module__ == package]
    return {name: getattr(module, name) for name in names}


def inventory_names(path: Path) -> set[str]:
    """The object names in a Sphinx ``objects.inv`` (what mkdocstrings rendered)."""
    data = path.read_bytes()
    body = data.split(b"\n", 4)[4]  # four header lines, then zlib
    return {line.split(" ", 1)[0] for line in zlib.decompress(body).decode().splitlines() if line}


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory, tutorials) -> Path:
    """The site built with --strict, with the tutorials' outputs (run once this session when generated/ lacks them)."""
    tutorials.ensure_generated()
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # Material's end-of-life banner
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stdout}\n{result.stderr}"
    return out


def test_remote_fetch_detector_finds_fonts_scripts_and_styles() -> None:
    assert remote_fetches('<link rel="stylesheet" href="https://fonts.googleapis.com/css?family=Roboto">')
    assert remote_fetches('<script src="https://unpkg.com/mermaid.min.js"></script>')
    assert remote_fetches("@font-face{src:url(https://example.org/a.woff2)}")
    assert not remote_fetches('<link rel="canonical" href="https://example.org/"><a href="https://lightning.ai">x</a>')
    assert not remote_fetches('<script src="assets/javascripts/bundle.js"></script>')


def test_api_pages_and_navigation_cover_the_packages() -> None:
    config = yaml.load((REPO / "mkdocs.yml").read_text(), Loader=yaml.BaseLoader)
    nav = repr(config["nav"])
    for package in API_PACKAGES:
        page = DOCS / "api" / f"{package.rsplit('.', 1)[-1]}.md"
        assert page.is_file() and f"::: {package}" in page.read_text(), f"{page} must hold '::: {package}'"
        assert f"api/{page.name}" in nav, f"{page.name} is not in mkdocs.yml's nav"
    assert config["theme"]["font"] == "false", "theme.font must be false: no Google Fonts"


def test_every_public_name_has_a_docstring() -> None:
    missing = [f"{package}.{name}" for package in API_PACKAGES for name, value in public_names(package).items()
               if (inspect.isclass(value) or callable(value)) and not (value.__doc__ or "").strip()]
    assert not missing, f"public names without a docstring: {missing}"


@pytest.mark.slow
@pytest.mark.tutorial
def test_site_builds_strict_and_offline(site: Path) -> None:
    assert (site / "index.html").is_file() and (site / "api" / "nn.html").is_file()
    for tutorial in sorted(GENERATED.glob("*.png")):
        assert (site / "tutorials" / "generated" / tutorial.name).is_file(), f"{tutorial.name} not in the site"
    problems = {}
    for path in [*site.rglob("*.html"), *site.rglob("*.css")]:
        found = remote_fetches(path.read_text(errors="replace"))
        if found:
            problems[str(path.relative_to(site))] = found
    assert not problems, f"the site fetches from the network: {problems}"


@pytest.mark.slow
@pytest.mark.tutorial
def test_api_reference_lists_every_public_name(site: Path) -> None:
    documented = inventory_names(site / "objects.inv")
    missing = []
    for package in API_PACKAGES:
        for name, value in public_names(package).items():
            canonical = f"{getattr(value, '__module__', package)}.{getattr(value, '__qualname__', name)}"
            if f"{package}.{name}" not in documented and canonical not in documented:
                missing.append(f"{package}.{name}")
    assert not missing, f"public names missing from the API reference (objects.inv): {missing}"
    nn_page = (site / "api" / "nn.html").read_text()
    assert "(B, T, D * H)" in nn_page, "tensor shapes from the docstrings are missing from the API page"
