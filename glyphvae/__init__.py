"""glyphvae: per-letter VAEs that synthesise ancient Greek glyphs for OCR training sets.

The public API is re-exported here. Heavy dependencies (TensorFlow, Keras) load on first
use of a model-related name, so ``import glyphvae`` and ``glyphvae --help`` stay fast.

>>> import glyphvae
>>> glyphvae.resolve_letter("ε")
'epsilon'
>>> from importlib.metadata import version
>>> glyphvae.__version__ == version("glyphvae")  # the installed distribution's version
True
"""

from __future__ import annotations

import os
from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

# albumentations 2.0 checks PyPI for updates at import time; glyphvae never wants that.
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

try:
    __version__ = version("glyphvae")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+unknown"

from glyphvae.data.dataset import GlyphSet, load_glyphs
from glyphvae.data.io import read_image, write_image
from glyphvae.datasets import describe_data, resolve_data_dir
from glyphvae.letters import LETTER_NAMES, LETTERS, resolve_letter

if TYPE_CHECKING:
    from glyphvae.augment import GlyphSynthesizer
    from glyphvae.bank import GlyphBank
    from glyphvae.classifier import LetterClassifier
    from glyphvae.hub import from_pretrained, save_pretrained
    from glyphvae.models import GlyphVAE
    from glyphvae.train_config import TrainConfig
    from glyphvae.training import FitResult, NonFiniteLossError, fit_letter

# name -> module, imported on first access (they import keras/tensorflow)
_LAZY = {
    "GlyphBank": "glyphvae.bank",
    "GlyphSynthesizer": "glyphvae.augment",
    "GlyphVAE": "glyphvae.models",
    "LetterClassifier": "glyphvae.classifier",
    "FitResult": "glyphvae.training",
    "NonFiniteLossError": "glyphvae.training",
    "TrainConfig": "glyphvae.train_config",
    "fit_letter": "glyphvae.training",
    "from_pretrained": "glyphvae.hub",
    "save_pretrained": "glyphvae.hub",
}

__all__ = [
    "LETTERS",
    "LETTER_NAMES",
    "FitResult",
    "GlyphBank",
    "GlyphSet",
    "GlyphSynthesizer",
    "GlyphVAE",
    "LetterClassifier",
    "NonFiniteLossError",
    "TrainConfig",
    "__version__",
    "describe_data",
    "fit_letter",
    "from_pretrained",
    "load_glyphs",
    "read_image",
    "resolve_data_dir",
    "resolve_letter",
    "save_pretrained",
    "write_image",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'glyphvae' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
