"""Test helpers: glyph-like crops drawn with OpenCV, written without glyphvae's own writer.

The crops are written with ``cv2.imwrite`` after an explicit RGB -> BGR flip here, so the
tests check glyphvae's reader against an independent writer.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import cv2
import numpy as np

PAPER = (0.80, 0.62, 0.38)  # a papyrus-like RGB colour: red > green > blue
INK = (0.15, 0.10, 0.08)


def draw_glyph(
    rng: np.random.Generator,
    height: int = 48,
    width: int = 40,
    paper: tuple[float, float, float] = PAPER,
    ink: tuple[float, float, float] = INK,
    noise: float = 0.03,
) -> np.ndarray:
    """An RGB float image: an epsilon-like stroke (arc + bar) in ink on noisy paper."""
    img = np.empty((height, width, 3), np.float32)
    img[...] = paper
    img += rng.normal(0.0, noise, img.shape).astype(np.float32)
    cx, cy = width / 2 + rng.uniform(-3, 3), height / 2 + rng.uniform(-3, 3)
    r = min(height, width) * rng.uniform(0.28, 0.38)
    thick = max(2, int(min(height, width) / 10))
    center = (int(cx), int(cy))
    axes = (int(r), int(r * rng.uniform(1.0, 1.3)))
    cv2.ellipse(img, center, axes, 0, 40, 320, ink, thick, cv2.LINE_AA)
    cv2.line(img, (int(cx - r), int(cy)), (int(cx + r * 0.6), int(cy)), ink, thick, cv2.LINE_AA)
    return np.clip(img, 0.0, 1.0)


def write_rgb(path: Path, rgb: np.ndarray) -> Path:
    """Write an RGB float image with OpenCV (flipping to BGR here, independently)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    bgr = (np.clip(rgb, 0, 1)[:, :, ::-1] * 255 + 0.5).astype(np.uint8)
    if not cv2.imwrite(str(path), bgr):
        raise OSError(f"could not write {path}")
    return path


def make_crop_tree(
    root: Path,
    letters: tuple[str, ...] = ("epsilon",),
    per_letter: int = 12,
    papyri: int = 4,
    seed: int = 0,
    ext: str = ".png",
    paper: tuple[float, float, float] = PAPER,
) -> Path:
    """A small dataset in the Hell-Char layout, with metadata.csv (columns filename, TM)."""
    rng = np.random.default_rng(seed)
    rows = []
    for letter in letters:
        for i in range(per_letter):
            tm = str(1000 + i % papyri)
            name = f"{letter.capitalize()}_{tm}_{i}{ext}"
            h, w = int(rng.integers(36, 60)), int(rng.integers(30, 56))
            write_rgb(root / letter / name, draw_glyph(rng, h, w, paper=paper))
            rows.append({"filename": name, "letter": letter, "TM": tm})
    with (root / "metadata.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["filename", "letter", "TM"])
        writer.writeheader()
        writer.writerows(rows)
    return root


def fuzz_settings():
    """Hypothesis settings of the property-based tests: reproducible examples, 150 of them
    (``GLYPHVAE_FUZZ_EXAMPLES`` asks for more, as ``benchmarks/faults.py`` does)."""
    from hypothesis import HealthCheck, settings

    return settings(
        max_examples=int(os.environ.get("GLYPHVAE_FUZZ_EXAMPLES", "150")),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
        derandomize=True,
    )


def broken_outputs(out: Path) -> str | None:
    """What in a run folder a later run would trust but cannot read, or ``None``.

    Every JSON file must parse, the checkpoint archive that ``state.json`` names must load
    (Keras safe mode), and the model files, if present, must load with their checks.
    """
    import json

    import keras

    from glyphvae.callbacks import checkpoint_model_path
    from glyphvae.hub import from_pretrained
    from glyphvae.models import GlyphVAE

    try:
        for path in out.rglob("*.json"):
            json.loads(path.read_text())
        archive = checkpoint_model_path(out / "checkpoints")
        if archive is not None:
            keras.saving.load_model(archive, custom_objects={"glyphvae>GlyphVAE": GlyphVAE})
        if (out / "config.json").exists():
            from_pretrained(out)
    except Exception as e:  # anything at all: it is what the caller reports
        return f"{type(e).__name__}: {e}"
    return None
