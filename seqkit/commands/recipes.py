"""``seqkit recipes``: list the recipes shipped with seqkit (``seqkit fit --config NAME`` runs one from anywhere)."""

from __future__ import annotations

import argparse

HELP = "List the shipped recipes; run one from any folder with `seqkit fit --config NAME`."


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="seqkit recipes", description=HELP)
    parser.add_argument("--paths", action="store_true", help="show each recipe's file instead of its description")
    args = parser.parse_args(argv)
    from seqkit.errors import ConfigError
    from seqkit.recipe_hub import describe, list_recipes, recipes_root

    recipes = list_recipes()
    if not recipes:
        raise ConfigError("No recipes found: this installation of seqkit does not include them; reinstall seqkit.")
    width = max(map(len, recipes))
    for name, path in recipes.items():
        print(f"{name:<{width}}  {path if args.paths else describe(path)}")
    print(f"\n{len(recipes)} recipes in {recipes_root()}; run one with `seqkit fit --config NAME`.")
    return 0
