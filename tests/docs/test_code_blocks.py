"""The code in README.md and the documentation pages stays true.

- Python blocks preceded by the line ``<!-- check: run -->`` are executed (in a temporary folder).
- Every other Python block must parse, and what it imports from seqkit (``from seqkit.x import A``, ``seqkit.A``)
  must exist. A block that is not meant to parse (a signature with ``*``) still has its import lines checked.
- Every ``seqkit ...`` command line in a shell block names a real subcommand and its options parse: LightningCLI
  commands (``fit``...) with ``--print_config`` when their ``--config`` exists (else their top-level options are
  checked against ``--help``), the other commands through their own argparse parsers, stopped before they run.
"""

from __future__ import annotations

import ast
import importlib
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

from seqkit import cli
from tests.helpers import REPO

PAGES = [REPO / "README.md",
         *sorted(p for p in (REPO / "docs").rglob("*.md") if "generated" not in p.relative_to(REPO).parts)]
RUN_MARKER = "<!-- check: run -->"
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)")
SHELL = {"bash", "sh", "shell", "console"}


@dataclass
class Block:
    """One fenced code block: where it is, its language, its text, and whether it is marked to run."""

    page: Path
    line: int
    lang: str
    code: str
    run: bool

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(REPO)}:{self.line}"


def code_blocks(page: Path) -> list[Block]:
    """The fenced blocks of a Markdown page (indented fences, as in lists, included and dedented)."""
    lines = page.read_text().splitlines()
    blocks, index = [], 0
    while index < len(lines):
        match = FENCE.match(lines[index])
        if not match:
            index += 1
            continue
        indent, fence, lang = match.groups()
        end = index + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        body = "\n".join(line[len(indent):] if line.startswith(indent) else line for line in lines[index + 1:end])
        marked = index > 0 and lines[index - 1].strip() == RUN_MARKER
        blocks.append(Block(page, index + 1, lang.lower(), body, marked))
        index = end + 1
    return blocks


BLOCKS = [block for page in PAGES for block in code_blocks(page)]
PYTHON = [block for block in BLOCKS if block.lang in ("python", "py")]
RUNNABLE = [block for block in PYTHON if block.run]


def seqkit_commands(block: Block) -> list[list[str]]:
    """The argument lists of the ``seqkit ...`` commands in a shell block (continuations joined, comments,
    prompts, pipes and redirections removed)."""
    commands = []
    for line in re.sub(r"\\\n\s*", " ", block.code).splitlines():
        line = line.strip().removeprefix("$ ")
        if not line.startswith("seqkit "):
            continue
        words = shlex.split(line, comments=True)
        for index, word in enumerate(words):
            if word in ("<", ">", ">>", "|", "&&", ";", "2>", "&") or word.startswith((">", "2>")):
                words = words[:index]
                break
        commands.append(words[1:])
    return commands


COMMANDS = sorted({tuple(args) for block in BLOCKS if block.lang in SHELL for args in seqkit_commands(block)})


def test_the_pages_have_code_to_check() -> None:
    assert RUNNABLE, f"no Python block is marked {RUN_MARKER!r}"
    assert len(COMMANDS) > 20 and len(PYTHON) > 10, (len(COMMANDS), len(PYTHON))


@pytest.mark.parametrize("block", RUNNABLE, ids=[block.where for block in RUNNABLE])
def test_marked_python_blocks_run(block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data_root) -> None:
    monkeypatch.chdir(tmp_path)
    exec(compile(block.code, block.where, "exec"), {"__name__": "__main__"})


def _imports_exist(tree: ast.AST, where: str) -> None:
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "seqkit":
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name) or importlib.util.find_spec(f"{node.module}.{alias.name}"), (
                    f"{where}: `from {node.module} import {alias.name}`: no such name")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "seqkit":
                    importlib.import_module(alias.name)
        elif (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "seqkit"):
            import seqkit

            assert hasattr(seqkit, node.attr), f"{where}: `seqkit.{node.attr}` does not exist"


@pytest.mark.parametrize("block", PYTHON, ids=[block.where for block in PYTHON])
def test_python_blocks_parse_and_their_seqkit_imports_exist(block: Block) -> None:
    try:
        tree = ast.parse(block.code, block.where)
    except SyntaxError:
        # A signature shown as code (``f(a, *, b=...)``) is not Python; its imports still have to be right.
        imports = [line for line in block.code.splitlines() if re.match(r"(from \S+ )?import ", line)]
        assert imports, f"{block.where}: a Python block that neither parses nor imports anything"
        tree = ast.parse("\n".join(imports), block.where)
    _imports_exist(tree, block.where)


class _Parsed(Exception):
    """Raised instead of running a command once its arguments have parsed."""


def _parse_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stop a typed command once jsonargparse has parsed its options (a bad one raises before that)."""
    import jsonargparse

    parse = jsonargparse.ArgumentParser.parse_args

    def parse_args(self, *args, **kwargs):
        result = parse(self, *args, **kwargs)
        if str(self.prog).startswith("seqkit"):  # the command's own parser: stop before it runs
            raise _Parsed(result)
        return result

    monkeypatch.setattr(jsonargparse.ArgumentParser, "parse_args", parse_args)


@pytest.mark.parametrize("args", COMMANDS, ids=[" ".join(args)[:80] for args in COMMANDS])
def test_seqkit_command_lines_parse(args: tuple[str, ...], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                    capsys: pytest.CaptureFixture, data_root) -> None:
    args = list(args)
    line = "seqkit " + " ".join(args)
    assert args, "a bare `seqkit` line"
    if args[0] in ("--help", "-h", "--version"):
        assert cli.main(args) == 0
        return
    command = args[0]
    assert command in cli.LIGHTNING_COMMANDS or command in cli.COMMANDS, f"`{line}`: no such subcommand"
    monkeypatch.chdir(REPO)
    if command in cli.LIGHTNING_COMMANDS:
        config = args[args.index("--config") + 1] if "--config" in args else None
        shipped = config and (Path(config).is_file() or (REPO / "recipes" / f"{config}.yaml").is_file())
        if shipped:
            monkeypatch.setenv("SEQKIT_RUNS_DIR", str(tmp_path))
            with pytest.raises(SystemExit) as done:
                cli.main([*[a for a in args if a != "--print_config"], "--print_config"])
            assert done.value.code == 0, f"`{line}` does not parse:\n{capsys.readouterr().err[-2000:]}"
            return
        # A run's own config.yaml (runs/<time>/...) does not exist here: its top-level options must be known.
        with pytest.raises(SystemExit):
            cli.main([command, "--help"])
        known = capsys.readouterr().out
        for option in (a.split("=")[0] for a in args if a.startswith("--")):
            top = option.split(".")[0]
            assert re.search(rf"(^|\s){re.escape(top)}[\s.=]", known, re.M), f"`{line}`: {top} is not an option"
        return
    _parse_only(monkeypatch)
    asks_help = "--help" in args or "-h" in args
    try:
        code = cli.main(args)
    except _Parsed:
        return
    except SystemExit as error:
        if asks_help and error.code == 0:
            return
        pytest.fail(f"`{line}` does not parse (exit {error.code}):\n{capsys.readouterr().err[-2000:]}")
    assert asks_help and code == 0, f"`{line}`: the command ran without parsing its options"
