"""The on-disk format of glyphvae models: plain files, checked on load.

A saved model is a folder that any tool can inspect::

    config.json        {"format_version": 1, "class_name": "GlyphVAE", "config": {...}}
    model.weights.h5   the weights (Keras HDF5), no optimizer state
    metadata.json      versions, letter, training data and attribution, metrics

Loading reads JSON and HDF5 only. It never unpickles and never deserialises layers or code
from the files: it looks the class up in a fixed table of glyphvae classes, checks that the
config holds only that class's hyperparameters, builds the model from them, and checks every
weight array's name and shape before loading.
"""

from __future__ import annotations

import inspect
import io
import json
import os
import platform
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glyphvae.files import atomic_path, atomic_write_json

if TYPE_CHECKING:
    import keras

__all__ = [
    "CONFIG_FILE",
    "FORMAT_VERSION",
    "METADATA_FILE",
    "MODEL_CLASSES",
    "WEIGHTS_FILE",
    "load_model",
    "read_metadata",
    "save_model",
]

FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
METADATA_FILE = "metadata.json"

# The only classes a saved model may name: class name -> "module:attribute".
MODEL_CLASSES: dict[str, str] = {
    "GlyphVAE": "glyphvae.models.glyph_vae:GlyphVAE",
    "LetterClassifier": "glyphvae.classifier:LetterClassifier",
}


def _model_class(name: object, where: Path) -> type[keras.Model]:
    import importlib

    if not isinstance(name, str) or name not in MODEL_CLASSES:
        raise ValueError(
            f"Expected class_name in {sorted(MODEL_CLASSES)} in {where}. Received {name!r}"
        )
    module, attr = MODEL_CLASSES[name].split(":")
    cls: type[keras.Model] = getattr(importlib.import_module(module), attr)
    return cls


def _config_keys(cls: type) -> set[str]:
    """Hyperparameters a saved config may carry: the class's named ``__init__`` arguments."""
    params = inspect.signature(cls).parameters.values()
    named = {p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD}
    return named | {"name"}


def _versions() -> dict[str, str]:
    import keras

    from glyphvae import __version__

    return {
        "glyphvae": __version__,
        "keras": keras.__version__,
        "python": platform.python_version(),
    }


def save_model(
    model: keras.Model,
    directory: str | os.PathLike[str],
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Save a model as plain files in ``directory`` (created if needed).

    Writes ``config.json`` (format version and hyperparameters), ``model.weights.h5`` and
    ``metadata.json`` (versions, class, image size, and whatever ``metadata`` adds, e.g.
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
    class_name = type(model).__name__
    cls = _model_class(class_name, out)
    config = {k: v for k, v in model.get_config().items() if k in _config_keys(cls)}
    # A fresh float32 copy holds the model's weights only: no optimizer state, no dtype policy.
    clean = cls(**config)
    clean.set_weights(model.get_weights())
    with atomic_path(out / WEIGHTS_FILE) as tmp:
        clean.save_weights(tmp)
    atomic_write_json(
        out / CONFIG_FILE,
        {"format_version": FORMAT_VERSION, "class_name": class_name, "config": config},
    )
    meta = {
        "class_name": class_name,
        "letter": getattr(model, "letter", None),
        "image_size": getattr(model, "image_size", None),
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


def _weights_in_memory(model: keras.Model) -> io.BytesIO:
    """The ``.weights.h5`` file ``model`` would write, in memory: loading needs no disk.

    Uses Keras' own weights writer on an in-memory file; should its internals move, the file
    goes to a temporary folder instead.
    """
    try:
        from keras.src.saving.saving_lib import H5IOStore, _save_state

        buffer = io.BytesIO()
        store = H5IOStore(buffer, mode="w")
        _save_state(
            model, weights_store=store, assets_store=None, inner_path="", visited_saveables=set()
        )
        store.close()
        buffer.seek(0)
        return buffer
    except (ImportError, AttributeError, TypeError):  # pragma: no cover - other Keras
        with tempfile.TemporaryDirectory(prefix="glyphvae-weights-") as folder:
            model.save_weights(Path(folder) / WEIGHTS_FILE)
            return io.BytesIO((Path(folder) / WEIGHTS_FILE).read_bytes())


def _weight_shapes(path: Path | io.BytesIO) -> dict[str, tuple[int, ...]]:
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


def _check_weights(model: keras.Model, weights_path: Path, config_path: Path) -> None:
    """Compare the file's arrays with those the configured model expects, name by name.

    Keras skips some mismatches with only a warning (leaving random weights); this check
    turns any difference into an error that says what differs.
    """
    try:
        found = _weight_shapes(weights_path)
    except OSError as e:
        raise ValueError(
            f"Expected {weights_path} to be a Keras weights file (HDF5). It cannot be read: {e}"
        ) from e
    expected = _weight_shapes(_weights_in_memory(model))
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


def load_model(directory: str | os.PathLike[str], expected_class: str | None = None) -> keras.Model:
    """Load a model folder written by :func:`save_model`.

    Args:
        directory: The folder.
        expected_class: If given (``"GlyphVAE"``, ``"LetterClassifier"``), a folder holding
            another class is rejected.

    Returns:
        The model with its weights.

    Raises:
        FileNotFoundError: If ``config.json`` or ``model.weights.h5`` is missing.
        ValueError: If the files are malformed, from a newer format version, name an
            unknown class or hyperparameter, or hold weights that do not match the config.
    """
    directory = Path(directory)
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
    class_name = doc.get("class_name")
    cls = _model_class(class_name, config_path)
    if expected_class is not None and class_name != expected_class:
        raise ValueError(
            f"Expected a saved {expected_class} in {directory}. Received a {class_name}"
        )
    config = doc["config"]
    unknown = sorted(set(config) - _config_keys(cls)) if isinstance(config, dict) else None
    if not isinstance(config, dict) or unknown:
        raise ValueError(
            f"Expected only {class_name} hyperparameters in {config_path}. "
            f"Received unknown keys: {unknown}"
        )
    try:
        model = cls(**config)
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
