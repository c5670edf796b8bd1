"""The residual texture: fitted spectra, draws, and its place in GlyphVAE."""

import numpy as np
import pytest

from glyphvae.hub import from_pretrained, save_pretrained
from glyphvae.metrics import laplacian_variance
from glyphvae.models import GlyphVAE
from glyphvae.models.texture import fit_residual_texture
from tests.conftest import TINY
from tests.helpers import draw_glyph


def _grain(n, size, rng, sigma=0.03):
    """Paper grain: vertical fibres (correlated down each column) plus a colour tint."""
    fibres = rng.normal(0.0, sigma, (n, 1, size, 1)) * np.ones((1, size, 1, 1))
    return fibres * np.array([1.0, 0.8, 0.5]) + rng.normal(0.0, sigma / 4, (n, size, size, 3))


def test_draws_have_the_residuals_spectrum_and_colour_axes():
    rng = np.random.default_rng(0)
    residuals = _grain(400, 32, rng)
    texture = fit_residual_texture(residuals, cutoff=0.0)
    draws = texture.sample(400, rng).astype(np.float64)
    # same power per channel and same channel correlation as the residuals
    np.testing.assert_allclose(draws.std(axis=(0, 1, 2)), residuals.std(axis=(0, 1, 2)), rtol=0.05)
    np.testing.assert_allclose(
        np.corrcoef(draws.reshape(-1, 3).T), np.corrcoef(residuals.reshape(-1, 3).T), atol=0.05
    )
    # the fibres run down the columns: neighbours in a column correlate, across a row not
    down = np.corrcoef(draws[:, 1:, :, 0].ravel(), draws[:, :-1, :, 0].ravel())[0, 1]
    across = np.corrcoef(draws[:, :, 1:, 0].ravel(), draws[:, :, :-1, 0].ravel())[0, 1]
    assert down > 0.8 and abs(across) < 0.1


def test_cutoff_drops_coarse_residuals():
    rng = np.random.default_rng(1)
    yy = np.mgrid[:32, :32][0] / 32.0
    blotch = 0.1 * np.sin(2 * np.pi * yy)[None, ..., None] * rng.choice([-1, 1], (200, 1, 1, 1))
    residuals = blotch + rng.normal(0, 0.01, (200, 32, 32, 3))
    coarse = fit_residual_texture(residuals, cutoff=0.0).sample(200, rng)
    fine = fit_residual_texture(residuals, cutoff=0.15).sample(200, rng)
    assert coarse.std() > 0.05  # the one-cycle blotch comes back at random
    assert fine.std() < 0.012  # only the fine noise is left


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.zeros((1, 8, 8, 3)), "at least 2"),
        (np.zeros((4, 8, 6, 3)), "square RGB"),
        (np.full((4, 8, 8, 3), np.nan), "finite"),
    ],
)
def test_bad_residuals_are_refused(bad, match):
    with pytest.raises(ValueError, match=match):
        fit_residual_texture(bad)
    with pytest.raises(ValueError, match="cutoff"):
        fit_residual_texture(np.zeros((4, 8, 8, 3)), cutoff=0.7)


def _crops(n=12, size=32, seed=0):
    rng = np.random.default_rng(seed)
    ink = np.stack([draw_glyph(rng, size, size, noise=0.0) for _ in range(n)])
    return np.clip(ink + _grain(n, size, rng), 0, 1).astype(np.float32)


def test_model_texture_sharpens_samples_and_round_trips(tmp_path):
    model = GlyphVAE(**TINY, texture=True, letter="epsilon")
    assert not model.texture_fitted
    plain = model.generate(8, seed=3)
    np.testing.assert_array_equal(plain, model.generate(8, seed=3, texture=False))
    crops = _crops()
    model.fit_texture(crops)
    assert model.texture_fitted
    textured = model.generate(8, seed=3)
    assert textured.shape == plain.shape and textured.dtype == np.float32
    assert textured.min() >= 0.0 and textured.max() <= 1.0
    np.testing.assert_array_equal(textured, model.generate(8, seed=3))  # seeded
    np.testing.assert_array_equal(plain, model.generate(8, seed=3, texture=False))
    # the texture brings back the fine detail the decoder misses: much more edge energy
    assert laplacian_variance(textured).mean() > 3 * laplacian_variance(plain).mean()
    # same colour on average: texture is zero-mean
    np.testing.assert_allclose(textured.mean(axis=(0, 1, 2)), plain.mean(axis=(0, 1, 2)), atol=0.01)
    save_pretrained(model, tmp_path / "m")
    loaded = from_pretrained(tmp_path / "m")
    assert loaded.texture and loaded.texture_fitted
    np.testing.assert_array_equal(loaded.generate(8, seed=3), textured)


def test_texture_errors_are_clear():
    model = GlyphVAE(**TINY)
    assert model.get_config()["texture"] is False and not model.texture_fitted
    with pytest.raises(ValueError, match="texture=True"):
        model.fit_texture(_crops(4))
    with pytest.raises(ValueError, match="fitted texture"):
        model.generate(2, seed=0, texture=True)
    images = model.generate(2, seed=0)
    np.testing.assert_array_equal(model.add_texture(images, seed=0), images)  # nothing fitted
