"""Downloading and loading: :func:`from_pretrained`, :func:`pull` and the Hub cache."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glyphvae.datasets import env_offline
from glyphvae.saving import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    load_model,
    read_metadata,
    save_model,
)

if TYPE_CHECKING:
    import keras

from glyphvae.hub.sources import (
    CARD_FILE,
    MANIFEST_FILE,
    MODEL_FILES,
    HubSource,
    _canonical,
    _model_name,
    _pick,
    _sort_key,
    _verify,
    parse_hub_source,
    read_manifest,
    resolve_local,
)


def is_offline() -> bool:
    """Whether Hub downloads are off: ``HF_HUB_OFFLINE`` or ``GLYPHVAE_OFFLINE`` is set."""
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE) or env_offline()


@contextlib.contextmanager
def _hub_errors(repo_id: str, revision: str | None, offline: bool) -> Iterator[None]:
    """Turn huggingface_hub's exceptions into one clear line each."""
    from huggingface_hub import constants
    from huggingface_hub.errors import (
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    where = f"hf://{repo_id}" + (f"@{revision}" if revision else "")
    try:
        yield
    except RepositoryNotFoundError as e:
        raise FileNotFoundError(
            f"Expected a model repo at {where}. Received: not found on {constants.ENDPOINT} "
            "(and no local folder of that name); check the spelling, or set HF_TOKEN if it is "
            "private."
        ) from e
    except RevisionNotFoundError as e:
        raise FileNotFoundError(
            f"Expected revision {revision!r} in hf://{repo_id}. Received: no such branch, tag "
            "or commit"
        ) from e
    except LocalEntryNotFoundError as e:
        why = "offline mode is on (HF_HUB_OFFLINE, GLYPHVAE_OFFLINE or local_files_only)"
        if not offline:
            why = f"the Hub ({constants.ENDPOINT}) could not be reached"
        raise FileNotFoundError(
            f"Expected {where} in the Hugging Face cache ({constants.HF_HUB_CACHE}) because {why}. "
            f"Received: not cached, or only partly (and no local folder {repo_id!r}); run "
            f"`glyphvae pull {repo_id}` once online."
        ) from e
    except HfHubHTTPError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise OSError(f"The Hub refused a request for {where}: {first}") from e
    except OSError as e:
        if "Consistency check failed" in str(e):
            raise OSError(
                f"Expected a complete download from {where}. Received a truncated file "
                f"({str(e).splitlines()[0]}); nothing was loaded. Run again to retry."
            ) from e
        raise


def _no_match_warning(record: logging.LogRecord) -> bool:
    return "No files matched" not in record.getMessage()  # a repo without root files is fine


def _snapshot(repo_id: str, revision: str | None, patterns: list[str], **kw: Any) -> Path:
    from huggingface_hub import snapshot_download

    log = logging.getLogger("huggingface_hub._snapshot_download")
    log.addFilter(_no_match_warning)
    try:
        return Path(snapshot_download(repo_id, revision=revision, allow_patterns=patterns, **kw))
    finally:
        log.removeFilter(_no_match_warning)


def _download(
    hub: HubSource,
    every: bool,
    cache_dir: str | os.PathLike[str] | None,
    local_files_only: bool,
    token: str | bool | None,
) -> dict[str, Path]:
    """Download the manifest, then the files of the chosen models, all from one commit.

    Chosen: every model in the repo, or the one the source names (``hub.letter``, else the
    only one). Returns their folders in the cache, checked against the manifest.
    """
    offline = local_files_only or is_offline()
    kw = {"cache_dir": cache_dir, "local_files_only": offline, "token": token}
    root_files = [MANIFEST_FILE, CARD_FILE, *MODEL_FILES]
    where = f"hf://{hub.repo_id}"
    with _hub_errors(hub.repo_id, hub.revision, offline):
        root = _snapshot(hub.repo_id, hub.revision, root_files, **kw)
        manifest = read_manifest(root)
        if manifest is None:
            if not (root / CONFIG_FILE).is_file() or not (root / WEIGHTS_FILE).is_file():
                listing = _listing(hub, root, offline, token)
                raise FileNotFoundError(
                    f"Expected a glyphvae repo at {where} ({MANIFEST_FILE}, or {CONFIG_FILE} and "
                    f"{WEIGHTS_FILE} at its root). Received files: {listing}. glyphvae loads "
                    "plain weights only, never .keras archives or pickles."
                )
            models = {_model_name(root) or hub.repo_id.split("/")[1]: root}
            if every:
                return models
            name = _pick(models, hub.letter, where)
            return {name: models[name]}
        entries = manifest["models"]
        models = {n: root / entries[n]["path"] for n in entries}
        chosen = sorted(models, key=_sort_key) if every else [_pick(models, hub.letter, where)]
        wanted = [
            f"{entries[n]['path']}/{f}".lstrip("/") for n in chosen for f in entries[n]["files"]
        ]
        if wanted:  # same commit as the manifest: the snapshot folder is named by its hash
            _snapshot(hub.repo_id, root.name, wanted, **kw)
    for n in chosen:
        _verify(models[n], entries[n], f"{n} in {where}", purge=True)
    return {n: models[n] for n in chosen}


def _listing(hub: HubSource, root: Path, offline: bool, token: str | bool | None) -> str:
    names: list[str] = []
    if not offline:
        from huggingface_hub import HfApi

        with contextlib.suppress(Exception):
            names = HfApi(token=token).list_repo_files(hub.repo_id, revision=root.name)
    names = names or sorted(p.name for p in root.iterdir())
    return ", ".join(names[:12]) + (", ..." if len(names) > 12 else "") if names else "none"


def _as_hub(
    source: str | os.PathLike[str], letter: str | None, revision: str | None
) -> HubSource | None:
    hub = parse_hub_source(os.fspath(source)) if isinstance(source, str) else None
    if hub is None:
        return None
    for what, given, named in (
        ("letter", letter and _canonical(letter), hub.letter and _canonical(hub.letter)),
        ("revision", revision, hub.revision),
    ):
        if given is not None and named is not None and given != named:
            raise ValueError(f"Expected one {what}. Received {given!r} and {named!r} in {source!r}")
    return HubSource(hub.repo_id, revision or hub.revision, letter or hub.letter)


def resolve_model_dir(
    source: str | os.PathLike[str],
    letter: str | None = None,
    revision: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    local_files_only: bool = False,
    token: str | bool | None = None,
) -> Path:
    """The local folder holding the files of the model a source names, downloading if needed.

    Arguments are those of :func:`from_pretrained`.

    Raises:
        FileNotFoundError: Unknown source, missing repo/revision/letter, or not cached offline.
        ValueError: Wrong letter (the message lists the repo's letters) or a corrupted file.
        OSError: The Hub refused the request or a download was truncated.
    """
    path = Path(source).expanduser()
    hub = None if path.exists() else _as_hub(source, letter, revision)
    if hub is None:
        return resolve_local(source, letter)
    models = _download(hub, False, cache_dir, local_files_only, token)
    return next(iter(models.values()))


def from_pretrained(
    source: str | os.PathLike[str],
    letter: str | None = None,
    revision: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    local_files_only: bool = False,
    token: str | bool | None = None,
    expected_class: str | None = None,
) -> Any:
    """Load a saved model from a folder, a preset or the Hugging Face Hub.

    Args:
        source: A local folder, a preset name, ``hf://org/name[@rev][/letter]`` or
            ``org/name`` (see the module docstring).
        letter: Which model of a multi-letter repo or folder (any alias: ``"ε"``).
        revision: Hub branch, tag or commit (default: the main branch).
        cache_dir: Hub cache folder (default: huggingface_hub's, under ``HF_HOME``).
        local_files_only: Use the cache only, as with ``HF_HUB_OFFLINE=1``.
        token: Hub token (default: ``HF_TOKEN`` or the saved login).
        expected_class: Reject other classes (``"GlyphVAE"`` or ``"LetterClassifier"``).

    Returns:
        The model.

    Raises:
        FileNotFoundError: If the source names no model (the message lists the accepted forms).
        ValueError: If the files are malformed, corrupted, from a newer format, or the weights
            do not match the configuration; or ``letter`` is not in the repo.
        OSError: If the Hub refused a request or a download was truncated.

    >>> import tempfile
    >>> from glyphvae.models import GlyphVAE
    >>> tiny = GlyphVAE(image_size=32, latent_dim=4, channels=(8, 16), letter="epsilon")
    >>> folder = save_pretrained(tiny, tempfile.mkdtemp() + "/epsilon")
    >>> model = from_pretrained(folder, expected_class="GlyphVAE")
    >>> model.letter, model.generate(2, seed=0).shape
    ('epsilon', (2, 32, 32, 3))
    """
    directory = resolve_model_dir(source, letter, revision, cache_dir, local_files_only, token)
    model = load_model(directory, expected_class=expected_class)
    _check_claims(model, directory, letter)
    return model


def _check_claims(model: Any, directory: Path, letter: str | None) -> None:
    """The loaded model is what was asked for and what its repo's manifest says it is.

    A manifest whose checksums match can still lie about what a folder holds (an alpha model
    filed as ``epsilon``); a user would then train on the wrong letter without noticing.
    """
    claims: dict[str, Any] = {}
    manifest = read_manifest(directory.parent)
    for name, entry in (manifest or {}).get("models", {}).items():
        if directory.parent / entry["path"] == directory:
            claims = {
                "letter": entry.get("letter"),
                "class_name": entry.get("class_name"),
                "image_size": entry.get("image_size"),
            }
            if claims["letter"] is None and _canonical(name) != "classifier":
                claims["letter"] = _canonical(name)
    if letter is not None and _canonical(letter) != "classifier":
        claims["letter"] = _canonical(letter)
    actual = {
        "letter": getattr(model, "letter", None),
        "class_name": type(model).__name__,
        "image_size": getattr(model, "image_size", None),
    }
    for key, claimed in claims.items():
        if claimed is not None and actual[key] is not None and claimed != actual[key]:
            raise ValueError(
                f"Expected the model in {directory} to be {key} {claimed!r}, as asked or as "
                f"its repo's {MANIFEST_FILE} says. Received a model with {key} {actual[key]!r}: "
                "the repo's files do not match its manifest; do not use it"
            )


def read_metadata_of(
    source: str | os.PathLike[str],
    letter: str | None = None,
    revision: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    local_files_only: bool = False,
    token: str | bool | None = None,
) -> dict[str, Any]:
    """The ``metadata.json`` of a model source (empty dict if it has none).

    Arguments are those of :func:`from_pretrained`.
    """
    return read_metadata(
        resolve_model_dir(source, letter, revision, cache_dir, local_files_only, token)
    )


def pull(
    repo_id: str,
    letter: str | None = None,
    revision: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    local_files_only: bool = False,
    token: str | bool | None = None,
) -> dict[str, Path]:
    """Download a repo's models (all, or one ``letter``) into the Hub cache and check them.

    Args:
        repo_id: ``org/name`` or ``hf://org/name[@rev][/letter]``.
        letter: Only this model (default: every model in the repo).
        revision: Branch, tag or commit.
        cache_dir: Hub cache folder (default: huggingface_hub's, under ``HF_HOME``).
        local_files_only: Check the cache only.
        token: Hub token (default: ``HF_TOKEN`` or the saved login).

    Returns:
        Model name to its folder in the cache; :func:`from_pretrained` then works offline.
    """
    hub = _as_hub(repo_id, letter, revision)
    if hub is None:
        raise ValueError(
            f"Expected a Hub repo id such as org/name or hf://org/name. Received {repo_id!r}"
        )
    return _download(hub, hub.letter is None, cache_dir, local_files_only, token)


# ------------------------------------------------------------------ saving and pushing
def save_pretrained(
    model: keras.Model,
    directory: str | os.PathLike[str],
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Save a model as plain files in ``directory`` (see :mod:`glyphvae.saving`).

    Args:
        model: A :class:`~glyphvae.models.GlyphVAE` or
            :class:`~glyphvae.classifier.LetterClassifier`.
        directory: Destination folder (created if needed).
        metadata: Extra JSON-ready information for ``metadata.json``.

    Returns:
        The folder path.

    >>> import tempfile
    >>> from glyphvae.models import GlyphVAE
    >>> tiny = GlyphVAE(image_size=32, latent_dim=4, channels=(8, 16), letter="epsilon")
    >>> folder = save_pretrained(tiny, tempfile.mkdtemp() + "/epsilon", metadata={"note": "hi"})
    >>> sorted(p.name for p in folder.iterdir())
    ['config.json', 'metadata.json', 'model.weights.h5']
    """
    return save_model(model, directory, metadata=metadata)
