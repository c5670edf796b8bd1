"""Pictures of glyphs and of training: image grids and loss curves, drawn with numpy and OpenCV.

No plotting library is needed: the loss curve is drawn with OpenCV primitives so that
``glyphvae fit`` can write it on a headless server with the base dependencies only.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import cv2
import numpy as np

from glyphvae.data.io import to_uint8, write_image

__all__ = ["image_grid", "loss_curve", "save_grid"]


def image_grid(
    images: np.ndarray | Sequence[np.ndarray],
    cols: int | None = None,
    pad: int = 2,
    pad_value: float = 1.0,
) -> np.ndarray:
    """Tile same-sized RGB images into one ``uint8`` image.

    Args:
        images: ``(n, h, w, 3)`` floats in ``[0, 1]`` or ``uint8``.
        cols: Images per row (default: a near-square grid).
        pad: Gap between tiles in pixels.
        pad_value: Gap colour (grey level in ``[0, 1]``).

    Returns:
        ``uint8`` RGB array.

    >>> image_grid(np.zeros((5, 8, 8, 3)), cols=3, pad=1).shape
    (19, 28, 3)
    """
    arr = np.stack([to_uint8(np.asarray(im)) for im in images]) if len(images) else None
    if arr is None or arr.ndim != 4 or arr.shape[-1] != 3:
        shape = None if arr is None else arr.shape
        raise ValueError(f"Expected a non-empty batch of RGB images (n, h, w, 3). Received {shape}")
    n, h, w, _ = arr.shape
    cols = cols or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    fill = round(float(np.clip(pad_value, 0, 1)) * 255)
    grid = np.full((rows * h + (rows + 1) * pad, cols * w + (cols + 1) * pad, 3), fill, np.uint8)
    for i in range(n):
        r, c = divmod(i, cols)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        grid[y : y + h, x : x + w] = arr[i]
    return grid


def save_grid(
    path: str | os.PathLike[str],
    images: np.ndarray,
    cols: int | None = None,
    scale: int = 1,
) -> Path:
    """Write a grid of images as a PNG (atomically), optionally enlarged ``scale`` times."""
    grid = image_grid(images, cols=cols)
    if scale > 1:
        grid = cv2.resize(
            grid, (grid.shape[1] * scale, grid.shape[0] * scale), interpolation=cv2.INTER_NEAREST
        )
    return write_image(path, grid)


_COLORS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189)]


def loss_curve(
    path: str | os.PathLike[str],
    series: Mapping[str, Sequence[float]],
    title: str = "loss",
    size: tuple[int, int] = (640, 400),
) -> Path:
    """Plot one or more per-epoch series (e.g. ``loss`` and ``val_loss``) to a PNG.

    Non-finite values are skipped (and a red mark is drawn at the epoch where they start).

    Args:
        path: Output PNG path.
        series: Name -> values per epoch.
        title: Title drawn at the top.
        size: ``(width, height)`` in pixels.

    Returns:
        The path written.
    """
    width, height = size
    left, right, top, bottom = 70, 20, 36, 40
    img = np.full((height, width, 3), 255, np.uint8)
    values = [np.asarray(v, dtype=np.float64) for v in series.values()]
    finite = np.concatenate([v[np.isfinite(v)] for v in values]) if values else np.empty(0)
    n_epochs = max((len(v) for v in values), default=0)
    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.putText(img, title, (left, 24), font, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    x0, x1, y0, y1 = left, width - right, height - bottom, top
    cv2.rectangle(img, (x0, y1), (x1, y0), (0, 0, 0), 1)
    if finite.size and n_epochs:
        lo, hi = float(finite.min()), float(finite.max())
        if hi - lo < 1e-12:
            lo, hi = lo - 0.5, hi + 0.5
        span = hi - lo
        lo, hi = lo - 0.05 * span, hi + 0.05 * span

        def to_px(i: int, v: float) -> tuple[int, int]:
            x = x0 + (x1 - x0) * (i / max(1, n_epochs - 1))
            y = y0 - (y0 - y1) * ((v - lo) / (hi - lo))
            return round(x), round(y)

        for frac in (0.0, 0.5, 1.0):
            v = lo + frac * (hi - lo)
            _, y = to_px(0, v)
            cv2.putText(img, f"{v:.3g}", (4, y + 4), font, 0.4, (60, 60, 60), 1, cv2.LINE_AA)
        cv2.putText(
            img,
            f"epoch (1-{n_epochs})",
            (x0 + 5, height - 12),
            font,
            0.45,
            (60, 60, 60),
            1,
            cv2.LINE_AA,
        )
        for k, (name, line) in enumerate(zip(series, values, strict=True)):
            color = _COLORS[k % len(_COLORS)]
            pts = [to_px(i, float(val)) for i, val in enumerate(line) if np.isfinite(val)]
            if len(pts) > 1:
                cv2.polylines(img, [np.array(pts, np.int32)], False, color, 2, cv2.LINE_AA)
            elif pts:
                cv2.circle(img, pts[0], 3, color, -1)
            bad = np.flatnonzero(~np.isfinite(line))
            if bad.size:
                x, _ = to_px(int(bad[0]), lo)
                cv2.line(img, (x, y1), (x, y0), (220, 0, 0), 1)
            cv2.putText(img, name, (x1 - 150, y1 + 18 + 18 * k), font, 0.5, color, 1, cv2.LINE_AA)
    return write_image(path, img)
