"""Downloading a published model from the Hub: ``config.json`` first, then exactly the files it lists.

A repository may hold anything besides the model (a 300 MB ``junk.bin``, an ``evil.py``); none of it is fetched.
The config is validated and its file names checked (plain names, listed with their SHA-256) before any other
download, and every file comes from the commit the config was read at, so a push in between cannot mix versions.
"""

from __future__ import annotations

from pathlib import Path

from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url

from seqkit.errors import CheckpointError
from seqkit.pretrained.checks import CONFIG, MAX_CONFIG_BYTES, plain_name, read_config


def download_listed(repo_id: str, *, revision: str | None = None, cache_dir: str | Path | None = None,
                    force_download: bool = False, local_files_only: bool = False,
                    token: str | bool | None = None) -> Path:
    """The local snapshot folder of ``repo_id`` holding ``config.json`` and the files it lists, nothing else."""
    options = {"repo_id": repo_id, "cache_dir": cache_dir, "force_download": force_download,
               "local_files_only": local_files_only, "token": token}
    if not local_files_only:  # a config.json larger than any seqkit writes is not downloaded at all
        url = hf_hub_url(repo_id, CONFIG, revision=revision)
        size = get_hf_file_metadata(url, token=token).size
        if size is not None and size > MAX_CONFIG_BYTES:
            raise CheckpointError(f"{repo_id}: {CONFIG} is {size:,} bytes, larger than any seqkit model config "
                                  f"({MAX_CONFIG_BYTES:,}); refused before downloading it.")
    config_path = Path(hf_hub_download(filename=CONFIG, revision=revision, **options))
    folder = config_path.parent  # .../snapshots/<commit>/: the commit the config was read at
    config = read_config(folder)
    names = list(config["files"])
    bad = next((name for name in names if not plain_name(name)), None)
    if bad is not None:
        raise CheckpointError(f"{repo_id}: {CONFIG} lists {bad!r}, which is not a plain file name; refused before "
                              "downloading anything else.")
    for name in names:
        hf_hub_download(filename=name, revision=folder.name, **options)
    return folder
