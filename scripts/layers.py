"""seqkit's import layers, read from the code: who imports whom, in which layer each module sits, and whether any
import points up a layer or closes a cycle.

``python scripts/layers.py`` prints the layer diagram of docs/architecture.md; ``tests/test_imports.py`` runs the
same checks on every module, imports inside functions included (``if TYPE_CHECKING:`` blocks are annotations only
and are skipped).
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "seqkit"

#: Bottom to top. A module may import from its own layer and the layers below it, never from one above.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("base", ("seqkit", "seqkit.errors", "seqkit.settings", "seqkit.console", "seqkit.guards", "seqkit.hub_access",
              "seqkit.hyperparameters", "seqkit.runs", "seqkit.recipe_hub", "seqkit.checkpointing",
              "seqkit.threads", "seqkit.distributed", "seqkit.registry", "seqkit.safe_config")),
    ("nn", ("seqkit.nn",)),
    ("data", ("seqkit.data",)),
    ("models", ("seqkit.models",)),
    ("search", ("seqkit.search",)),
    ("tasks", ("seqkit.tasks", "seqkit.callbacks", "seqkit.diagnostics")),
    ("pretrained", ("seqkit.pretrained",)),
    ("inference", ("seqkit.inference", "seqkit.export")),
    ("commands", ("seqkit.commands", "seqkit.runner", "seqkit.prediction_files", "seqkit.bench", "seqkit.cli",
                  "seqkit.__main__")),
]

#: Imports of seqkit modules inside functions, each with the reason it is not at the top of its module.
_CLI = "`seqkit --help` answers in milliseconds: the command line imports a command's code only when it runs"
_CMD = "the command's --help and option errors answer before torch and Lightning are imported"
_BENCH = "`seqkit bench --help` lists every benchmark without importing torch-heavy modules"
_GRAD = "`seqkit grad-plot --help` answers before torch is imported"
LAZY_IMPORTS: dict[tuple[str, str], str] = {
    ("seqkit.bench.lm", "seqkit.models.rnn_lm"): _BENCH,
    ("seqkit.bench.padding", "seqkit.data.encoding"): _BENCH,
    ("seqkit.bench.padding", "seqkit.data.sampler"): _BENCH,
    ("seqkit.bench.reviews", "seqkit.data.encoding"): _BENCH,
    ("seqkit.bench.reviews", "seqkit.data.sampler"): _BENCH,
    ("seqkit.bench.reviews", "seqkit.recipe_hub"): _BENCH,
    ("seqkit.bench.reviews", "seqkit.runner"): _BENCH,
    ("seqkit.bench.reviews", "seqkit.tasks.hierarchical"): _BENCH,
    ("seqkit.bench.timing", "seqkit.recipe_hub"): _BENCH,
    ("seqkit.bench.timing", "seqkit.runner"): _BENCH,
    ("seqkit.bench.translate", "seqkit.data.sources"): _BENCH,
    ("seqkit.bench.translate", "seqkit.inference.loading"): _BENCH,
    ("seqkit.bench.translate", "seqkit.inference.translate"): _BENCH,
    ("seqkit.bench.translate", "seqkit.models.seq2seq"): _BENCH,
    ("seqkit.bench.translate", "seqkit.runs"): _BENCH,
    ("seqkit.bench.translate", "seqkit.search"): _BENCH,
    ("seqkit.bench.translate", "seqkit.tasks"): _BENCH,
    ("seqkit.bench.trees", "seqkit.data.options"): _BENCH,
    ("seqkit.bench.trees", "seqkit.data.sampler"): _BENCH,
    ("seqkit.bench.trees", "seqkit.data.sources"): _BENCH,
    ("seqkit.bench.trees", "seqkit.data.trees"): _BENCH,
    ("seqkit.bench.trees", "seqkit.models.tree_lstm"): _BENCH,
    ("seqkit.cli", "seqkit"): _CLI,
    ("seqkit.cli", "seqkit.console"): _CLI,
    ("seqkit.cli", "seqkit.errors"): _CLI,
    ("seqkit.cli", "seqkit.hub_access"): _CLI,
    ("seqkit.cli", "seqkit.recipe_hub"): _CLI,
    ("seqkit.cli", "seqkit.runner"): _CLI,
    ("seqkit.cli", "seqkit.runner.messages"): _CLI,
    ("seqkit.cli", "seqkit.safe_config"): _CLI,
    ("seqkit.cli", "seqkit.distributed"): _CLI,
    ("seqkit.commands.classify", "seqkit.inference.loading"): _CMD,
    ("seqkit.commands.classify", "seqkit.tasks"): _CMD,
    ("seqkit.commands.data", "seqkit.data.sources"): _CMD,
    ("seqkit.commands.explain", "seqkit.inference"): _CMD,
    ("seqkit.commands.explain", "seqkit.inference.loading"): _CMD,
    ("seqkit.commands.explain", "seqkit.tasks"): _CMD,
    ("seqkit.commands.export", "seqkit.export"): _CMD,
    ("seqkit.commands.transcribe", "seqkit.data.audio"): _CMD,
    ("seqkit.commands.transcribe", "seqkit.inference.loading"): _CMD,
    ("seqkit.commands.transcribe", "seqkit.inference.transcribe"): _CMD,
    ("seqkit.commands.transcribe", "seqkit.tasks"): _CMD,
    ("seqkit.commands.export", "seqkit.inference.loading"): _CMD,
    ("seqkit.commands.generate", "seqkit.inference.loading"): _CMD,
    ("seqkit.commands.generate", "seqkit.search"): _CMD,
    ("seqkit.commands.generate", "seqkit.tasks"): _CMD,
    ("seqkit.commands.publish", "seqkit.inference.loading"): _CMD,
    ("seqkit.commands.publish", "seqkit.pretrained.folder"): _CMD,
    ("seqkit.commands.publish", "seqkit.runs"): _CMD,
    ("seqkit.commands.speedrun", "seqkit.recipe_hub"): _CMD,
    ("seqkit.commands.speedrun", "seqkit.runner"): _CMD,
    ("seqkit.commands.translate", "seqkit.inference.loading"): _CMD,
    ("seqkit.commands.translate", "seqkit.tasks"): _CMD,
    ("seqkit.diagnostics.gradient_through_time", "seqkit.diagnostics.plotting"): _GRAD,
    ("seqkit.runner.messages", "seqkit.pretrained.schema"): "a typed command's option error is worded without "
                                                            "importing torch",
}


def module_name(path: Path, package: Path = PACKAGE) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(name: str, modules: set[str]) -> str | None:
    """The seqkit module ``name`` stands for: itself, or the package holding it (``seqkit.data.X`` -> a class)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports(package: Path = PACKAGE) -> list[tuple[str, str, int, bool]]:
    """Every import of a seqkit module: ``(importer, imported, line, inside a function)``."""
    files = sorted(package.rglob("*.py"))
    modules = {module_name(path, package) for path in files}
    found = []
    for path in files:
        source = module_name(path, package)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _type_checking_lines(tree)
        in_function = {id(node) for fn in ast.walk(tree) if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef)
                       for node in ast.walk(fn)}
        for node in ast.walk(tree):
            if node.lineno in skip if hasattr(node, "lineno") else False:
                continue
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # ``from seqkit.data import tokenizers`` imports a module; ``from seqkit.data import X`` a name.
                targets = [f"{node.module}.{alias.name}" for alias in node.names]
            else:
                continue
            for target in targets:
                resolved = _resolve(target, modules) if target.split(".")[0] == "seqkit" else None
                if resolved and resolved != source:
                    found.append((source, resolved, node.lineno, id(node) in in_function))
    return found


def graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for source, target, _, _ in imports(package):
        edges[source].add(target)
    return edges


def layer_of(module: str) -> int:
    """Index of the layer holding ``module`` (the longest matching prefix)."""
    best, rank = -1, None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, rank = len(prefix), index
    if rank is None:
        raise KeyError(f"{module} is in no layer of scripts/layers.py; add it to LAYERS")
    return rank


def upward_imports(package: Path = PACKAGE) -> list[tuple[str, str, int]]:
    """Imports that point to a higher layer: ``(importer, imported, line)``."""
    return [(s, t, line) for s, t, line, _ in imports(package) if layer_of(t) > layer_of(s)]


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), i.e. import cycles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    sys.setrecursionlimit(max(10_000, sys.getrecursionlimit()))

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def lazy_imports(package: Path = PACKAGE) -> list[tuple[str, str, int]]:
    """Imports of seqkit modules inside functions: ``(importer, imported, line)``."""
    return [(s, t, line) for s, t, line, inside in imports(package) if inside]


def diagram(package: Path = PACKAGE) -> str:
    """The layers top to bottom, with the layers each one imports from (as measured)."""
    uses: dict[int, set[int]] = defaultdict(set)
    for source, target, _, _ in imports(package):
        if layer_of(source) != layer_of(target):
            uses[layer_of(source)].add(layer_of(target))
    width = max(len(name) for name, _ in LAYERS)
    lines = []
    for rank in reversed(range(len(LAYERS))):
        name, prefixes = LAYERS[rank]
        below = ", ".join(LAYERS[i][0] for i in sorted(uses[rank], reverse=True)) or "-"
        lines.append(f"{name:<{width}}  {' '.join(p.removeprefix('seqkit.') for p in prefixes)}")
        lines.append(f"{'':<{width}}    imports from: {below}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(diagram())
