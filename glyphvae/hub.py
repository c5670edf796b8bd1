"""Loading, saving and sharing models: :func:`from_pretrained`, :func:`save_pretrained`,
:func:`push_to_hub` and :func:`pull`.

**Sources.** :func:`from_pretrained` (and every ``--model`` option of the CLI) accepts, tried
in this order:

* a local folder: one saved model (``config.json``, ``model.weights.h5``, ...), a folder of
  letter folders (``runs/epsilon``, ``runs/alpha``), or a downloaded repo with a manifest;
* a preset name shipped in the package (``"epsilon"``, ``"alpha"``, ``"classifier"``, or a
  letter alias such as ``"ε"``), see :mod:`glyphvae.presets`;
* a Hugging Face Hub repo: ``hf://org/name`` or ``org/name``, optionally pinned with
  ``@revision``; with ``hf://`` a trailing letter picks one model: ``hf://org/name@v1/epsilon``.

**Hub repo format.** One repo holds one model or a whole alphabet::

    glyphvae.json             manifest (below)
    README.md                 model card, generated unless you wrote your own
    epsilon/config.json       one folder per letter: the plain files of glyphvae.saving
    epsilon/model.weights.h5
    epsilon/metadata.json
    epsilon/samples.png       optional sample grid, shown in the card
    alpha/...

``glyphvae.json``::

    {"format": "glyphvae", "manifest_version": 1,
     "letters": ["alpha", "epsilon"], "image_size": 64, "versions": {"glyphvae": "0.1.0"},
     "models": {"epsilon": {"path": "epsilon", "class_name": "GlyphVAE", "letter": "epsilon",
                            "image_size": 64, "format_version": 1, "versions": {...},
                            "files": {"config.json": {"sha256": "…", "size": 1234}, ...}}}}

Models are keyed by letter (the judge classifier by ``"classifier"``); ``letters`` lists the
letters in alphabet order and ``image_size`` is theirs when they share one. A repo without a
manifest but with ``config.json`` and ``model.weights.h5`` at its root is one model.

**Pushing.** :func:`push_to_hub` uploads from a temporary folder in one commit, each letter
into its own folder, so pushing letters one at a time builds an alphabet. A card without the
marker of :mod:`glyphvae.model_card` is hand-written and never replaced. Local paths are
dropped from the uploaded ``metadata.json``.

**Safety.** Only the files named above are downloaded (never ``.keras`` archives, pickles or
code). Each is checked against the manifest's size and sha256; a mismatch removes it from the
cache and raises. Loading then applies the strict checks of :mod:`glyphvae.saving`.

**Environment.** ``HF_TOKEN``, ``HF_HOME``/``HF_HUB_CACHE`` and ``HF_ENDPOINT`` are used as
huggingface_hub defines them; with ``HF_HUB_OFFLINE=1`` or ``GLYPHVAE_OFFLINE=1`` nothing is
downloaded and a repo fetched once before loads from the cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glyphvae.datasets import env_offline
from glyphvae.files import atomic_write_json, atomic_write_text
from glyphvae.letters import LETTER_NAMES, resolve_letter
from glyphvae.presets import PRESETS, find_preset, preset_path
from glyphvae.saving import (
    CONFIG_FILE,
    FORMAT_VERSION,
    METADATA_FILE,
    WEIGHTS_FILE,
    load_model,
    read_metadata,
    save_model,
)

if TYPE_CHECKING:
    import keras
    from huggingface_hub import CommitInfo

__all__ = [
    "CARD_FILE",
    "MANIFEST_FILE",
    "MODEL_FILES",
    "HubSource",
    "from_pretrained",
    "is_offline",
    "parse_hub_source",
    "pull",
    "push_to_hub",
    "read_manifest",
    "read_metadata_of",
    "resolve_local",
    "resolve_model_dir",
    "save_pretrained",
]

MANIFEST_FILE = "glyphvae.json"
MANIFEST_VERSION = 1
CARD_FILE = "README.md"
SAMPLES_FILE = "samples.png"
MODEL_FILES = (CONFIG_FILE, WEIGHTS_FILE, METADATA_FILE, SAMPLES_FILE)
"""The files of one model that are pushed and pulled; nothing else is ever transferred."""
CLASSIFIER = "classifier"

_HF_URI = re.compile(r"hf://(?P<repo>[\w.-]+/[\w.-]+)(?:@(?P<rev>[\w.-]+))?(?:/(?P<sub>[^/]+))?/?")
_REPO_ID = re.compile(r"(?P<repo>[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*)(?:@(?P<rev>[\w.-]+))?")
_FORMS = "a model folder, a preset name ({presets}), or a Hub repo (hf://org/name or org/name)"


@dataclass(frozen=True)
class HubSource:
    """A Hub repo named by a source string: repo id, optional revision and letter."""

    repo_id: str
    revision: str | None = None
    letter: str | None = None


def parse_hub_source(source: str) -> HubSource | None:
    """Read ``hf://org/name[@rev][/letter]`` or ``org/name[@rev]``; ``None`` for anything else.

    >>> parse_hub_source("hf://org/glyphs@v1/epsilon")
    HubSource(repo_id='org/glyphs', revision='v1', letter='epsilon')
    >>> parse_hub_source("org/glyphs")
    HubSource(repo_id='org/glyphs', revision=None, letter=None)
    >>> parse_hub_source("./runs/epsilon") is None
    True
    """
    match = _HF_URI.fullmatch(source) or _REPO_ID.fullmatch(source)
    if match is None:
        return None
    sub = match.groupdict().get("sub")
    return HubSource(match["repo"], match["rev"], sub)


# ------------------------------------------------------------------ local folders
def _sort_key(name: str) -> tuple[int, str]:
    return (LETTER_NAMES.index(name), name) if name in LETTER_NAMES else (len(LETTER_NAMES), name)


def _canonical(name: str) -> str:
    """A letter alias as its canonical name; other names unchanged (``"classifier"``)."""
    try:
        return resolve_letter(name)
    except (ValueError, TypeError):
        return name.strip().lower()


def _model_name(directory: Path) -> str | None:
    """The name of a saved model: its letter, ``"classifier"``, or ``None`` if unknown."""
    try:
        doc = json.loads((directory / CONFIG_FILE).read_text(encoding="utf-8"))
        meta = read_metadata(directory)
    except (OSError, ValueError):
        return None
    config = doc.get("config") if isinstance(doc, dict) else None
    letter = meta.get("letter") or (config.get("letter") if isinstance(config, dict) else None)
    if isinstance(letter, str) and letter:
        return _canonical(letter)
    if isinstance(doc, dict) and doc.get("class_name") == "LetterClassifier":
        return CLASSIFIER
    return None


def read_manifest(directory: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The ``glyphvae.json`` of a repo folder, validated; ``None`` if there is none.

    Raises:
        ValueError: If the manifest is malformed, from a newer glyphvae, or names unsafe paths.
    """
    path = Path(directory) / MANIFEST_FILE
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"Expected valid JSON in {path}. Received: {e}") from e
    models = doc.get("models") if isinstance(doc, dict) else None
    if not isinstance(models, dict):
        raise ValueError(
            f"Expected a 'models' mapping in {path}. Received: {type(models).__name__}"
        )
    version = doc.get("manifest_version")
    if not isinstance(version, int) or version > MANIFEST_VERSION:
        raise ValueError(
            f"Expected a manifest version <= {MANIFEST_VERSION} in {path}. Received {version!r}; "
            "upgrade glyphvae to load this repo."
        )
    for name, entry in models.items():
        rel = entry.get("path") if isinstance(entry, dict) else None
        files = entry.get("files") if isinstance(entry, dict) else None
        names = [rel or "", *(files or {})]
        if (
            not isinstance(rel, str)
            or not isinstance(files, dict)
            or any(n in (".", "..") or "/" in n or "\\" in n for n in names)
        ):
            raise ValueError(
                f"Expected model {name!r} in {path} to have a folder name 'path' and a 'files' "
                f"mapping of plain file names. Received: {entry!r}"
            )
        fmt = entry.get("format_version", FORMAT_VERSION)
        if not isinstance(fmt, int) or fmt > FORMAT_VERSION:
            raise ValueError(
                f"Expected models saved with format version <= {FORMAT_VERSION}. Received "
                f"{fmt!r} for {name!r} in {path}; upgrade glyphvae to load it."
            )
    return dict(doc)


def _local_models(directory: Path) -> tuple[dict[str, Path], dict[str, Any] | None]:
    """The models in a folder by name, and its manifest (``None`` without one)."""
    manifest = read_manifest(directory)
    if manifest is not None:
        models = manifest["models"]
        return {name: directory / models[name]["path"] for name in models}, manifest
    if (directory / CONFIG_FILE).is_file():
        return {_model_name(directory) or directory.name: directory}, None
    found: dict[str, Path] = {}
    for sub in sorted(p for p in directory.iterdir() if (p / CONFIG_FILE).is_file()):
        found[_model_name(sub) or _canonical(sub.name)] = sub
    return dict(sorted(found.items(), key=lambda kv: _sort_key(kv[0]))), None


def _pick(models: Mapping[str, Path], letter: str | None, where: str) -> str:
    names = sorted(models, key=_sort_key)
    if letter is None:
        if len(names) == 1:
            return names[0]
        raise ValueError(
            f"Expected a letter to choose one of the models in {where}: {', '.join(names)} "
            f"(letter=..., or the source {where.rstrip('/')}/<letter>). Received none"
        )
    key = _canonical(letter)
    if key in models:
        return key
    if len(names) == 1 and not any(n in LETTER_NAMES or n == CLASSIFIER for n in names):
        return names[0]  # a single model that does not record its letter
    raise ValueError(
        f"Expected one of the letters in {where}: {', '.join(names)}. Received {letter!r}"
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verify(directory: Path, entry: Mapping[str, Any], where: str, purge: bool) -> None:
    """Check every file of a manifest entry; a bad download is removed from the cache."""
    for name, info in entry["files"].items():
        path = directory / name
        if not path.is_file():
            raise FileNotFoundError(f"Expected {name} of {where} in {directory}. Received: missing")
        size, digest = path.stat().st_size, _sha256(path)
        if size == info.get("size", size) and digest == info.get("sha256", digest):
            continue
        if purge:
            blob = path.resolve()
            path.unlink()
            with contextlib.suppress(FileNotFoundError):
                blob.unlink()
        raise ValueError(
            f"Expected {name} of {where} to match {MANIFEST_FILE} ({info.get('size')} bytes, "
            f"sha256 {str(info.get('sha256'))[:12]}…). Received {size} bytes, sha256 "
            f"{digest[:12]}…: the file is corrupted or truncated"
            + ("; it was removed from the cache, run again to download it anew." if purge else ".")
        )


def resolve_local(source: str | os.PathLike[str], letter: str | None = None) -> Path:
    """The local folder of a model: a model folder, a letter of a multi-model folder, or a preset.

    Raises:
        FileNotFoundError: If the source is neither; the message lists the accepted forms.
        ValueError: If ``letter`` is not among the folder's models, or a file fails its checksum.
    """
    path = Path(source).expanduser()
    if path.is_dir():
        models, manifest = _local_models(path)
        if not models:
            return path  # load_model() says which files are missing
        name = _pick(models, letter, str(path))
        if manifest is not None:
            _verify(models[name], manifest["models"][name], f"{name} in {path}", purge=False)
        return models[name]
    preset = find_preset(str(source))
    if preset is not None:
        folder = preset_path(preset)
        if letter is not None:
            _pick({preset.name: folder}, letter, f"preset {preset.name!r}")
        return folder
    forms = _FORMS.format(presets=", ".join(sorted(PRESETS)))
    if path.is_file():
        raise FileNotFoundError(
            f"Expected {forms}. Received the file {str(source)!r}: glyphvae loads folders of plain "
            "files only, never .keras archives or pickles (they can carry code)."
        )
    raise FileNotFoundError(f"Expected {forms}. Received: {str(source)!r}")


# ------------------------------------------------------------------ the Hub
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
    """
    directory = resolve_model_dir(source, letter, revision, cache_dir, local_files_only, token)
    return load_model(directory, expected_class=expected_class)


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
    """
    return save_model(model, directory, metadata=metadata)


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
