"""Bounding boxes: the four albumentations formats, IoU, letter height from boxes.

``pascal_voc``: pixels ``[x_min, y_min, x_max, y_max]``; ``coco``: pixels ``[x_min, y_min,
width, height]``; ``yolo``: normalised ``[x_center, y_center, width, height]``;
``albumentations``: normalised ``[x_min, y_min, x_max, y_max]``. Internally glyphvae works in
``pascal_voc`` pixels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["BOX_FORMATS", "Boxes", "box_iou", "convert_boxes", "estimate_letter_height"]

BOX_FORMATS: tuple[str, ...] = ("pascal_voc", "coco", "yolo", "albumentations")
"""Box formats accepted by :func:`convert_boxes` (the albumentations names)."""

Boxes = np.ndarray | Sequence[Sequence[float]]
"""``(n, 4+)`` boxes as an array or nested sequences."""


def _boxes(boxes: Boxes | None, name: str) -> np.ndarray:
    arr = np.zeros((0, 4)) if boxes is None else np.asarray(boxes, dtype=np.float64)
    if arr.size == 0:
        return np.zeros((0, 4))
    if arr.ndim != 2 or arr.shape[1] < 4:
        raise ValueError(f"Expected `{name}` of shape (n, 4). Received {arr.shape}")
    arr = arr[:, :4]
    if not np.isfinite(arr).all():
        raise ValueError(f"Expected finite `{name}`. Received NaN or infinite coordinates")
    return arr


def _overlaps(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """IoU and intersection-over-the-smaller-area matrices ``(len(a), len(b))``."""
    lo = np.maximum(a[:, None, :2], b[None, :, :2])
    hi = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=2)
    area_a = np.clip(np.prod(a[:, 2:] - a[:, :2], axis=1), 0, None)[:, None]
    area_b = np.clip(np.prod(b[:, 2:] - b[:, :2], axis=1), 0, None)[None, :]
    union = area_a + area_b - inter
    iou = np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)
    ios = np.where(inter > 0, inter / np.maximum(np.minimum(area_a, area_b), 1e-12), 0.0)
    return iou, ios


def estimate_letter_height(boxes: Boxes) -> float | None:
    """Median height of pascal_voc boxes, or ``None`` when there are none.

    >>> estimate_letter_height([[0, 0, 5, 10], [0, 0, 5, 30], [0, 0, 5, 20]])
    20.0
    """
    arr = _boxes(boxes, "boxes")
    return float(np.median(arr[:, 3] - arr[:, 1])) if len(arr) else None


def box_iou(a: Boxes, b: Boxes) -> np.ndarray:
    """IoU matrix ``(len(a), len(b))`` of two sets of pascal_voc boxes (0 for empty boxes).

    >>> box_iou([[0, 0, 2, 2]], [[1, 0, 3, 2], [5, 5, 6, 6]]).round(3).tolist()
    [[0.333, 0.0]]
    """
    aa, bb = _boxes(a, "a"), _boxes(b, "b")
    if not len(aa) or not len(bb):
        return np.zeros((len(aa), len(bb)))
    return _overlaps(aa, bb)[0]


def convert_boxes(
    boxes: Boxes, source: str, target: str, image_shape: tuple[int, ...]
) -> np.ndarray:
    """Convert boxes between the albumentations formats.

    ``pascal_voc``: pixels ``[x_min, y_min, x_max, y_max]``; ``coco``: pixels ``[x_min, y_min,
    width, height]``; ``yolo``: normalised ``[x_center, y_center, width, height]``;
    ``albumentations``: normalised ``[x_min, y_min, x_max, y_max]``. Columns after the fourth
    (labels) pass through unchanged.

    Args:
        boxes: ``(n, 4+)`` boxes or a single ``(4+,)`` box.
        source: Format of ``boxes``, one of :data:`BOX_FORMATS`.
        target: Format wanted.
        image_shape: ``(height, width, ...)`` of the image the boxes belong to.

    Returns:
        The converted boxes, same shape; float input keeps its dtype, other input gets float64.

    >>> convert_boxes([[10, 20, 30, 60]], "pascal_voc", "yolo", (100, 200)).round(6).tolist()
    [[0.1, 0.4, 0.1, 0.4]]
    """
    for name, fmt in (("source", source), ("target", target)):
        if fmt not in BOX_FORMATS:
            raise ValueError(f"Expected `{name}` in {list(BOX_FORMATS)}. Received {fmt!r}")
    arr = np.asarray(boxes)
    if arr.ndim not in (1, 2) or arr.shape[-1] < 4:
        raise ValueError(f"Expected boxes of shape (n, 4) or (4,). Received {arr.shape}")
    h, w = float(image_shape[0]), float(image_shape[1])
    if h <= 0 or w <= 0:
        raise ValueError(f"Expected a positive `image_shape` (h, w). Received {image_shape!r}")
    dtype = arr.dtype if np.issubdtype(arr.dtype, np.floating) else np.dtype(np.float64)
    out = arr.astype(np.float64).reshape(-1, arr.shape[-1])  # a copy
    c, scale = out[:, :4].copy(), np.array([w, h, w, h])
    if source in ("coco", "pascal_voc"):
        c /= scale
    if source in ("coco", "yolo"):  # x, y, w, h -> x_min, y_min, x_max, y_max
        c[:, :2] -= c[:, 2:] / 2 if source == "yolo" else 0.0
        c[:, 2:] += c[:, :2]
    if target in ("coco", "yolo"):
        c[:, 2:] -= c[:, :2]
        c[:, :2] += c[:, 2:] / 2 if target == "yolo" else 0.0
    if target in ("coco", "pascal_voc"):
        c *= scale
    out[:, :4] = c
    return out.reshape(arr.shape).astype(dtype)
