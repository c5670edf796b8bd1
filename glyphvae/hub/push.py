"""Uploading: :func:`push_to_hub` in one commit, with manifest and model card."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glyphvae.files import atomic_write_json, atomic_write_text
from glyphvae.letters import LETTER_NAMES
from glyphvae.saving import (
    CONFIG_FILE,
    METADATA_FILE,
    WEIGHTS_FILE,
    load_model,
    read_metadata,
    save_model,
)

if TYPE_CHECKING:
    from huggingface_hub import CommitInfo

from glyphvae.hub.download import _hub_errors, is_offline
from glyphvae.hub.sources import (
    CARD_FILE,
    CLASSIFIER,
    MANIFEST_FILE,
    MANIFEST_VERSION,
    MODEL_FILES,
    SAMPLES_FILE,
    _canonical,
    _local_models,
    _sha256,
    _sort_key,
    parse_hub_source,
    read_manifest,
)


def _entry(folder: Path, rel: str, meta: Mapping[str, Any]) -> dict[str, Any]:
    doc = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    files = {
        n: {"sha256": _sha256(folder / n), "size": (folder / n).stat().st_size}
        for n in MODEL_FILES
        if (folder / n).is_file()
    }
    return {
        "path": rel,
        "class_name": doc.get("class_name"),
        "letter": meta.get("letter"),
        "image_size": meta.get("image_size", doc.get("config", {}).get("image_size")),
        "format_version": doc.get("format_version"),
        "versions": meta.get("versions", {}),
        "files": files,
    }


def _manifest(entries: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    from glyphvae import __version__

    ordered = dict(sorted(entries.items(), key=lambda kv: _sort_key(kv[0])))
    letters = [n for n in ordered if n in LETTER_NAMES]
    sizes = {ordered[n]["image_size"] for n in letters}
    return {
        "format": "glyphvae",
        "manifest_version": MANIFEST_VERSION,
        "letters": letters,
        "image_size": sizes.pop() if len(sizes) == 1 else None,
        "versions": {"glyphvae": __version__},
        "models": ordered,
    }


def _stage(source: Path, dest: Path) -> dict[str, Any]:
    """Copy one model's plain files; drop local paths from its metadata. Returns the metadata."""
    dest.mkdir(parents=True)
    for name in (CONFIG_FILE, WEIGHTS_FILE, SAMPLES_FILE):
        if (source / name).is_file():
            shutil.copyfile(source / name, dest / name)
    meta = read_metadata(source)
    if isinstance(meta.get("data"), dict):
        meta["data"] = {k: v for k, v in meta["data"].items() if k != "path"}
    atomic_write_json(dest / METADATA_FILE, meta)
    return meta


def _models_to_push(model_or_dir: Any, scratch: Path) -> tuple[dict[str, Path], str | None]:
    """Local folders of the models to push (checked by loading), and a hand-written card."""
    if not isinstance(model_or_dir, str | os.PathLike):
        name = getattr(model_or_dir, "letter", None) or (
            CLASSIFIER if type(model_or_dir).__name__ == "LetterClassifier" else None
        )
        if name is None:
            raise ValueError(
                "Expected a model that records its letter (GlyphVAE(letter=...)). Received none"
            )
        return {_canonical(name): save_model(model_or_dir, scratch / _canonical(name))}, None
    path = Path(model_or_dir).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(f"Expected a model folder to push. Received: {str(model_or_dir)!r}")
    models, _ = _local_models(path)
    if not models:
        raise FileNotFoundError(
            f"Expected a saved glyphvae model in {path} ({CONFIG_FILE} and {WEIGHTS_FILE}) or "
            "folders of them. Received none"
        )
    for name, folder in models.items():
        if name not in LETTER_NAMES and name != CLASSIFIER:
            raise ValueError(
                f"Expected {folder} to record its letter in metadata.json. Received {name!r}"
            )
        load_model(folder)  # the strict checks, before anything is uploaded
    card = path / CARD_FILE
    text = card.read_text(encoding="utf-8") if card.is_file() else None
    from glyphvae.model_card import is_generated_card

    return models, (text if text is not None and not is_generated_card(text) else None)


class _Remote:
    """The repo as it is before a push: its commit, file names, manifest and card."""

    def __init__(self, api: Any, repo_id: str, revision: str | None, cache: Path) -> None:
        info = api.model_info(repo_id, revision=revision)
        self.repo_id, self.sha, self.cache = repo_id, info.sha, cache
        self.files = {s.rfilename for s in info.siblings or []}
        has_manifest = MANIFEST_FILE in self.files
        self.manifest = read_manifest(self.fetch(MANIFEST_FILE).parent) if has_manifest else None
        has_card = CARD_FILE in self.files
        self.card = self.fetch(CARD_FILE).read_text(encoding="utf-8") if has_card else None

    def fetch(self, name: str) -> Path:
        from huggingface_hub import hf_hub_download

        return Path(hf_hub_download(self.repo_id, name, revision=self.sha, cache_dir=self.cache))


def _commit_operations(
    local: Mapping[str, Path], remote: _Remote, hand_card: str | None, stage: Path
) -> list[Any]:
    """Stage the pushed models, the merged manifest and the card; list the commit's operations."""
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete

    from glyphvae.model_card import is_generated_card, render_model_card

    old = remote.manifest["models"] if remote.manifest else {}
    entries, metas = dict(old), {}
    for name, folder in local.items():
        metas[name] = _stage(folder, stage / name)
        entries[name] = _entry(stage / name, name, metas[name])
    stale = {  # files of a replaced model that the new one does not have
        f"{old[n]['path']}/{f}".lstrip("/")
        for n in local
        if n in old
        for f in old[n]["files"]
        if f not in entries[n]["files"] or old[n]["path"] != n
    }
    manifest = _manifest(entries)
    atomic_write_json(stage / MANIFEST_FILE, manifest)
    if hand_card is not None:
        atomic_write_text(stage / CARD_FILE, hand_card)
    elif remote.card is None or is_generated_card(remote.card):
        for name, entry in manifest["models"].items():
            if name not in metas and METADATA_FILE in entry["files"]:
                metas[name] = read_metadata(remote.fetch(f"{entry['path']}/{METADATA_FILE}").parent)
        samples = {
            n: f"{e['path']}/{SAMPLES_FILE}".lstrip("/")
            for n, e in manifest["models"].items()
            if SAMPLES_FILE in e["files"]
        }
        ordered = {n: metas.get(n, {}) for n in manifest["models"]}
        atomic_write_text(stage / CARD_FILE, render_model_card(remote.repo_id, ordered, samples))
    added = {p.relative_to(stage).as_posix(): p for p in sorted(stage.rglob("*")) if p.is_file()}
    return [
        *(CommitOperationAdd(path_in_repo=a, path_or_fileobj=str(p)) for a, p in added.items()),
        *(CommitOperationDelete(path_in_repo=p) for p in sorted(stale & remote.files - set(added))),
    ]


def push_to_hub(
    model_or_dir: Any,
    repo_id: str,
    *,
    private: bool | None = None,
    token: str | None = None,
    revision: str | None = None,
    commit_message: str | None = None,
) -> CommitInfo:
    """Upload models to a Hub repo in one commit, each letter in its own folder.

    The repo is created if needed. Models already in the repo stay; pushed letters replace
    theirs. ``glyphvae.json`` is rewritten with every model's checksums, and ``README.md`` is
    generated unless a hand-written card exists (in ``model_or_dir`` or in the repo). Local
    paths are removed from the uploaded ``metadata.json``.

    Args:
        model_or_dir: A model, a saved model folder, or a folder of letter folders.
        repo_id: ``org/name`` (or ``hf://org/name``).
        private: Create the repo private (an existing repo keeps its visibility).
        token: Hub token with write access (default: ``HF_TOKEN`` or the saved login).
        revision: Branch to commit to (created from main if missing).
        commit_message: Defaults to ``"Upload glyphvae models: <letters>"``.

    Returns:
        The commit's information (``.commit_url``, ``.oid``).

    Raises:
        FileNotFoundError: If the folder holds no model.
        ValueError: If a model fails the loading checks, or does not record its letter.
        OSError: If offline, or the Hub refused a request.
    """
    from huggingface_hub import HfApi

    hub = parse_hub_source(repo_id)
    if hub is None or hub.letter or hub.revision:
        raise ValueError(f"Expected a repo id such as org/name. Received {repo_id!r}")
    if is_offline():
        raise OSError(
            "Expected network access to push. Received offline mode (HF_HUB_OFFLINE or "
            "GLYPHVAE_OFFLINE)"
        )
    api = HfApi(token=token)
    with tempfile.TemporaryDirectory(prefix="glyphvae-push-") as tmp:
        local, hand_card = _models_to_push(model_or_dir, Path(tmp) / "saved")
        with _hub_errors(hub.repo_id, revision, False):
            api.create_repo(hub.repo_id, private=private, exist_ok=True)
            if revision not in (None, "main"):
                api.create_branch(hub.repo_id, branch=str(revision), exist_ok=True)
            remote = _Remote(api, hub.repo_id, revision, Path(tmp) / "cache")
            operations = _commit_operations(local, remote, hand_card, Path(tmp) / "repo")
            return api.create_commit(
                hub.repo_id,
                operations=operations,
                commit_message=commit_message or f"Upload glyphvae models: {', '.join(local)}",
                revision=revision,
                parent_commit=remote.sha,
            )
