"""``glyphvae push`` and ``glyphvae pull``: share models through the Hugging Face Hub.

The token comes from ``--token``, else ``HF_TOKEN``, else ``hf auth login``; the cache from
``HF_HOME``/``HF_HUB_CACHE`` or ``--cache-dir``. Once pulled, a repo works offline
(``HF_HUB_OFFLINE=1``) in every command that takes ``--model``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import click

# The CLI logs at INFO; huggingface_hub's HTTP client would then print one line per request
# in every command that reads a Hub source. (Belongs beside the absl line in cli/__init__.)
for _name in ("httpx", "httpx2"):
    logging.getLogger(_name).setLevel(logging.WARNING)


@click.command()
@click.option(
    "--model",
    "model_dir",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    required=True,
    help="A folder from `glyphvae fit`, or a folder of such folders (one per letter).",
)
@click.option("--repo", "repo_id", required=True, help="Hub repo id, e.g. my-org/greek-glyphs.")
@click.option("--private", is_flag=True, help="Create the repo private (if it does not exist).")
@click.option(
    "--token",
    default=None,
    help="Hub token with write access. Default: $HF_TOKEN or the saved login.",
)
@click.option("--revision", default=None, help="Branch to commit to (created if missing).")
@click.option("--message", default=None, help="Commit message.")
def push(
    model_dir: Path,
    repo_id: str,
    private: bool,
    token: str | None,
    revision: str | None,
    message: str | None,
) -> None:
    """Upload models to a Hub repo in one commit, with a manifest and a model card.

    Each letter goes to its own folder, so pushing letters one by one builds an alphabet
    repo. A hand-written README.md (in the folder or already in the repo) is never replaced.
    """
    from glyphvae.hub import push_to_hub

    info = push_to_hub(
        model_dir,
        repo_id,
        private=private or None,
        token=token,
        revision=revision,
        commit_message=message,
    )
    click.echo(f"Pushed {model_dir} to {repo_id}: {info.commit_url}")


@click.command()
@click.argument("repo_id", metavar="REPO")
@click.option("--letter", default=None, help="Only this letter (default: every model in the repo).")
@click.option("--revision", default=None, help="Branch, tag or commit. Default: main.")
@click.option(
    "--cache-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Hub cache folder. Default: $HF_HUB_CACHE or $HF_HOME/hub.",
)
@click.option("--token", default=None, help="Hub token. Default: $HF_TOKEN or the saved login.")
def pull(
    repo_id: str,
    letter: str | None,
    revision: str | None,
    cache_dir: Path | None,
    token: str | None,
) -> None:
    """Download a Hub repo's models (REPO: org/name) into the cache, and check they load."""
    from glyphvae.hub import pull as pull_models
    from glyphvae.saving import load_model

    models = pull_models(
        repo_id, letter=letter, revision=revision, cache_dir=cache_dir, token=token
    )
    for name, folder in models.items():
        model = load_model(folder)  # the strict checks: a pulled model is a usable model
        size = getattr(model, "image_size", None)
        px = f", {size} px" if size else ""
        click.echo(f"{name}: {type(model).__name__}{px} in {folder}")
    repo = repo_id.removeprefix("hf://").split("@")[0]
    use = f"hf://{repo}/<letter>" if len(models) > 1 else repo
    click.echo(f"Pulled {len(models)} model(s) of {repo}; --model {use} now works offline.")


COMMANDS = [push, pull]
