"""Model sources: hub ids and ``hf://`` URIs, local folders, manifests and checksums."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glyphvae.letters import LETTER_NAMES, resolve_letter
from glyphvae.presets import PRESETS, find_preset, preset_path
from glyphvae.saving import (
    CONFIG_FILE,
    FORMAT_VERSION,
    METADATA_FILE,
    WEIGHTS_FILE,
    read_metadata,
)

if TYPE_CHECKING:
    pass


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
