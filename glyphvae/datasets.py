"""Known glyph datasets: where the data comes from, its licence, and the attribution it needs.

Anything derived from a CC BY dataset (trained weights, sample grids, docs) must credit it.
:func:`describe_data` recognises a dataset folder and returns its attribution, which
``glyphvae fit`` stores in the model's ``metadata.json``.

The data location used when no ``--data`` is given is :func:`resolve_data_dir`:
``$GLYPHVAE_DATA`` if set, else an error that says how to point at a dataset.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["DATA_ENV_VAR", "HELLCHAR", "DatasetInfo", "describe_data", "resolve_data_dir"]

DATA_ENV_VAR = "GLYPHVAE_DATA"


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset's identity, licence and required attribution."""

    name: str
    license: str
    url: str
    attribution: str

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form, as stored in ``metadata.json``."""
        return asdict(self)


HELLCHAR = DatasetInfo(
    name="Hell-Char",
    license="CC-BY-4.0",
    url="https://github.com/ipavlopoulos/diachronic-greek-letterforms",
    attribution=(
        'Glyph crops from the Hell-Char dataset of J. Pavlopoulos et al., "Learning Diachronic '
        'Representations of Ancient Greek Letterforms", ICDAR 2026 '
        "(github.com/ipavlopoulos/diachronic-greek-letterforms), a curated subset of Hell-Date "
        "(L. Ferretti et al., 2025, Zenodo record 15083589) built from the source papyri cited "
        "there; licensed CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/). Changes: a "
        "subset of papyri, regrouped by letter, metadata columns trimmed; glyphvae trained "
        "generative models on the crops."
    ),
)


def describe_data(root: str | os.PathLike[str]) -> dict[str, Any]:
    """Describe a dataset folder for ``metadata.json``: its path and, if known, its licence.

    A folder is recognised as Hell-Char when it is named ``hellchar`` or its
    ``LICENSE.txt``/``README.md`` mentions the Hell-Char paper.

    >>> describe_data("/nonexistent/mycrops")["name"]
    'mycrops'
    """
    path = Path(root).expanduser()
    info: dict[str, Any] = {"name": path.name, "path": str(path)}
    texts = []
    for fname in ("LICENSE.txt", "LICENSE", "README.md"):
        f = path / fname
        if f.is_file():
            texts.append(f.read_text(encoding="utf-8", errors="replace")[:4000])
    if path.name.lower() == "hellchar" or any(
        "diachronic-greek-letterforms" in t or "Hell-Char" in t for t in texts
    ):
        info.update(HELLCHAR.to_dict())
    return info


def resolve_data_dir(data: str | os.PathLike[str] | None = None) -> Path:
    """Return the dataset folder to train on: ``data`` if given, else ``$GLYPHVAE_DATA``.

    Raises:
        FileNotFoundError: If neither is set, or the folder does not exist; the message
            says how to point glyphvae at a dataset.
    """
    how = (
        "Pass --data DIR (Python: data=...) or set the environment variable "
        f"{DATA_ENV_VAR}=DIR, where DIR holds one folder of crops per letter "
        "(<DIR>/epsilon/*.jpg, ...), e.g. a copy of the Hell-Char crops."
    )
    if data is None:
        env = os.environ.get(DATA_ENV_VAR, "").strip()
        if not env:
            raise FileNotFoundError(f"No dataset given. {how}")
        data, source = env, f"${DATA_ENV_VAR}"
    else:
        source = "data"
    path = Path(data).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(f"Dataset folder from {source} does not exist: {path}. {how}")
    return path
