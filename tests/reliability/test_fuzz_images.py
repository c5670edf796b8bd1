"""Bad input to the image loader, fuzzed: a correct image or one clear error, never a crash.

The contract checked for every input: :func:`decode_image` returns a finite ``float32`` RGB
array in ``[0, 1]`` or raises :class:`UnreadableImageError` (nothing else), and the crop
loader skips each bad file with a warning that names it while the good files around it load
exactly as they would alone. ``benchmarks/faults.py`` runs the same properties with many more
examples.
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from glyphvae.data import io as gio
from glyphvae.data.dataset import BadImageWarning, CropRecord, load_crops
from glyphvae.data.io import IMAGE_EXTENSIONS, MAX_PIXELS, UnreadableImageError, decode_image
from tests.helpers import fuzz_settings

FUZZ = fuzz_settings()
FORMATS = (".png", ".jpg", ".bmp", ".tif", ".webp")


def check_decoded(data: bytes, suffix: str) -> np.ndarray | None:
    """Decode; the result is a valid image or the error is UnreadableImageError."""
    try:
        img = decode_image(data, suffix)
    except UnreadableImageError as e:
        assert str(e)  # a reason, for the warning that names the file
        return None
    assert img.dtype == np.float32 and img.ndim == 3 and img.shape[2] == 3
    assert img.shape[0] >= 1 and img.shape[1] >= 1
    assert np.isfinite(img).all() and img.min() >= 0.0 and img.max() <= 1.0
    return img


def encode(image: np.ndarray, suffix: str) -> bytes:
    ok, buf = cv2.imencode(suffix, image)
    assert ok
    return buf.tobytes()


@st.composite
def valid_images(draw: st.DrawFn) -> tuple[bytes, str]:
    suffix = draw(st.sampled_from(FORMATS))
    h, w = draw(st.integers(1, 24)), draw(st.integers(1, 24))
    channels = draw(st.sampled_from([1, 3, 4] if suffix in (".png", ".tif") else [1, 3]))
    depth = np.uint16 if suffix in (".png", ".tif") and draw(st.booleans()) else np.uint8
    seed = draw(st.integers(0, 2**16))
    top = 65535 if depth == np.uint16 else 255
    pixels = np.random.default_rng(seed).integers(0, top + 1, (h, w, channels))
    return encode(
        pixels.astype(depth).squeeze(axis=2) if channels == 1 else pixels.astype(depth), suffix
    ), suffix


@given(st.binary(max_size=4096), st.sampled_from([*IMAGE_EXTENSIONS, ""]))
@FUZZ
def test_arbitrary_bytes(data, suffix):
    check_decoded(data, suffix)


@given(valid_images())
@FUZZ
def test_valid_images_of_every_kind_decode(image):
    data, suffix = image
    assert check_decoded(data, suffix) is not None


@given(valid_images(), st.data())
@FUZZ
def test_truncated_and_corrupted_files(image, draw):
    data, suffix = image
    cut = draw.draw(st.integers(0, len(data) - 1), label="cut")
    check_decoded(data[:cut], suffix)  # truncated anywhere
    flips = draw.draw(
        st.lists(st.tuples(st.integers(0, len(data) - 1), st.integers(0, 255)), max_size=8),
        label="flips",
    )
    corrupt = bytearray(data)
    for pos, value in flips:
        corrupt[pos] = value
    check_decoded(bytes(corrupt), suffix)  # bytes changed anywhere, header included
    # an image file under another format's extension is still read by its content
    check_decoded(data, draw.draw(st.sampled_from(FORMATS), label="suffix"))


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(width: int, height: int, colour_type: int = 2, body: bytes = b"") -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(body))
        + _png_chunk(b"IEND", b"")
    )


def test_ten_thousand_pixels_square_is_refused_before_decoding(monkeypatch):
    real = {ext: encode(np.zeros((10_000, 10_000), np.uint8), ext) for ext in (".png", ".jpg")}
    bomb = _png(10_000, 10_000)  # a header that claims 100 Mpx over a few bytes of data

    def no_decoding(*args):
        raise AssertionError("decoded an image that its header says is too large")

    monkeypatch.setattr(gio.cv2, "imdecode", no_decoding)
    for suffix, data in [*real.items(), (".png", bomb)]:
        with pytest.raises(UnreadableImageError, match=r"too large \(10000x10000"):
            decode_image(data, suffix)
    assert MAX_PIXELS < 10_000 * 10_000


@pytest.mark.parametrize("suffix", FORMATS)
def test_one_pixel_images(suffix):
    img = check_decoded(encode(np.array([[[10, 20, 30]]], np.uint8), suffix), suffix)
    assert img is not None and img.shape == (1, 1, 3)
    if suffix in (".png", ".bmp", ".tif"):  # lossless: the colour survives, as RGB
        np.testing.assert_allclose(img[0, 0] * 255, [30, 20, 10], atol=0.5)


def test_cmyk_jpeg_decodes_to_the_colour_a_viewer_shows():
    pil = pytest.importorskip("PIL.Image", reason="Pillow writes the CMYK JPEG")
    rgb = pil.new("RGB", (16, 16), (200, 60, 30))
    buf = io.BytesIO()
    rgb.convert("CMYK").save(buf, "JPEG", quality=95)
    img = check_decoded(buf.getvalue(), ".jpg")
    assert img is not None and img.shape == (16, 16, 3)
    np.testing.assert_allclose(img[8, 8] * 255, [200, 60, 30], atol=12)


def test_transparent_background_is_composited_not_black():
    rgba = np.zeros((8, 8, 4), np.uint8)  # fully transparent "black" ...
    rgba[2:6, 2:6] = (0, 0, 255, 255)  # ... around an opaque red (BGR order) square
    img = check_decoded(encode(rgba, ".png"), ".png")
    assert img is not None
    np.testing.assert_allclose(img[0, 0], [1.0, 1.0, 1.0])  # white by default, not black
    np.testing.assert_allclose(img[3, 3], [1.0, 0.0, 0.0])
    on_paper = decode_image(encode(rgba, ".png"), ".png", background=(0.8, 0.6, 0.4))
    np.testing.assert_allclose(on_paper[0, 0], [0.8, 0.6, 0.4], atol=1e-6)


def test_palette_with_transparency():
    pil = pytest.importorskip("PIL.Image", reason="Pillow writes the palette PNG")
    image = pil.new("P", (6, 4), 0)
    image.putpalette([10, 20, 30, 200, 100, 50] + [0] * (256 * 3 - 6))
    image.putpixel((1, 1), 1)
    buf = io.BytesIO()
    image.save(buf, "PNG", transparency=0)
    img = check_decoded(buf.getvalue(), ".png")
    assert img is not None
    np.testing.assert_allclose(img[0, 0], [1.0, 1.0, 1.0], atol=1e-6)  # transparent entry
    np.testing.assert_allclose(img[1, 1] * 255, [200, 100, 50], atol=0.5)


def _bad_files(folder: Path) -> dict[str, bytes]:
    png = encode(np.full((32, 32, 3), 128, np.uint8), ".png")
    jpg = encode(np.full((32, 32, 3), 128, np.uint8), ".jpg")
    return {
        "zero.jpg": b"",
        "cut.jpg": jpg[: len(jpg) // 2],
        "cut.png": png[: len(png) // 2],
        "text.png": b"%PDF-1.4 this is not an image",
        "html.jpg": b"<html><body>404</body></html>",
        "bomb.png": _png(10_000, 10_000),
        "flipped.png": png[:40] + bytes(b ^ 0xFF for b in png[40:80]) + png[80:],
    }


def test_bad_files_are_skipped_by_name_and_never_disturb_the_good_ones(tmp_path):
    rng = np.random.default_rng(0)
    good = []
    for i in range(6):
        size = [(48, 40), (1, 1), (20, 700), (16, 16), (64, 64), (30, 2)][i]
        pixels = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
        path = tmp_path / f"good{i}.png"
        path.write_bytes(encode(pixels, ".png"))
        good.append(path)
    bad = []
    for name, data in _bad_files(tmp_path).items():
        (tmp_path / name).write_bytes(data)
        bad.append(tmp_path / name)
    order = [p for pair in zip(good, bad, strict=False) for p in pair] + bad[len(good) :]
    records = [CropRecord(p, "epsilon", None) for p in order]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        glyphs = load_crops(records, image_size=32, min_side=0, workers=2, progress=False)
    named = {
        Path(str(w.message).split(":")[0].removeprefix("Skipping unreadable image ")).name
        for w in caught
        if issubclass(w.category, BadImageWarning)
    }
    assert named == {p.name for p in bad}
    assert glyphs.report.loaded == len(good) and len(glyphs.report.unreadable) == len(bad)
    for path, image in zip(glyphs.paths, glyphs.images, strict=True):
        alone = load_crops([CropRecord(Path(path), "epsilon", None)], 32, 0, progress=False)
        np.testing.assert_array_equal(image, alone.images[0])  # no sample disturbed another


def test_a_large_request_is_refused_before_anything_is_decoded(tmp_path, monkeypatch):
    records = [CropRecord(tmp_path / f"{i}.png", "epsilon", None) for i in range(300_000)]

    def no_decoding(*args):
        raise AssertionError("decoded before checking the memory bound")

    monkeypatch.setattr("glyphvae.data.dataset.read_image", no_decoding)
    with pytest.raises(MemoryError, match=r"300,000 crops at 256 px, which need"):
        load_crops(records, image_size=256, progress=False)  # 59 GB: over the 4 GiB default
    with pytest.raises(MemoryError, match="max_bytes=1,000,000"):
        load_crops(records[:100], image_size=64, max_bytes=1_000_000, progress=False)
