"""Saving and loading models as plain files: config, weights and metadata.

A saved model is a folder that any tool can inspect. Loading reads JSON and HDF5 weights
only: it never unpickles and never deserialises layers or code from the files, it builds a
:class:`~glyphvae.models.GlyphVAE` from the hyperparameters in ``config.json`` after checking
them.
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glyphvae.files import atomic_path, atomic_write_json

if TYPE_CHECKING:
    from glyphvae.models import GlyphVAE

__all__ = [
    "CONFIG_FILE",
    "FORMAT_VERSION",
    "METADATA_FILE",
    "WEIGHTS_FILE",
    "from_pretrained",
    "read_metadata",
    "save_pretrained",
]

FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
METADATA_FILE = "metadata.json"

# Hyperparameters a saved config may carry; anything else is rejected, never passed on.
_CONFIG_KEYS = {
    "image_size",
    "latent_dim",
    "channels",
    "res_blocks",
    "kl_weight",
    "kl_warmup_steps",
    "free_bits",
    "decoder_sigma",
    "sigma",
    "min_sigma",
    "mean_color",
    "letter",
    "seed",
    "name",
}


def _versions() -> dict[str, str]:
    import keras

    from glyphvae import __version__

    return {
        "glyphvae": __version__,
        "keras": keras.__version__,
        "python": platform.python_version(),
    }


def save_pretrained(
    model: GlyphVAE,
    directory: str | os.PathLike[str],
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Save a model as plain files in ``directory`` (created if needed).

    Writes ``config.json`` (format version and hyperparameters), ``model.weights.h5`` and
    ``metadata.json`` (versions, letter, image size, and whatever ``metadata`` adds, e.g.
    training data and metrics). Each file is written atomically.

    Args:
        model: The model to save.
        directory: Destination folder.
        metadata: Extra JSON-ready information stored in ``metadata.json``.

    Returns:
        The folder path.
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    from glyphvae.models import GlyphVAE

    config = {k: v for k, v in model.get_config().items() if k in _CONFIG_KEYS}
    # A fresh float32 copy holds the model's weights only: no optimizer state, no dtype policy.
    clean = GlyphVAE(**config)
    clean.set_weights(model.get_weights())
    with atomic_path(out / WEIGHTS_FILE) as tmp:
        clean.save_weights(tmp)
    atomic_write_json(
        out / CONFIG_FILE,
        {"format_version": FORMAT_VERSION, "class_name": "GlyphVAE", "config": config},
    )
    meta = {
        "letter": model.letter,
        "image_size": model.image_size,
        "latent_dim": model.latent_dim,
        "parameters": int(model.count_params()),
        "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": _versions(),
        **(dict(metadata) if metadata else {}),
    }
    atomic_write_json(out / METADATA_FILE, meta)
    return out


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"Expected valid JSON in {path}. Received: {e}") from e


def read_metadata(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """Return ``metadata.json`` of a saved model as a dict (empty if the file is absent)."""
    path = Path(directory) / METADATA_FILE
    return dict(_read_json(path)) if path.is_file() else {}


def _weight_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """Map every array in a Keras ``.weights.h5`` file to its shape (reads metadata only)."""
    import h5py

    shapes: dict[str, tuple[int, ...]] = {}
    with h5py.File(path, "r") as f:
        f.visititems(
            lambda name, obj: (
                shapes.__setitem__(name, tuple(obj.shape))
                if isinstance(obj, h5py.Dataset)
                else None
            )
        )
    return shapes


def _check_weights(model: GlyphVAE, weights_path: Path, config_path: Path) -> None:
    """Compare the file's arrays with those the configured model expects, name by name.

    Keras skips some mismatches with only a warning (leaving random weights); this check
    turns any difference into an error that says what differs.
    """
    import tempfile

    try:
        found = _weight_shapes(weights_path)
    except OSError as e:
        raise ValueError(
            f"Expected {weights_path} to be a Keras weights file (HDF5). It cannot be read: {e}"
        ) from e
    with tempfile.TemporaryDirectory() as tmp:
        reference = Path(tmp) / WEIGHTS_FILE
        model.save_weights(reference)
        expected = _weight_shapes(reference)
    if found == expected:
        return
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    wrong = sorted(k for k in set(found) & set(expected) if found[k] != expected[k])
    details = []
    if wrong:
        k = wrong[0]
        details.append(
            f"{len(wrong)} with other shapes (e.g. {k}: {found[k]}, expected {expected[k]})"
        )
    if missing:
        details.append(f"{len(missing)} missing (e.g. {missing[0]})")
    if extra:
        details.append(f"{len(extra)} unexpected (e.g. {extra[0]})")
    raise ValueError(
        f"Expected {weights_path} to hold weights matching {config_path}. Arrays: "
        + "; ".join(details)
    )


def _load_local(directory: Path) -> GlyphVAE:
    from glyphvae.models import GlyphVAE

    config_path, weights_path = directory / CONFIG_FILE, directory / WEIGHTS_FILE
    missing = [p.name for p in (config_path, weights_path) if not p.is_file()]
    if missing:
        raise FileNotFoundError(
            f"Expected a saved glyphvae model in {directory} ({CONFIG_FILE} and {WEIGHTS_FILE}). "
            f"Missing: {', '.join(missing)}"
        )
    doc = _read_json(config_path)
    if not isinstance(doc, dict) or "config" not in doc or "format_version" not in doc:
        raise ValueError(
            f"Expected {config_path} to hold 'format_version' and 'config'. "
            f"Received keys: {sorted(doc) if isinstance(doc, dict) else type(doc).__name__}"
        )
    version = doc["format_version"]
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(
            f"Expected a model saved with format version <= {FORMAT_VERSION}. Received version "
            f"{version!r} in {config_path}; upgrade glyphvae to load it."
        )
    if doc.get("class_name", "GlyphVAE") != "GlyphVAE":
        raise ValueError(
            f"Expected class_name 'GlyphVAE' in {config_path}. Received {doc['class_name']!r}"
        )
    config = doc["config"]
    unknown = sorted(set(config) - _CONFIG_KEYS) if isinstance(config, dict) else None
    if not isinstance(config, dict) or unknown:
        raise ValueError(
            f"Expected only GlyphVAE hyperparameters in {config_path}. "
            f"Received unknown keys: {unknown}"
        )
    try:
        model = GlyphVAE(**config)
    except (TypeError, ValueError) as e:
        raise ValueError(f"Invalid model configuration in {config_path}: {e}") from e
    _check_weights(model, weights_path, config_path)
    try:
        model.load_weights(weights_path)
    except Exception as e:  # h5py/keras raise many types for a bad file
        raise ValueError(
            f"Expected {weights_path} to hold weights matching {config_path}. "
            f"Loading failed: {type(e).__name__}: {e}"
        ) from e
    return model


def from_pretrained(source: str | os.PathLike[str]) -> GlyphVAE:
    """Load a model saved with :func:`save_pretrained`.

    Args:
        source: A local folder holding ``config.json`` and ``model.weights.h5``.

    Returns:
        The model, ready for :meth:`~glyphvae.models.GlyphVAE.generate`.

    Raises:
        FileNotFoundError: If the source is not a saved model folder.
        ValueError: If the files are malformed, from a newer format, or the weights do not
            match the configuration.
    """
    path = Path(source).expanduser()
    if path.is_dir():
        return _load_local(path)
    raise FileNotFoundError(
        f"Expected a folder with a saved glyphvae model ({CONFIG_FILE}, {WEIGHTS_FILE}). "
        f"Received: {str(source)!r}"
    )
