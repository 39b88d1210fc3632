"""Reading configuration that may come from someone else: YAML with bounded alias expansion, and class paths
checked against an allow-list before anything is imported.

- **YAML.** A few anchors and aliases can stand for billions of nodes (``a: &a [x, x]``, ``b: &b [*a, *a]``...):
  PyYAML builds them shared, but whatever walks the result afterwards (jsonargparse, a config dump) expands them
  until memory runs out. :func:`load_yaml` counts the nodes a document stands for, aliases expanded, and refuses a
  document above :data:`MAX_NODES` (or with more than :data:`MAX_ALIASES` aliases) in one line. Every YAML file and
  value seqkit reads goes through it, ``--config`` files included (:func:`secure_parsing`).
- **Class paths.** A recipe or a run's ``config.yaml`` names classes (``class_path: seqkit.tasks.LanguageModel``)
  that jsonargparse imports and builds. Only modules of seqkit and the libraries it builds on may be named, the
  modules of tasks declared with :func:`seqkit.registry.register_task` (already imported, hence trusted), plus
  those listed in ``SEQKIT_ALLOWED_IMPORTS`` (comma-separated import paths, for your own tasks and callbacks); the
  name is checked before its module is imported, with jsonargparse's own import path policy.
"""

from __future__ import annotations

import os
from typing import Any

import yaml

from seqkit.errors import ConfigError
from seqkit.registry import task_modules

#: Nodes one YAML document may stand for, aliases expanded (the largest recipe has a few hundred).
MAX_NODES = 100_000
#: Aliases one YAML document may use (recipes use none; a hand-written config a few).
MAX_ALIASES = 100
ALLOWED_IMPORTS_ENV = "SEQKIT_ALLOWED_IMPORTS"
#: What a configuration may name: seqkit, and the parts of its libraries whose classes a recipe configures.
ALLOWED_IMPORTS = (
    "seqkit",
    "torch.optim",
    "torch.nn",
    "torchmetrics",
    "lightning.pytorch.callbacks",
    "lightning.pytorch.loggers",
    "lightning.pytorch.strategies",
    "lightning.pytorch.plugins",
    "lightning.pytorch.profilers",
    "lightning.pytorch.accelerators",
    "lightning.fabric.plugins",
    "lightning.pytorch.core",
    "lightning.pytorch.demos",
)


class YAMLBombError(yaml.YAMLError):
    """A YAML document whose aliases stand for more nodes than any configuration needs."""


def _expanded_nodes(node: yaml.Node) -> int:
    """Nodes ``node`` stands for with every alias expanded; a node that contains itself counts as too many."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(node, False)]
    open_nodes: set[int] = set()
    while stack:
        item, done = stack.pop()
        key = id(item)
        if key in sizes:
            continue
        children = ([c for pair in item.value for c in pair] if isinstance(item, yaml.MappingNode)
                    else list(item.value) if isinstance(item, yaml.SequenceNode) else [])
        if done:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in children)
            if sizes[key] > MAX_NODES:
                return sizes[key]
            continue
        if key in open_nodes:  # an anchor used inside itself: infinite
            return MAX_NODES + 1
        open_nodes.add(key)
        stack.append((item, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)
    return sizes[id(node)]


def _bounded(base: type) -> type:
    """A loader class on ``base`` (pure-Python composer) that refuses documents expanding past the bounds."""

    class BoundedLoader(base):
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                self._aliases = getattr(self, "_aliases", 0) + 1
                if self._aliases > MAX_ALIASES:
                    raise YAMLBombError(f"more than {MAX_ALIASES} YAML aliases (*name); write the values out")
            return super().compose_node(parent, index)

        def compose_document(self) -> Any:
            try:
                node = super().compose_document()
            except RecursionError:
                raise YAMLBombError("it is nested too deeply for a configuration") from None
            if node is not None and _expanded_nodes(node) > MAX_NODES:
                raise YAMLBombError(f"its aliases expand to more than {MAX_NODES:,} values; write the values out")
            return node

    return BoundedLoader


SafeBoundedLoader = _bounded(yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    """``yaml.safe_load`` with alias expansion bounded (raises :class:`YAMLBombError`, a ``yaml.YAMLError``)."""
    return yaml.load(text, Loader=SafeBoundedLoader)  # noqa: S506 - a SafeLoader subclass


def allowed_imports() -> list[str]:
    """The import paths a configuration may name: :data:`ALLOWED_IMPORTS`, the environment's, and the modules of
    declared tasks (a module that declared a task has run already: naming its classes imports nothing new)."""
    extra = [part.strip() for part in os.environ.get(ALLOWED_IMPORTS_ENV, "").split(",") if part.strip()]
    bad = next((p for p in extra if not all(piece.isidentifier() for piece in p.split("."))), None)
    if bad is not None:
        raise ConfigError(f"{ALLOWED_IMPORTS_ENV}: {bad!r} is not an import path (e.g. mypackage.tasks).")
    declared = [name for name in task_modules() if not name.startswith("seqkit.")]
    return [*ALLOWED_IMPORTS, *extra, *declared]


def import_refusal(path: str) -> str:
    """The one line that says why class path ``path`` was refused (nothing was imported)."""
    return (f"class path {path!r} is not allowed, so nothing was imported (a configuration may name classes of "
            f"seqkit, torch.optim, torch.nn, torchmetrics and Lightning; list your own modules in "
            f"{ALLOWED_IMPORTS_ENV}, e.g. {ALLOWED_IMPORTS_ENV}=mypackage)")


_SECURED: list[str] = []


def secure_parsing() -> None:
    """Make jsonargparse read YAML with the bounded loader and import only allowed class paths (idempotent)."""
    from jsonargparse import set_loader, set_parsing_settings
    from jsonargparse._loaders_dumpers import get_yaml_default_loader, yaml_load

    allowed = allowed_imports()
    if allowed == _SECURED:
        return
    # jsonargparse's own loader (its number and date rules) with the bound; the fast C parser cannot count aliases.
    loader = _bounded(type("JsonargparseLoader", (yaml.SafeLoader,), {
        "yaml_implicit_resolvers": get_yaml_default_loader().yaml_implicit_resolvers}))

    def bounded_yaml_load(stream: str) -> Any:
        import jsonargparse._loaders_dumpers as loaders

        previous = loaders.yaml_default_loader
        loaders.yaml_default_loader = loader
        try:
            return yaml_load(stream)
        finally:
            loaders.yaml_default_loader = previous

    set_loader("yaml", bounded_yaml_load, (yaml.YAMLError,))
    set_parsing_settings(import_path_denylist=["*"], import_path_allowlist=allowed)
    _SECURED[:] = allowed
