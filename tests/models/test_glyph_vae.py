import json

import keras
import numpy as np
import pytest

from glyphvae.hub import from_pretrained, save_pretrained
from glyphvae.models import GlyphVAE
from tests.conftest import TINY


def _batch(n=8, size=32, seed=0):
    rng = np.random.default_rng(seed)
    x = np.empty((n, size, size, 3), np.float32)
    x[...] = (0.8, 0.6, 0.4)
    x[:, size // 3 : size // 2, size // 4 : 3 * size // 4] = 0.1
    return np.clip(x + rng.normal(0, 0.03, x.shape), 0, 1).astype(np.float32)


def test_config_round_trip():
    model = GlyphVAE(**TINY, kl_weight=0.5, mean_color=[0.7, 0.5, 0.3], letter="epsilon", seed=3)
    config = model.get_config()
    json.dumps(config)  # JSON primitives only
    clone = GlyphVAE.from_config(config)
    assert clone.get_config() == config
    assert clone.count_params() == model.count_params()


def test_keras_archive_save_load_gives_identical_outputs(tmp_path):
    model = GlyphVAE(**TINY, seed=1)
    model.compile(keras.optimizers.Adam(1e-3))
    model.fit(_batch(), epochs=1, batch_size=4, verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    z = np.random.default_rng(0).standard_normal((5, TINY["latent_dim"])).astype(np.float32)
    np.testing.assert_array_equal(model.decode(z), loaded.decode(z))
    np.testing.assert_array_equal(model.encode(_batch())[0], loaded.encode(_batch())[0])


def test_save_pretrained_round_trip(tmp_path):
    model = GlyphVAE(**TINY, letter="alpha", seed=2)
    model.compile(keras.optimizers.Adam(1e-3))
    model.fit(_batch(), epochs=1, batch_size=4, verbose=0)
    save_pretrained(model, tmp_path / "m", metadata={"note": "test"})
    names = sorted(p.name for p in (tmp_path / "m").iterdir())
    assert names == ["config.json", "metadata.json", "model.weights.h5"]
    loaded = from_pretrained(tmp_path / "m")
    assert loaded.letter == "alpha"
    np.testing.assert_array_equal(model.generate(6, seed=4), loaded.generate(6, seed=4))
    meta = json.loads((tmp_path / "m" / "metadata.json").read_text())
    assert meta["note"] == "test" and meta["versions"]["keras"] == keras.__version__


def test_weights_that_do_not_match_the_config_are_rejected(tmp_path):
    save_pretrained(GlyphVAE(**TINY), tmp_path / "m")
    doc = json.loads((tmp_path / "m" / "config.json").read_text())
    doc["config"]["latent_dim"] = 8
    (tmp_path / "m" / "config.json").write_text(json.dumps(doc))
    with pytest.raises(
        ValueError,
        match=r"weights matching.*5 with other shapes.*\(4, 1024\), expected \(8, 1024\)",
    ):
        from_pretrained(tmp_path / "m")


def test_truncated_weights_file_is_rejected(tmp_path):
    save_pretrained(GlyphVAE(**TINY), tmp_path / "m")
    weights = tmp_path / "m" / "model.weights.h5"
    weights.write_bytes(weights.read_bytes()[:2000])
    with pytest.raises(ValueError, match="cannot be read"):
        from_pretrained(tmp_path / "m")


def test_newer_format_and_unknown_keys_are_rejected(tmp_path):
    save_pretrained(GlyphVAE(**TINY), tmp_path / "m")
    path = tmp_path / "m" / "config.json"
    doc = json.loads(path.read_text())
    path.write_text(json.dumps({**doc, "format_version": 99}))
    with pytest.raises(ValueError, match="format version"):
        from_pretrained(tmp_path / "m")
    doc["config"]["module"] = "os"
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="unknown keys"):
        from_pretrained(tmp_path / "m")


@pytest.mark.parametrize(
    ("size", "channels", "res_blocks"),
    [(32, (8, 16), (0, 1)), (128, (8, 16, 32, 64), (0, 0, 1, 1))],
)
def test_a_few_training_steps_are_finite_and_not_constant(size, channels, res_blocks):
    keras.utils.set_random_seed(0)
    model = GlyphVAE(size, 4, channels, res_blocks, mean_color=[0.8, 0.6, 0.4], seed=0)
    model.compile(keras.optimizers.Adam(2e-3, global_clipnorm=1.0))
    history = model.fit(_batch(8, size), epochs=3, batch_size=4, verbose=0).history
    for key in ("loss", "mse", "kl", "sigma"):
        assert np.all(np.isfinite(history[key])), key
    assert history["loss"][-1] < history["loss"][0]
    out = model.generate(8, seed=0)
    assert out.shape == (8, size, size, 3)
    assert np.all(np.isfinite(out))
    assert out.std() > 1e-3  # not constant
    assert out.mean() > 0.05  # not black
    assert np.abs(out[0] - out[1]).max() > 1e-4  # different codes give different glyphs


def test_loss_scale_does_not_grow_with_image_size():
    losses = {}
    for size, channels in ((32, (8, 16)), (128, (8, 16))):
        model = GlyphVAE(size, 4, channels, 0, mean_color=[0.8, 0.6, 0.4], seed=0)
        model.compile(keras.optimizers.Adam(1e-3))
        losses[size] = model.evaluate(_batch(4, size), verbose=0, return_dict=True)["loss"]
    assert abs(losses[128] - losses[32]) < 0.5 * abs(losses[32]) + 0.5


def test_extreme_inputs_keep_log_variance_clamped():
    model = GlyphVAE(**TINY)
    w = model.encoder.get_layer("z_log_var")
    w.kernel.assign(np.full(w.kernel.shape, 1e3, np.float32))
    _, log_var = model.encode(np.ones((2, 32, 32, 3), np.float32))
    assert np.all(np.isfinite(log_var)) and log_var.max() <= 4.0 and log_var.min() >= -10.0


def test_generate_is_seeded():
    model = GlyphVAE(**TINY)
    np.testing.assert_array_equal(model.generate(4, seed=1), model.generate(4, seed=1))
    assert not np.array_equal(model.generate(4, seed=1), model.generate(4, seed=2))
    rng = np.random.default_rng(5)
    assert model.generate(3, seed=rng).shape == (3, 32, 32, 3)


def test_methods_shapes():
    model = GlyphVAE(**TINY)
    x = _batch(3)
    mean, log_var = model.encode(x)
    assert mean.shape == log_var.shape == (3, 4)
    assert model.decode(mean).shape == (3, 32, 32, 3)
    assert model.reconstruct((x * 255).astype(np.uint8)).shape == (3, 32, 32, 3)
    assert model.reconstruct(x[0]).shape == (1, 32, 32, 3)
    path = model.interpolate(x[0], x[1], steps=5)
    assert path.shape == (5, 32, 32, 3)


def test_output_bias_starts_at_the_mean_colour():
    model = GlyphVAE(**TINY, mean_color=[0.8, 0.5, 0.2])
    out = model.generate(16, seed=0)
    np.testing.assert_allclose(out.mean((0, 1, 2)), [0.8, 0.5, 0.2], atol=0.1)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"image_size": 100}, "multiple of 16"),
        ({"image_size": 48, "channels": (8, 16, 32, 64, 128), "res_blocks": 0}, "divisible by"),
        ({"latent_dim": 0}, "latent_dim"),
        ({"decoder_sigma": "huge"}, "decoder_sigma"),
        ({"res_blocks": (1, 2, 3)}, "res_blocks"),
        ({"mean_color": [1.5, 0, 0]}, "mean_color"),
        ({"sigma": 0.001}, "min_sigma <= sigma"),
    ],
)
def test_bad_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GlyphVAE(**{**TINY, **kwargs})


def test_bad_inputs_to_methods():
    model = GlyphVAE(**TINY)
    with pytest.raises(ValueError, match=r"\(n, 32, 32, 3\)"):
        model.encode(np.zeros((2, 64, 64, 3), np.float32))
    with pytest.raises(ValueError, match="finite pixel"):
        model.encode(np.full((1, 32, 32, 3), np.nan, np.float32))
    with pytest.raises(ValueError, match=r"\(n, 4\)"):
        model.decode(np.zeros((2, 5), np.float32))
    with pytest.raises(ValueError, match="finite latent"):
        model.decode(np.full((1, 4), np.inf, np.float32))


def test_mixed_precision_keeps_float32_outputs_and_finite_loss():
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model = GlyphVAE(**TINY)
    finally:
        keras.config.set_dtype_policy(previous)
    model.compile(keras.optimizers.Adam(1e-3))
    out = model(_batch(2), training=True)
    assert all(keras.backend.standardize_dtype(v.dtype) == "float32" for v in out.values())
    history = model.fit(_batch(4), epochs=1, batch_size=2, verbose=0).history
    assert np.isfinite(history["loss"][0])


def test_mixture_prior_fits_samples_and_saves(tmp_path):
    model = GlyphVAE(**TINY, prior_components=3, letter="epsilon")
    assert not model.prior_fitted
    gmm = model.fit_prior(_batch(8), seed=0)
    assert model.prior_fitted and abs(gmm.weights.sum() - 1) < 1e-9
    a = model.generate(6, seed=1)
    np.testing.assert_array_equal(a, model.generate(6, seed=1))
    assert not np.array_equal(a, model.generate(6, seed=1, prior="standard"))
    save_pretrained(model, tmp_path / "m")
    loaded = from_pretrained(tmp_path / "m")
    assert loaded.prior_fitted
    np.testing.assert_array_equal(loaded.generate(6, seed=1), a)


def test_mixture_weights_stored_in_float32_still_sample():
    model = GlyphVAE(**TINY, prior_components=3)
    # three float32 thirds do not sum to exactly 1 in float64
    model.prior_weights.assign(np.full(3, 1 / 3, np.float32))
    assert model.generate(5, seed=0).shape == (5, 32, 32, 3)
    with pytest.raises(ValueError, match="prior_components=0"):
        GlyphVAE(**TINY).fit_prior(_batch(2))


def test_sample_temperature_is_the_default_of_generate():
    model = GlyphVAE(**TINY, sample_temperature=0.0)
    out = model.generate(3, seed=0)
    np.testing.assert_allclose(out[0], out[1], atol=1e-6)  # temperature 0: the prior mean
    assert not np.allclose(model.generate(3, seed=0, temperature=1.0)[0], out[1], atol=1e-4)
    assert GlyphVAE.from_config(model.get_config()).sample_temperature == 0.0
