"""The one rule for blank inputs, in the Python API and the CLI alike.

A blank input (empty, or only whitespace; for a tree model also a bracketing with no words, such as ``(2 )``) is
never given a confident answer: it keeps its place in the output with a marked empty result. ``classify`` gives
``{"label": None, "probabilities": None, "blank": True}`` (and ``"label_name": None`` when the model has names);
``translate`` gives an empty translation with score NaN and no n-best list.
"""

from __future__ import annotations

import re

#: A bracketing's tokens: brackets, and the runs of other characters between them (as the tree reader splits).
_TREE_TOKEN = re.compile(r"\(|\)|[^ \t\r\n()]+")


def is_blank(text: str) -> bool:
    """True for an empty or whitespace-only text."""
    return not text.strip()


def is_blank_tree(text: str) -> bool:
    """True for a blank text, or a bracketing (text from ``(`` to ``)``) whose brackets hold no word (``()``,
    ``(2 )``, ``(3 (2 ))``): the integer right after each ``(`` is a label, not a word."""
    text = text.strip()
    if not text:
        return True
    if not (text.startswith("(") and text.endswith(")")):  # plain text: its brackets are words
        return False
    tokens = _TREE_TOKEN.findall(text)
    words = [token for before, token in zip(["("] + tokens, tokens)
             if token not in ("(", ")") and not (before == "(" and token.lstrip("-").isdigit())]
    return not words


def blank_record(label_names: list[str] | None = None) -> dict:
    """The classification record of a blank input: no label, no probabilities, marked ``blank``."""
    record: dict = {"label": None, "probabilities": None, "blank": True}
    if label_names:
        record["label_name"] = None
    return record
