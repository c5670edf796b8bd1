"""Loading and saving models by name: :func:`from_pretrained` and :func:`save_pretrained`.

Sources accepted by :func:`from_pretrained`:

* a local folder written by :func:`save_pretrained` (or by ``glyphvae fit``).

The files themselves (and the safety checks on loading) are defined in
:mod:`glyphvae.saving`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glyphvae.saving import CONFIG_FILE, WEIGHTS_FILE, load_model, save_model

if TYPE_CHECKING:
    import keras

__all__ = ["from_pretrained", "save_pretrained"]


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
        source: A local folder holding ``config.json`` and ``model.weights.h5``.
        expected_class: Reject other classes (``"GlyphVAE"`` or ``"LetterClassifier"``).

    Returns:
        The model.

    Raises:
        FileNotFoundError: If the source is not a saved model folder.
        ValueError: If the files are malformed, from a newer format, or the weights do not
            match the configuration.
    """
    path = Path(source).expanduser()
    if path.is_dir():
        return load_model(path, expected_class=expected_class)
    raise FileNotFoundError(
        f"Expected a folder with a saved glyphvae model ({CONFIG_FILE}, {WEIGHTS_FILE}). "
        f"Received: {str(source)!r}"
    )
