import struct
import zlib

import cv2
import numpy as np
import pytest

from glyphvae.data.io import UnreadableImageError, decode_image, read_image, write_image
from tests.helpers import write_rgb

RGB = (0.8, 0.5, 0.2)  # red, green and blue all differ: a swap cannot go unnoticed


def solid(rgb=RGB, size=(6, 5)):
    img = np.empty((*size, 3), np.float32)
    img[...] = rgb
    return img


@pytest.mark.parametrize("ext", [".png", ".jpg", ".bmp", ".tif", ".webp"])
def test_colour_round_trip_from_independent_writer(tmp_path, ext):
    path = write_rgb(tmp_path / f"a{ext}", solid())
    img = read_image(path)
    assert img.shape == (6, 5, 3) and img.dtype == np.float32
    np.testing.assert_allclose(img.reshape(-1, 3).mean(0), RGB, atol=0.02)


def test_write_image_then_read_is_identity_in_rgb(tmp_path):
    rgb = np.random.default_rng(0).random((7, 9, 3)).astype(np.float32)
    write_image(tmp_path / "x.png", rgb)
    back = read_image(tmp_path / "x.png")
    np.testing.assert_allclose(back, rgb, atol=1 / 255)
    # and OpenCV, which reads BGR, sees the channels reversed: the file really is RGB-correct
    raw = cv2.imread(str(tmp_path / "x.png"))
    np.testing.assert_allclose(raw[:, :, ::-1] / 255.0, rgb, atol=1 / 255)


def test_greyscale_becomes_grey_rgb(tmp_path):
    path = tmp_path / "g.png"
    cv2.imwrite(str(path), np.full((4, 4), 100, np.uint8))
    img = read_image(path)
    assert img.shape == (4, 4, 3)
    np.testing.assert_allclose(img, 100 / 255, atol=1e-6)


def test_sixteen_bit_is_scaled_not_clipped(tmp_path):
    path = tmp_path / "deep.png"
    bgr = np.dstack([np.full((3, 3), v, np.uint16) for v in (10000, 30000, 60000)])
    cv2.imwrite(str(path), bgr)
    img = read_image(path)
    np.testing.assert_allclose(img[0, 0], [60000 / 65535, 30000 / 65535, 10000 / 65535], atol=1e-6)


def test_rgba_transparent_pixels_composite_onto_background(tmp_path):
    path = tmp_path / "alpha.png"
    bgra = np.zeros((4, 4, 4), np.uint8)
    bgra[..., :3] = (51, 102, 204)  # BGR
    bgra[:2, :, 3] = 255  # top half opaque, bottom half transparent
    cv2.imwrite(str(path), bgra)
    img = read_image(path)
    np.testing.assert_allclose(img[0, 0], [0.8, 0.4, 0.2], atol=1e-6)
    np.testing.assert_allclose(img[3, 0], [1.0, 1.0, 1.0], atol=1e-6)
    black = read_image(path, background=(0.0, 0.0, 0.0))
    np.testing.assert_allclose(black[3, 0], [0.0, 0.0, 0.0], atol=1e-6)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def test_palette_png_is_expanded_to_rgb():
    # a 2x1 palette image, hand-built: palette entry 0 = (200, 100, 50), 1 = (10, 20, 30)
    ihdr = struct.pack(">IIBBBBB", 2, 1, 8, 3, 0, 0, 0)
    plte = bytes([200, 100, 50, 10, 20, 30])
    idat = zlib.compress(b"\x00\x00\x01")
    data = (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"PLTE", plte)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )
    img = decode_image(data, ".png")
    np.testing.assert_allclose(img[0, 0] * 255, [200, 100, 50], atol=0.5)
    np.testing.assert_allclose(img[0, 1] * 255, [10, 20, 30], atol=0.5)


def _jpeg_bytes():
    ok, enc = cv2.imencode(".jpg", np.full((16, 16, 3), 128, np.uint8))
    assert ok
    return enc.tobytes()


@pytest.mark.parametrize(
    ("data", "suffix", "reason"),
    [
        (b"", ".jpg", "empty file"),
        (_jpeg_bytes()[:-200], ".jpg", "truncated JPEG"),
        (b"this is not an image at all", ".jpg", "not a JPEG"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, ".png", "truncated PNG"),
        (b"GIF89a garbage", ".bmp", "not a decodable image"),
    ],
)
def test_bad_bytes_raise_unreadable(data, suffix, reason):
    with pytest.raises(UnreadableImageError, match=reason):
        decode_image(data, suffix)


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_image(tmp_path / "nope.png")


def test_write_image_rejects_bad_shape(tmp_path):
    with pytest.raises(ValueError, match="Expected an image of shape"):
        write_image(tmp_path / "x.png", np.zeros((2, 2, 2)))
