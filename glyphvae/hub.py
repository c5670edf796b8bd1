"""Loading and saving models by name: :func:`from_pretrained` and :func:`save_pretrained`.

Sources accepted by :func:`from_pretrained`, tried in this order:

* a local folder written by :func:`save_pretrained` (or by ``glyphvae fit``);
* a preset name shipped in the package (``"epsilon"``, ``"alpha"``, ``"classifier"``, or a
  letter alias such as ``"ε"``), see :mod:`glyphvae.presets`.

The files themselves (and the safety checks on loading) are defined in
:mod:`glyphvae.saving`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glyphvae.presets import PRESETS, find_preset, preset_path
from glyphvae.saving import CONFIG_FILE, WEIGHTS_FILE, load_model, read_metadata, save_model

if TYPE_CHECKING:
    import keras

__all__ = ["from_pretrained", "read_metadata_of", "resolve_local", "save_pretrained"]


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


def from_pretrained(source: str | os.PathLike[str], expected_class: str | None = None) -> Any:
    """Load a saved model.

    Args:
        source: A local model folder or a preset name (see the module docstring).
        expected_class: Reject other classes (``"GlyphVAE"`` or ``"LetterClassifier"``).

    Returns:
        The model.

    Raises:
        FileNotFoundError: If the source is not a saved model folder.
        ValueError: If the files are malformed, from a newer format, or the weights do not
            match the configuration.
    """
    return load_model(resolve_local(source), expected_class=expected_class)


def resolve_local(source: str | os.PathLike[str]) -> Path:
    """The local folder a source names: the folder itself, or a preset's folder.

    Raises:
        FileNotFoundError: If the source is neither; the message lists the accepted forms.
    """
    path = Path(source).expanduser()
    if path.is_dir():
        return path
    preset = find_preset(str(source))
    if preset is not None:
        return preset_path(preset)
    raise FileNotFoundError(
        f"Expected a folder with a saved glyphvae model ({CONFIG_FILE}, {WEIGHTS_FILE}) or a "
        f"preset name ({', '.join(sorted(PRESETS))}). Received: {str(source)!r}"
    )


def read_metadata_of(source: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``metadata.json`` of a model source (empty dict if it has none)."""
    return read_metadata(resolve_local(source))
