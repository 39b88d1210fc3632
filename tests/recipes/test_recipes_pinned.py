"""Every recipe's Hub source names a full commit sha as its revision, so a recipe means one dataset for good."""

from __future__ import annotations

import re

import yaml

from tests.helpers import REPO

SHA = re.compile(r"[0-9a-f]{40}")
#: Hub repositories for which no public record of a commit was found yet: each recipe that reads one says so.
UNPINNED = {
    "SetFit/sst2", "sentence-transformers/parallel-sentences-tatoeba", "ptb-text-only/ptb_text_only",
}


def hub_sources(node):
    """Every ``hub:`` mapping anywhere in a recipe, and each of its ``hub_splits:``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "hub" and isinstance(value, dict):
                yield value
            elif key == "hub_splits" and isinstance(value, dict):
                yield from value.values()
            else:
                yield from hub_sources(value)
    elif isinstance(node, list):
        for value in node:
            yield from hub_sources(value)


def recipes():
    return sorted((REPO / "recipes").rglob("*.yaml"))


def pinned(hub: dict) -> bool:
    """A full commit sha, or a SHA-256 for every file the source reads."""
    files = hub.get("files") or {}
    checksummed = bool(files) and set(hub.get("sha256") or {}) == set(files)
    return bool(SHA.fullmatch(str(hub.get("revision", "")))) or checksummed


def test_every_hub_source_is_pinned_to_a_full_commit_sha():
    unpinned, seen = [], set()
    for path in recipes():
        for hub in hub_sources(yaml.safe_load(path.read_text())):
            seen.add(hub["id"])
            if not pinned(hub) and hub["id"] not in UNPINNED:
                unpinned.append(f"{path.relative_to(REPO)}: {hub['id']}@{hub.get('revision')}")
    assert not unpinned, "\n".join(unpinned)
    assert seen >= {"Salesforce/wikitext", "stanfordnlp/imdb", "Yelp/yelp_review_full", "nyu-mll/glue", "SetFit/sst2"}


def test_the_list_of_unpinned_repositories_is_not_stale():
    still = {hub["id"] for path in recipes() for hub in hub_sources(yaml.safe_load(path.read_text()))
             if not pinned(hub)}
    assert still == UNPINNED  # pin one, then take it off the list
