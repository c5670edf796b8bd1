"""Turning a raw crop into a model input: square-padding with its own paper colour, resizing.

Glyph crops are tight boxes of all aspect ratios. Stretching them to a square distorts the
letter; padding with black or white adds a frame the model then has to learn. Here a crop is
padded with its own background colour (the median of its border pixels) and then resized.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = [
    "MAX_IMAGE_SIZE",
    "MIN_IMAGE_SIZE",
    "border_color",
    "pad_to_square",
    "prepare_crop",
    "resize_square",
    "validate_image_size",
]

MIN_IMAGE_SIZE = 32
MAX_IMAGE_SIZE = 256
IMAGE_SIZE_STEP = 16


def validate_image_size(image_size: int) -> int:
    """Check that ``image_size`` is a multiple of 16 between 32 and 256 and return it.

    Raises:
        ValueError: With the accepted values and the value received.

    >>> validate_image_size(64)
    64
    """
    if (
        isinstance(image_size, bool)
        or not isinstance(image_size, int | np.integer)
        or not MIN_IMAGE_SIZE <= int(image_size) <= MAX_IMAGE_SIZE
        or int(image_size) % IMAGE_SIZE_STEP
    ):
        raise ValueError(
            f"Expected `image_size` to be a multiple of {IMAGE_SIZE_STEP} from {MIN_IMAGE_SIZE} "
            f"to {MAX_IMAGE_SIZE} (e.g. 64 or 128). Received: {image_size!r}"
        )
    return int(image_size)


def border_color(image: np.ndarray, width: int = 2) -> np.ndarray:
    """Estimate a crop's background colour as the per-channel median of its border pixels.

    The median ignores ink strokes that touch the edge of a tight crop.

    Args:
        image: RGB array ``(height, width, 3)``, or a batch ``(n, height, width, 3)``.
        width: Border thickness in pixels (clipped for tiny images).

    Returns:
        A ``float32`` array of 3 values in the image's range (``(n, 3)`` for a batch).

    >>> img = np.full((10, 10, 3), 0.8, np.float32); img[4:6, :] = 0.1  # a stroke across
    >>> [round(float(v), 2) for v in border_color(img)]
    [0.8, 0.8, 0.8]
    """
    img = np.asarray(image)
    *lead, h, w, c = img.shape
    b = max(1, min(width, h // 2, w // 2))
    ring = np.concatenate(
        [
            img[..., :b, :, :].reshape(*lead, -1, c),
            img[..., -b:, :, :].reshape(*lead, -1, c),
            img[..., b:-b, :b, :].reshape(*lead, -1, c),
            img[..., b:-b, -b:, :].reshape(*lead, -1, c),
        ],
        axis=-2,
    )
    return np.median(ring, axis=-2).astype(np.float32)


def pad_to_square(image: np.ndarray, color: np.ndarray | None = None) -> np.ndarray:
    """Pad an image to a square, centred, with ``color`` (default: its border colour).

    >>> pad_to_square(np.zeros((2, 4, 3), np.float32)).shape
    (4, 4, 3)
    """
    img = np.asarray(image)
    h, w = img.shape[:2]
    side = max(h, w)
    if h == w:
        return img
    fill = border_color(img) if color is None else np.asarray(color, dtype=img.dtype)
    out = np.empty((side, side, img.shape[2]), dtype=img.dtype)
    out[...] = fill
    top, left = (side - h) // 2, (side - w) // 2
    out[top : top + h, left : left + w] = img
    return out


def resize_square(image: np.ndarray, size: int) -> np.ndarray:
    """Resize a square image to ``size`` × ``size``.

    Uses area averaging when shrinking (no aliasing) and bicubic interpolation when
    enlarging; float results are clipped back to ``[0, 1]``.
    """
    img = np.asarray(image)
    if img.shape[0] == size and img.shape[1] == size:
        return img
    interp = cv2.INTER_AREA if img.shape[0] > size else cv2.INTER_CUBIC
    out = cv2.resize(img, (size, size), interpolation=interp)
    if out.ndim == 2:
        out = out[:, :, None]
    if np.issubdtype(out.dtype, np.floating):
        np.clip(out, 0.0, 1.0, out=out)
    return out


def prepare_crop(image: np.ndarray, image_size: int) -> np.ndarray:
    """Square-pad a crop with its own background colour, then resize it to ``image_size``.

    Args:
        image: RGB ``float32`` crop in ``[0, 1]`` of any shape ``(h, w, 3)``.
        image_size: Output side in pixels.

    Returns:
        ``float32`` array ``(image_size, image_size, 3)`` in ``[0, 1]``.

    >>> prepare_crop(np.ones((30, 20, 3), np.float32), 32).shape
    (32, 32, 3)
    """
    return resize_square(pad_to_square(image), image_size).astype(np.float32, copy=False)
