"""The recipes shipped with seqkit, usable by name from any folder: ``seqkit fit --config sentiment/sst2``.

The YAML files live in the repository's ``recipes/`` folder; a wheel carries them as ``seqkit/recipes/`` (see
``setup.py``). ``--config`` still takes any path: a name is looked up only when no such file exists.
"""

from __future__ import annotations

from pathlib import Path

from seqkit.errors import ConfigError

_PACKAGE = Path(__file__).resolve().parent


def recipes_root() -> Path | None:
    """The folder of the shipped recipes: inside the installed package, else the source checkout's ``recipes/``."""
    for folder in (_PACKAGE / "recipes", _PACKAGE.parent / "recipes"):
        if folder.is_dir() and any(folder.glob("*/*.yaml")):
            return folder
    return None


def list_recipes() -> dict[str, Path]:
    """Shipped recipes by name (``sentiment/sst2``...), sorted."""
    root = recipes_root()
    if root is None:
        return {}
    return {str(path.relative_to(root).with_suffix("")): path for path in sorted(root.rglob("*.yaml"))}


def resolve_recipe(value: str) -> str:
    """``value`` itself when it is an existing file, else the shipped recipe it names (``sentiment/sst2``,
    ``sentiment/sst2.yaml`` or ``recipes/sentiment/sst2.yaml``); unchanged when nothing matches (the CLI then
    reports the missing file)."""
    if Path(value).expanduser().is_file():
        return value
    name = value.removeprefix("recipes/").removesuffix(".yaml").removesuffix(".yml")
    found = list_recipes().get(name)
    return str(found) if found is not None else value


def expand_config_args(args: list[str]) -> list[str]:
    """Command-line arguments with each ``--config NAME`` / ``-c NAME`` / ``--config=NAME`` resolved by
    :func:`resolve_recipe`."""
    expanded: list[str] = []
    previous = None
    for arg in args:
        if previous in ("--config", "-c"):
            arg = resolve_recipe(arg)
        elif arg.startswith("--config="):
            arg = "--config=" + resolve_recipe(arg.split("=", 1)[1])
        expanded.append(arg)
        previous = arg
    return expanded


def describe(path: Path) -> str:
    """The first line of a recipe's header comment (what it trains)."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
        if line.strip():
            break
    return ""


def check_config_files(args: list[str]) -> None:
    """Refuse a ``--config`` file that holds no setting (empty, or only blank lines and comments), which the
    parser would report as an unexplained ``Unexpected config``. Other values are left to the parser."""
    previous = None
    for arg in args:
        value = arg if previous in ("--config", "-c") else arg.split("=", 1)[1] if arg.startswith("--config=") else None
        previous = arg
        if value is None:
            continue
        path = Path(resolve_recipe(value)).expanduser()
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines() if path.is_file() else None
        except OSError:
            continue  # unreadable: the parser says so
        if lines is not None and not any(line.strip() and not line.lstrip().startswith("#") for line in lines):
            raise ConfigError(f"--config {value} holds no settings (it is empty or only comments); give a YAML file "
                              "of options, such as a recipe (`seqkit recipes` lists them).")
