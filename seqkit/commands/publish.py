"""``seqkit publish``: turn a run's best checkpoint into a published model folder and upload it to the Hub.

The folder (see :mod:`seqkit.pretrained.folder`) is written to ``--out`` (default ``RUN_DIR/published``) and
uploaded in one commit with ``HfApi.create_repo`` + ``upload_folder``. ``--dry_run`` writes and lists it only.
Without a token or a reachable Hub it stops at once, before loading anything; the token is never printed.
"""

from __future__ import annotations

from pathlib import Path

from seqkit.errors import PublishError
from seqkit.hub_access import hub_reachable


def hub_token() -> str:
    """The user's Hub token (``HF_TOKEN`` or ``hf auth login``), once the Hub is known to be reachable.

    Raises :class:`~seqkit.errors.PublishError` at once, without retries, when there is no token or no Hub.
    """
    from huggingface_hub import constants, get_token


    token = get_token()
    if not token:
        raise PublishError("No HuggingFace token: run `hf auth login` or set HF_TOKEN (or use --dry_run).")
    if constants.HF_HUB_OFFLINE:
        raise PublishError("HF_HUB_OFFLINE is set: unset it to upload (or use --dry_run to only write the folder).")
    if not hub_reachable():
        raise PublishError(f"Cannot reach the HuggingFace Hub at {constants.ENDPOINT}; check the connection "
                           "(or use --dry_run to only write the folder).")
    return token


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def publish(run_dir: Path, *, repo_id: str, private: bool = False, revision: str | None = None,
            dry_run: bool = False, out: Path | None = None, message: str | None = None) -> int:
    """Publish a trained run to the HuggingFace Hub: safetensors, config, tokenizer, training config, model card.

    Args:
        run_dir: run directory (its checkpoints/best.ckpt is published), .ckpt file or model folder
        repo_id: Hub repository OWNER/NAME (created if missing)
        private: create the repository as private
        revision: branch to upload to (created if missing; default main)
        dry_run: write the folder and list what would be uploaded, upload nothing
        out: folder to write (default: RUN_DIR/published)
        message: commit message
    """
    from seqkit.inference.loading import HUB_ID

    if not HUB_ID.match(repo_id):
        raise PublishError(f"--repo_id must be OWNER/NAME, got {repo_id!r}.")
    token = None if dry_run else hub_token()  # fail fast, before loading the model

    from seqkit.inference.loading import load_model
    from seqkit.pretrained.folder import check_output_folder, is_model_folder
    from seqkit.runs import find_checkpoint

    source = Path(run_dir).expanduser()
    base = source if is_model_folder(source) else find_checkpoint(source)[1]
    out = out.expanduser() if out else base / "published"
    if is_model_folder(source) and out.resolve() == source.resolve():
        raise PublishError(f"--out must differ from the model folder {source}.")
    check_output_folder(out)  # before the model is loaded: a folder that is not seqkit's is refused at once
    model = load_model(source)
    model.save_pretrained(out, model_card_kwargs={"repo_id": repo_id})
    files = sorted(p for p in out.rglob("*") if p.is_file())
    where = f"{repo_id}" + (f" (branch {revision})" if revision else "")
    print(f"Model folder: {out}")
    for path in files:
        print(f"  {path.relative_to(out)}  {_size(path.stat().st_size)}")
    if dry_run:
        print(f"Dry run: {len(files)} files would be uploaded to {where}; nothing was uploaded.")
        return 0

    from huggingface_hub import HfApi

    api = HfApi(token=token)
    try:
        repo = api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        if revision:
            api.create_branch(repo_id, branch=revision, exist_ok=True)
        commit = api.upload_folder(repo_id=repo_id, folder_path=out, revision=revision,
                                   commit_message=message or f"Upload {model.name} with seqkit")
    except Exception as error:  # HTTP errors, refused permissions...
        reason = (str(error).splitlines() or [type(error).__name__])[0].replace(token, "***")
        raise PublishError(f"Upload to {where} failed: {reason}") from None
    print(f"Uploaded {len(files)} files to {repo} ({where}): {commit.commit_url}")
    return 0
