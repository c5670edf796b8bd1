"""Pretrained models shipped inside the package: ``from_pretrained("epsilon")`` works offline.

The weights live in ``glyphvae/weights/<name>/`` as plain model folders (see
:mod:`glyphvae.saving`), each with the evaluation report it was shipped with. They were
trained on the Hell-Char crops (CC BY 4.0; the attribution is in each ``metadata.json``) by
``benchmarks/train_presets.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from glyphvae.letters import resolve_letter

__all__ = ["PRESETS", "Preset", "find_preset", "preset_path"]


@dataclass(frozen=True)
class Preset:
    """A shipped model: its name, class and description."""

    name: str
    class_name: str
    description: str


PRESETS: dict[str, Preset] = {
    "epsilon": Preset(
        "epsilon", "GlyphVAE", "Epsilon VAE, 64 px, trained on Hell-Char (held-out papyri kept out)"
    ),
    "alpha": Preset(
        "alpha", "GlyphVAE", "Alpha VAE, 64 px, trained on Hell-Char (held-out papyri kept out)"
    ),
    "classifier": Preset(
        "classifier",
        "LetterClassifier",
        "24-letter classifier, 32 px, the judge used by `glyphvae evaluate`",
    ),
}
"""Shipped models by name."""


def find_preset(source: str) -> Preset | None:
    """Return the preset named by ``source`` (a preset name or any letter alias), else ``None``.

    >>> find_preset("ε").name
    'epsilon'
    >>> find_preset("runs/epsilon") is None
    True
    """
    if source in PRESETS:
        return PRESETS[source]
    try:
        name = resolve_letter(source)
    except (ValueError, TypeError):
        return None
    return PRESETS.get(name)


def preset_path(preset: Preset) -> Path:
    """The folder holding a preset's files inside the installed package.

    Raises:
        FileNotFoundError: If the package was installed without the weights.
    """
    path = Path(str(resources.files("glyphvae") / "weights" / preset.name))
    if not (path / "config.json").is_file():
        raise FileNotFoundError(
            f"Expected the shipped weights of preset {preset.name!r} in {path}. Received a "
            "package without them; reinstall glyphvae or train your own with `glyphvae fit`."
        )
    return path


def preset_report(preset: Preset) -> dict[str, Any]:
    """The evaluation report shipped with a preset (empty if there is none)."""
    path = preset_path(preset) / "report.json"
    return dict(json.loads(path.read_text(encoding="utf-8"))) if path.is_file() else {}
