"""``seqkit data show | pull``: where a recipe's data comes from, and a local copy of it for offline machines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from seqkit.commands.files import atomic_output
from seqkit.errors import DataError
from seqkit.recipe_hub import resolve_recipe


def data_module(config: str) -> Any:
    """The recipe's DataModule, built from its ``data`` section alone (no model, no trainer, no run folder)."""
    import lightning as L
    import yaml
    from jsonargparse import ArgumentParser


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


def show(*, recipe: str) -> None:
    """Print where each split of a recipe's data resolves, its rows, columns and column roles.

    Args:
        recipe: a recipe YAML, a shipped recipe name (sentiment/sst2) or a run's config.yaml
    """
    from seqkit.data.sources import load_splits, resolve

    module = data_module(recipe)
    source = module.source
    splits = list(dict.fromkeys(module.split_roles().values()))
    places = resolve(source, splits)
    remote = resolve(source, splits, remote=True) if source.has_remote() else places
    loaded = load_splits(source, splits)
    print(f"{recipe}: {type(module).__name__}, dataset {source.label}")
    print("columns read: " + ", ".join(f"{role} <- {column}" for role, column in module.column_roles().items()))
    for split in splits:
        data = loaded[split]
        print(f"  {split:<18} {len(data):>9,} rows  <- {places[split]}")
        if remote[split] != places[split]:  # the pinned source a machine without this folder reads
            print(f"  {'':<18} elsewhere: {remote[split]}")
        print(f"  {'':<18} columns: {', '.join(data.column_names)}")


def pull(*, recipe: str, out: Path, overwrite: bool = False) -> None:
    """Write a recipe's splits, read from the Hub, as OUT/<name>/<split>.parquet, for offline machines.

    Copy OUT over and set SEQKIT_DATA_DIR=OUT there (local folders are always read before the Hub). With a filled
    HuggingFace cache (HF_HOME), HF_HUB_OFFLINE=1 reads the cache instead of asking the Hub.

    Args:
        recipe: a recipe YAML, a shipped recipe name (sentiment/sst2) or a run's config.yaml
        out: the local data root to write
        overwrite: replace splits and a SOURCE.md that are already there (by default they are kept, and nothing is
            downloaded)
    """
    from seqkit.data.sources import load_splits, local_alternative, resolve

    module = data_module(recipe)
    source = module.source
    if not source.has_remote():
        raise DataError(f"{recipe} names no Hub dataset or archive to pull from; {local_alternative(source)}.")
    splits = list(dict.fromkeys(module.split_roles().values()))
    # The folder's own name, never a path: a source named "/data/x" must not send the pull back into /data/x.
    target = Path(out).expanduser() / Path(source.label).name
    _check_target(target, [target / f"{split}.parquet" for split in splits] + [target / "SOURCE.md"], overwrite)
    loaded = load_splits(source, splits, remote=True)
    places = resolve(source, splits, remote=True)
    target.mkdir(parents=True, exist_ok=True)
    for split, data in loaded.items():
        final = target / f"{split}.parquet"
        with atomic_output(final, binary=True) as out_file:  # never a half-written split under the final name
            data.to_parquet(out_file)
        print(f"  {split:<18} {len(data):>9,} rows -> {final}  (from {places[split]})")
    with atomic_output(target / "SOURCE.md") as out_file:
        out_file.write(f"# {source.label}\n\nWritten by `seqkit data pull --recipe {recipe}`.\n\n"
                       + "".join(f"- `{split}.parquet`: {len(loaded[split]):,} rows from {places[split]}\n"
                                 for split in splits))
    print(f"Use it offline with SEQKIT_DATA_DIR={target.parent}")


def _check_target(target: Path, files: list[Path], overwrite: bool) -> None:
    """Refuses, before anything is downloaded, a target that is not a folder or that holds files ``pull`` would
    replace (unless ``overwrite``)."""
    for place in (target.parent, target):
        if place.exists() and not place.is_dir():
            raise DataError(f"{place} exists and is not a folder: pass a folder as --out.")
    existing = [file for file in files if file.exists()]
    if existing and not overwrite:
        raise DataError(f"{existing[0]} already exists: pass --overwrite to replace "
                        f"{'it' if len(existing) == 1 else f'it and {len(existing) - 1} more'}, or another --out.")


#: ``seqkit data show|pull``
COMMANDS = {"show": show, "pull": pull}
