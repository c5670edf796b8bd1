"""Shared by the examples: the small setting, and stand-ins for data you would bring.

``GLYPHVAE_EXAMPLE_SMALL=1`` makes every example run in seconds on a CPU: tiny models and
a generated dataset of glyph-like crops instead of the real Hell-Char crops. Without it the
examples use the real setting, with the crops in ``$GLYPHVAE_DATA``.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import cv2
import numpy as np

SMALL = os.environ.get("GLYPHVAE_EXAMPLE_SMALL", "") == "1"
"""Whether the examples run in the small setting."""

OUT = Path("runs/examples")
"""Where the examples write their files (relative to the current folder)."""

PAPER = (0.78, 0.62, 0.42)  # papyrus-like RGB
INK = (0.16, 0.11, 0.09)


def draw_glyph(letter: str, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A glyph-like RGB crop (float in [0, 1]): an epsilon (arc and bar) or an alpha (loop
    and tail) in ink on noisy paper."""
    img = np.empty((height, width, 3), np.float32)
    img[...] = PAPER
    img += rng.normal(0.0, 0.03, img.shape).astype(np.float32)
    cx, cy = width / 2 + rng.uniform(-2, 2), height / 2 + rng.uniform(-2, 2)
    r = min(height, width) * rng.uniform(0.26, 0.34)
    thick = max(2, min(height, width) // 10)
    if letter == "alpha":
        cv2.ellipse(img, (int(cx - r / 3), int(cy)), (int(r), int(r * 0.8)), 0, 0, 360, INK, thick)
        cv2.line(img, (int(cx + r / 2), int(cy - r)), (int(cx + r), int(cy + r)), INK, thick)
    else:
        axes = (int(r), int(r * rng.uniform(1.0, 1.3)))
        cv2.ellipse(img, (int(cx), int(cy)), axes, 0, 40, 320, INK, thick, cv2.LINE_AA)
        cv2.line(img, (int(cx - r), int(cy)), (int(cx + r * 0.6), int(cy)), INK, thick)
    return np.clip(img, 0.0, 1.0)


def make_crop_tree(
    root: str | os.PathLike[str],
    letters: tuple[str, ...] = ("epsilon", "alpha"),
    per_letter: int = 32,
    papyri: int = 6,
    seed: int = 0,
) -> Path:
    """A tiny dataset in the Hell-Char layout: ``<root>/<letter>/*.png`` and a
    ``metadata.csv`` with a papyrus id column (``TM``), so splits are by papyrus."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    rows = []
    for letter in letters:
        (root / letter).mkdir(parents=True, exist_ok=True)
        for i in range(per_letter):
            tm = str(1000 + i % papyri)
            name = f"{letter.capitalize()}_{tm}_{i}.png"
            h, w = int(rng.integers(36, 60)), int(rng.integers(30, 56))
            rgb = draw_glyph(letter, rng, h, w)
            cv2.imwrite(str(root / letter / name), (rgb[:, :, ::-1] * 255 + 0.5).astype(np.uint8))
            rows.append({"filename": name, "letter": letter, "TM": tm})
    with (root / "metadata.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["filename", "letter", "TM"])
        writer.writeheader()
        writer.writerows(rows)
    return root


def make_page(
    crops: np.ndarray, letters: list[str], size: tuple[int, int], seed: int = 0
) -> tuple[np.ndarray, list[list[float]], list[str]]:
    """A stand-in for one page of a detection set: crops laid out in lines on paper.

    Args:
        crops: ``uint8`` RGB crops ``(n, s, s, 3)``.
        letters: Letter of each crop.
        size: ``(height, width)`` of the page.
        seed: Which crops, and the gaps between them.

    Returns:
        ``(page, boxes, labels)``: a ``uint8`` page, pascal_voc pixel boxes, letter names.
    """
    rng = np.random.default_rng(seed)
    h, w = size
    s = crops.shape[1]
    paper = np.median(crops[:, :2].reshape(-1, 3), axis=0)
    page = np.empty((h, w, 3), np.uint8)
    page[...] = paper.astype(np.uint8)
    boxes, labels = [], []
    y = s // 2
    while y + s <= h - s // 2:
        x = int(rng.integers(s // 4, s))
        while x + s <= w - s // 4 and rng.random() > 0.1:
            i = int(rng.integers(len(crops)))
            page[y : y + s, x : x + s] = crops[i]
            boxes.append([float(x), float(y), float(x + s), float(y + s)])
            labels.append(letters[i])
            x += s + int(rng.integers(0, s // 2))
        y += 2 * s  # an empty line between lines of text: room for new glyphs
    return page, boxes, labels
