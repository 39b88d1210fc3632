"""``seqkit recipes``: list the recipes shipped with seqkit (``seqkit fit --config NAME`` runs one from anywhere)."""

from __future__ import annotations

from seqkit.errors import ConfigError
from seqkit.recipe_hub import describe, list_recipes, recipes_root


def recipes(*, paths: bool = False) -> int:
    """List the shipped recipes; run one from any folder with `seqkit fit --config NAME`.

    Args:
        paths: show each recipe's file instead of its description
    """

    found = list_recipes()
    if not found:
        raise ConfigError("No recipes found: this installation of seqkit does not include them; reinstall seqkit.")
    width = max(map(len, found))
    for name, path in found.items():
        print(f"{name:<{width}}  {path if paths else describe(path)}")
    print(f"\n{len(found)} recipes in {recipes_root()}; run one with `seqkit fit --config NAME`.")
    return 0
