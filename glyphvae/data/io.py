"""Reading and writing images with the right colours.

OpenCV stores colour images as BGR. glyphvae works in RGB everywhere, and this module is
the only place where the conversion happens: :func:`read_image` returns RGB and
:func:`write_image` takes RGB. Greyscale, alpha, palette and 16-bit files are all turned
into ``float32`` RGB arrays in ``[0, 1]``, so the image the model trains on is the image a
viewer shows.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from glyphvae.files import atomic_write_bytes

__all__ = [
    "IMAGE_EXTENSIONS",
    "UnreadableImageError",
    "decode_image",
    "read_image",
    "to_uint8",
    "write_image",
]

IMAGE_EXTENSIONS: tuple[str, ...] = (
    ".jpg",
    ".jpeg",
    ".png",
    ".bmp",
    ".tif",
    ".tiff",
    ".webp",
)
"""File extensions the loader picks up (case-insensitive)."""

# Decoding an image larger than this many pixels is refused: a glyph crop is never that big,
# and a corrupt header can claim gigapixels.
MAX_PIXELS = 50_000_000


class UnreadableImageError(ValueError):
    """Raised when a file cannot be decoded as an image (empty, truncated, not an image)."""


def _is_truncated(data: bytes, suffix: str) -> str | None:
    """Return a reason if the encoded bytes are visibly cut short, else ``None``.

    OpenCV decodes a truncated JPEG without error (grey fill, a warning on stderr), so
    the end-of-image markers are checked here.
    """
    tail = data[-4096:]
    if suffix in (".jpg", ".jpeg") or data[:3] == b"\xff\xd8\xff":
        if data[:2] != b"\xff\xd8":
            return "not a JPEG file (no start-of-image marker)"
        if b"\xff\xd9" not in tail:
            return "truncated JPEG (no end-of-image marker)"
    if suffix == ".png" or data[:8] == b"\x89PNG\r\n\x1a\n":
        if data[:8] != b"\x89PNG\r\n\x1a\n":
            return "not a PNG file (bad signature)"
        if b"IEND" not in tail:
            return "truncated PNG (no IEND chunk)"
    return None


_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _header_size(data: bytes) -> tuple[int, int] | None:
    """``(width, height)`` read from a PNG, JPEG, BMP, WebP or TIFF header, without decoding.

    Lets :func:`decode_image` refuse an enormous image (or a header that claims one) before
    a decoder allocates its pixels. ``None`` when the format is another one or the header
    cannot be parsed (the decoder then decides, and the size is checked after decoding).
    """
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:2] == b"BM" and len(data) >= 26:
        width = int.from_bytes(data[18:22], "little", signed=True)
        height = int.from_bytes(data[22:26], "little", signed=True)
        return abs(width), abs(height)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) >= 30:
        kind = data[12:16]
        if kind == b"VP8X":  # extended: 24-bit canvas size minus one
            return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(
                data[27:30], "little"
            )
        if kind == b"VP8L":  # lossless: 14-bit sizes minus one after a signature byte
            bits = int.from_bytes(data[21:25], "little")
            return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
        if kind == b"VP8 ":  # lossy key frame: 14-bit sizes after a start code
            return (
                int.from_bytes(data[26:28], "little") & 0x3FFF,
                int.from_bytes(data[28:30], "little") & 0x3FFF,
            )
        return None
    if data[:4] in (b"II*\x00", b"MM\x00*") and len(data) >= 8:
        return _tiff_size(data)
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                return None
            marker = data[i + 1]
            if marker == 0xFF:  # fill byte
                i += 1
                continue
            if marker in _SOF_MARKERS:
                height = int.from_bytes(data[i + 5 : i + 7], "big")
                width = int.from_bytes(data[i + 7 : i + 9], "big")
                return width, height
            if marker == 0xDA:  # start of scan before any frame header
                return None
            if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
                i += 2
                continue
            i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return None


def _tiff_size(data: bytes) -> tuple[int, int] | None:
    """Width and height (tags 256 and 257) from a TIFF's first image directory."""
    order: Literal["little", "big"] = "little" if data[:2] == b"II" else "big"
    offset = int.from_bytes(data[4:8], order)
    if offset + 2 > len(data):
        return None
    count = int.from_bytes(data[offset : offset + 2], order)
    found: dict[int, int] = {}
    for k in range(count):
        entry = data[offset + 2 + 12 * k : offset + 14 + 12 * k]
        if len(entry) < 12:
            return None
        tag, kind = int.from_bytes(entry[:2], order), int.from_bytes(entry[2:4], order)
        if tag in (256, 257):
            size = 2 if kind == 3 else 4  # SHORT or LONG
            found[tag] = int.from_bytes(entry[8 : 8 + size], order)
    return (found[256], found[257]) if len(found) == 2 else None


def _check_pixels(width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise UnreadableImageError(
            f"image too large ({width}x{height} pixels; at most {MAX_PIXELS})"
        )


def _to_float(img: np.ndarray) -> np.ndarray:
    if img.dtype == np.uint8:
        return img.astype(np.float32) / 255.0
    if img.dtype == np.uint16:
        return img.astype(np.float32) / 65535.0
    if img.dtype in (np.float32, np.float64):
        out = img.astype(np.float32)
        if not np.all(np.isfinite(out)):
            raise UnreadableImageError("image contains NaN or infinite values")
        return np.clip(out, 0.0, 1.0)
    raise UnreadableImageError(f"unsupported pixel type {img.dtype}")


def decode_image(
    data: bytes, suffix: str = "", background: tuple[float, float, float] = (1.0, 1.0, 1.0)
) -> np.ndarray:
    """Decode encoded image bytes into an RGB ``float32`` array in ``[0, 1]``.

    Args:
        data: The encoded file contents (JPEG, PNG, BMP, TIFF, WebP).
        suffix: The file's extension, used to pick the decoder flags and checks.
        background: RGB colour that transparent pixels are composited onto.

    Returns:
        An array of shape ``(height, width, 3)``, RGB, ``float32`` in ``[0, 1]``.

    Raises:
        UnreadableImageError: If the data is empty, truncated, or not a decodable image.
    """
    suffix = suffix.lower()
    if len(data) == 0:
        raise UnreadableImageError("empty file (0 bytes)")
    reason = _is_truncated(data, suffix)
    if reason:
        raise UnreadableImageError(reason)
    header = _header_size(data)
    if header is not None:
        _check_pixels(*header)
    buf = np.frombuffer(data, dtype=np.uint8)
    # JPEG cannot carry alpha, and ANYCOLOR applies the EXIF orientation a viewer shows.
    # Other formats are read unchanged so that alpha and 16-bit depth survive.
    is_jpeg = suffix in (".jpg", ".jpeg") or data[:2] == b"\xff\xd8"
    flags = cv2.IMREAD_ANYCOLOR | cv2.IMREAD_ANYDEPTH if is_jpeg else cv2.IMREAD_UNCHANGED
    try:
        img = cv2.imdecode(buf, flags)
    except cv2.error as e:
        raise UnreadableImageError(f"OpenCV could not decode it ({e.err or e})") from e
    if img is None or img.size == 0:
        raise UnreadableImageError("not a decodable image")
    _check_pixels(img.shape[1], img.shape[0])
    img = _to_float(img)
    if img.ndim == 2:
        img = img[:, :, None]
    channels = img.shape[2]
    if channels == 1:
        return np.repeat(img, 3, axis=2)
    if channels == 2:  # grey + alpha
        grey, alpha = img[:, :, :1], img[:, :, 1:2]
        rgb = np.repeat(grey, 3, axis=2)
    elif channels == 3:
        return np.ascontiguousarray(img[:, :, ::-1])  # BGR -> RGB: the one conversion
    elif channels == 4:
        rgb, alpha = img[:, :, 2::-1], img[:, :, 3:4]
    else:
        raise UnreadableImageError(f"unsupported number of channels ({channels})")
    bg = np.asarray(background, dtype=np.float32).reshape(1, 1, 3)
    return np.ascontiguousarray(rgb * alpha + bg * (1.0 - alpha), dtype=np.float32)


def read_image(
    path: str | os.PathLike[str], background: tuple[float, float, float] = (1.0, 1.0, 1.0)
) -> np.ndarray:
    """Read an image file as an RGB ``float32`` array in ``[0, 1]``.

    Args:
        path: Path to a JPEG, PNG, BMP, TIFF or WebP file. Greyscale becomes grey RGB,
            alpha is composited onto ``background``, 16-bit is scaled to ``[0, 1]``,
            palette images are expanded.
        background: RGB colour in ``[0, 1]`` behind transparent pixels (default white).

    Returns:
        An array of shape ``(height, width, 3)``.

    Raises:
        FileNotFoundError: If the file does not exist.
        UnreadableImageError: If it is empty, truncated or not a decodable image.

    >>> import tempfile, numpy as np
    >>> path = tempfile.mkdtemp() + "/red.png"
    >>> _ = write_image(path, np.tile([1.0, 0.0, 0.0], (4, 4, 1)))
    >>> read_image(path)[0, 0].tolist()
    [1.0, 0.0, 0.0]
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"Expected an image file. Received a path that does not exist: {p}")
    return decode_image(p.read_bytes(), p.suffix, background=background)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Convert an image in ``[0, 1]`` (float) or ``[0, 255]`` (uint8) to ``uint8``.

    Float values outside ``[0, 1]`` are clipped. NaN or infinite values are an error, never
    turned silently into black pixels (a model that produces them is broken, and a picture of
    black squares would hide it).

    Raises:
        TypeError: Neither a float nor a ``uint8`` array.
        ValueError: The array holds NaN or infinite values.

    >>> to_uint8(np.array([[0.0, 0.5, 2.0]])).tolist()
    [[0, 128, 255]]
    """
    arr = np.asarray(image)
    if arr.dtype == np.uint8:
        return arr
    if not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(f"Expected a float image in [0, 1] or a uint8 image. Received {arr.dtype}")
    bad = arr.size - int(np.count_nonzero(np.isfinite(arr)))
    if bad:
        raise ValueError(
            f"Expected finite pixel values in [0, 1]. Received {bad} NaN or infinite "
            f"value(s) in an image of shape {arr.shape}"
        )
    return (np.clip(arr, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def write_image(path: str | os.PathLike[str], image: np.ndarray) -> Path:
    """Write an RGB image (float in ``[0, 1]`` or ``uint8``) atomically; format from the suffix.

    Args:
        path: Destination, e.g. ``grid.png``. Parent folders are created.
        image: Array of shape ``(height, width, 3)`` (RGB) or ``(height, width)`` (grey).

    Returns:
        The path written.

    >>> import tempfile, numpy as np
    >>> path = write_image(tempfile.mkdtemp() + "/grey.png", np.full((4, 6, 3), 0.5))
    >>> path.name, read_image(path).shape
    ('grey.png', (4, 6, 3))
    """
    arr = to_uint8(image)
    if arr.ndim == 3 and arr.shape[2] == 3:
        arr = arr[:, :, ::-1]  # RGB -> BGR for OpenCV
    elif arr.ndim != 2:
        raise ValueError(
            "Expected an image of shape (height, width, 3) or (height, width). "
            f"Received {arr.shape}"
        )
    suffix = Path(path).suffix.lower() or ".png"
    ok, encoded = cv2.imencode(suffix, np.ascontiguousarray(arr))
    if not ok:
        raise ValueError(f"OpenCV cannot encode images as {suffix!r} (file {path})")
    return atomic_write_bytes(path, encoded.tobytes())
