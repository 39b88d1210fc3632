"""``seqkit data show | pull``: where a recipe's data comes from, and a local copy of it for offline machines."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

CONFIG_HELP = "a recipe YAML, a shipped recipe name (sentiment/sst2) or a run's config.yaml"
HELP = "Show where a recipe's data comes from, or pull it from the Hub into the local layout."
OFFLINE = """\
offline use: `seqkit data pull --config RECIPE --out DIR` on a machine with internet writes DIR/<name>/<split>.parquet;
copy DIR over and set SEQKIT_DATA_DIR=DIR (local folders are always read before the Hub). With a filled HuggingFace
cache (HF_HOME), HF_HUB_OFFLINE=1 reads the cache instead of asking the Hub."""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="seqkit data", description=HELP, epilog=OFFLINE,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    verbs = p.add_subparsers(dest="verb", required=True)
    show = verbs.add_parser("show", help="print where each split resolves, its rows, columns and column roles",
                            epilog=OFFLINE, formatter_class=argparse.RawDescriptionHelpFormatter)
    show.add_argument("--config", required=True, help=CONFIG_HELP)
    pull = verbs.add_parser("pull", help="write the recipe's splits, read from the Hub, as DIR/<name>/<split>.parquet",
                            epilog=OFFLINE, formatter_class=argparse.RawDescriptionHelpFormatter)
    pull.add_argument("--config", required=True, help=CONFIG_HELP)
    pull.add_argument("--out", required=True, help="the local data root to write (use it as SEQKIT_DATA_DIR)")
    return p


def data_module(config: str) -> Any:
    """The recipe's DataModule, built from its ``data`` section alone (no model, no trainer, no run folder)."""
    import lightning as L
    import yaml
    from jsonargparse import ArgumentParser

    from seqkit.errors import DataError
    from seqkit.recipe_hub import resolve_recipe

    path = Path(resolve_recipe(config))
    if not path.is_file():
        raise DataError(f"Recipe {config} does not exist; pass a recipe YAML such as recipes/sentiment/sst2.yaml.")
    section = (yaml.safe_load(path.read_text()) or {}).get("data")
    if not section:
        raise DataError(f"{config} has no data: section; pass a recipe or a run's config.yaml.")
    p = ArgumentParser(exit_on_error=False)
    p.add_subclass_arguments(L.LightningDataModule, "data")
    try:
        parsed = p.parse_object({"data": section})
    except Exception as error:
        raise DataError(f"{config}: the data section does not parse: {str(error).splitlines()[0]}") from None
    return p.instantiate_classes(parsed).data


def show(config: str) -> None:
    from seqkit.data.sources import load_splits, resolve

    module = data_module(config)
    source = module.source
    splits = list(dict.fromkeys(module.split_roles().values()))
    places = resolve(source, splits)
    loaded = load_splits(source, splits)
    print(f"{config}: {type(module).__name__}, dataset {source.label}")
    print("columns read: " + ", ".join(f"{role} <- {column}" for role, column in module.column_roles().items()))
    for split in splits:
        data = loaded[split]
        print(f"  {split:<18} {len(data):>9,} rows  <- {places[split]}")
        print(f"  {'':<18} columns: {', '.join(data.column_names)}")


def pull(config: str, out: str) -> None:
    from seqkit.commands.files import atomic_output
    from seqkit.data.sources import load_splits, resolve
    from seqkit.errors import DataError

    module = data_module(config)
    source = module.source
    if source.hub_dataset() is None and source.archive is None:
        raise DataError(f"{config} names no Hub dataset or archive (data.init_args.source.hub); nothing to pull.")
    splits = list(dict.fromkeys(module.split_roles().values()))
    # The folder's own name, never a path: a source named "/data/x" must not send the pull back into /data/x.
    target = Path(out).expanduser() / Path(source.label).name
    loaded = load_splits(source, splits, remote=True)
    places = resolve(source, splits, remote=True)
    target.mkdir(parents=True, exist_ok=True)
    for split, data in loaded.items():
        final = target / f"{split}.parquet"
        with atomic_output(final, binary=True) as out_file:  # never a half-written split under the final name
            data.to_parquet(out_file)
        print(f"  {split:<18} {len(data):>9,} rows -> {final}  (from {places[split]})")
    with atomic_output(target / "SOURCE.md") as out_file:
        out_file.write(f"# {source.label}\n\nWritten by `seqkit data pull --config {config}`.\n\n"
                       + "".join(f"- `{split}.parquet`: {len(loaded[split]):,} rows from {places[split]}\n"
                                 for split in splits))
    print(f"Use it offline with SEQKIT_DATA_DIR={target.parent}")


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    if args.verb == "show":
        show(args.config)
    else:
        pull(args.config, args.out)
    return 0
