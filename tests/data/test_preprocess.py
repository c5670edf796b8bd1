import numpy as np
import pytest

from glyphvae.data.preprocess import (
    border_color,
    pad_to_square,
    prepare_crop,
    resize_square,
    validate_image_size,
)


def test_border_colour_ignores_a_stroke_touching_the_edge():
    img = np.full((20, 12, 3), (0.8, 0.6, 0.4), np.float32)
    img[:, 5:7] = 0.05  # a vertical stroke from top edge to bottom edge
    np.testing.assert_allclose(border_color(img), [0.8, 0.6, 0.4], atol=1e-6)


def test_pad_to_square_fills_with_border_colour_and_centres():
    img = np.full((10, 4, 3), (0.9, 0.7, 0.5), np.float32)
    img[4:6, 1:3] = 0.0  # ink in the middle
    out = pad_to_square(img)
    assert out.shape == (10, 10, 3)
    np.testing.assert_allclose(out[:, :3], np.broadcast_to([0.9, 0.7, 0.5], (10, 3, 3)), atol=1e-6)
    np.testing.assert_array_equal(out[:, 3:7], img)  # original columns, centred
    np.testing.assert_allclose(out[:, 7:], out[:, :3], atol=1e-6)


def test_pad_to_square_keeps_square_images():
    img = np.random.default_rng(0).random((8, 8, 3)).astype(np.float32)
    assert pad_to_square(img) is img


@pytest.mark.parametrize("size", [32, 48, 64, 128, 256])
def test_prepare_crop_output(size):
    img = np.random.default_rng(1).random((37, 23, 3)).astype(np.float32)
    out = prepare_crop(img, size)
    assert out.shape == (size, size, 3)
    assert out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_resize_keeps_mean_colour_both_ways():
    img = np.full((40, 40, 3), (0.7, 0.5, 0.3), np.float32)
    for size in (16, 96):
        np.testing.assert_allclose(
            resize_square(img, size).mean((0, 1)), [0.7, 0.5, 0.3], atol=1e-4
        )


@pytest.mark.parametrize("bad", [0, 16, 50, 100, 272, 512, 64.0, "64", True])
def test_validate_image_size_rejects(bad):
    with pytest.raises(ValueError, match="multiple of 16 from 32 to 256"):
        validate_image_size(bad)


@pytest.mark.parametrize("good", [32, 48, 64, 80, 128, 240, 256])
def test_validate_image_size_accepts(good):
    assert validate_image_size(good) == good
