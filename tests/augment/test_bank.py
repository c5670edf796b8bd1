"""GlyphBank: built from crops, arrays or a tiny model; saved, loaded, pickled, bounded."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from glyphvae.bank import GlyphBank, _bytes_per_glyph
from glyphvae.data.io import to_uint8
from tests.conftest import TINY
from tests.helpers import draw_glyph, make_crop_tree


def glyph_images(n: int, size: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([(draw_glyph(rng, size, size) * 255 + 0.5).astype(np.uint8) for _ in range(n)])


@pytest.fixture(scope="module")
def bank() -> GlyphBank:
    return GlyphBank(glyph_images(6), ["ε"] * 3 + ["Alpha"] * 3, metadata={"source": "test"})


@pytest.fixture(scope="module")
def tiny_models() -> list:
    from glyphvae.models import GlyphVAE

    return [GlyphVAE(**TINY, letter="epsilon"), GlyphVAE(**TINY, letter="alpha")]


def test_import_alone_has_no_cycle() -> None:
    # glyphvae.augment imports glyphvae.bank, which must not import glyphvae.augment at load
    code = "import glyphvae.bank; import glyphvae.augment"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_basics(bank: GlyphBank) -> None:
    assert len(bank) == 6 and bank.image_size == 32
    assert bank.letter_names == ["alpha", "epsilon"]
    assert bank.counts() == {"alpha": 3, "epsilon": 3}
    assert bank.indices(["alpha"]).tolist() == [3, 4, 5]
    assert bank.mattes.dtype == np.uint8 and bank.mattes.shape == (6, 32, 32)
    assert bank.mattes.max() == 255 and bank.mattes[:, 0].max() == 0  # ink; feathered edge
    with pytest.raises(ValueError, match="present in the bank"):
        bank.indices(["beta"])


def test_layers_are_cached_and_pickling_drops_them(bank: GlyphBank) -> None:
    layers = bank.layers(2)
    assert layers.shape == (32, 32, 4) and layers.dtype == np.float32
    assert bank.layers(2) is layers
    clone = pickle.loads(pickle.dumps(bank))
    assert clone._layers == {} and 2 in bank._layers
    assert len(pickle.dumps(bank)) == len(pickle.dumps(clone))
    np.testing.assert_array_equal(clone.images, bank.images)
    np.testing.assert_array_equal(clone.layers(2), layers)


def test_save_load_round_trip(bank: GlyphBank, tmp_path: Path) -> None:
    path = bank.save(tmp_path / "sub" / "bank.npz")
    assert path.is_file() and not list(path.parent.glob(".tmp-*"))
    loaded = GlyphBank.load(path)
    np.testing.assert_array_equal(loaded.images, bank.images)
    np.testing.assert_array_equal(loaded.mattes, bank.mattes)
    assert loaded.letters.tolist() == bank.letters.tolist()
    assert loaded.metadata["source"] == "test" and loaded.metadata["format_version"] == 1
    np.testing.assert_array_equal(loaded.layers(4), bank.layers(4))


def test_bad_files_give_clear_errors(bank: GlyphBank, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="missing path"):
        GlyphBank.load(tmp_path / "missing.npz")
    data = bank.save(tmp_path / "good.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    (tmp_path / "text.npz").write_text("not a bank")
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    np.savez(
        tmp_path / "objects.npz",
        images=np.zeros(2),
        letters=np.array(["a", None], dtype=object),
        mattes=np.zeros(2),
    )
    for name in ("cut.npz", "text.npz", "other.npz", "objects.npz"):
        with pytest.raises(ValueError, match=r"Expected a glyph bank \.npz"):
            GlyphBank.load(tmp_path / name)
    newer = {"format_version": 99}
    arrays = {"images": bank.images, "letters": bank.letters, "mattes": bank.mattes}
    np.savez(tmp_path / "newer.npz", **arrays, metadata=np.asarray(json.dumps(newer)))
    with pytest.raises(ValueError, match=r"bank format <= 1\. Received 99"):
        GlyphBank.load(tmp_path / "newer.npz")
    np.savez(tmp_path / "shape.npz", **{**arrays, "mattes": bank.mattes[:, :5]})
    with pytest.raises(ValueError, match="uint8 mattes of shape"):
        GlyphBank.load(tmp_path / "shape.npz")


def test_bad_arrays_rejected() -> None:
    with pytest.raises(ValueError, match="square RGB glyphs"):
        GlyphBank(np.zeros((2, 32, 16, 3), np.uint8), ["alpha", "alpha"])
    with pytest.raises(ValueError, match="one letter per glyph"):
        GlyphBank(np.zeros((2, 32, 32, 3), np.uint8), ["alpha"])
    with pytest.raises(MemoryError, match="max_bytes"):
        GlyphBank(np.zeros((2, 32, 32, 3), np.uint8), ["alpha"] * 2, max_bytes=1000)


def test_from_crops(tmp_path: Path) -> None:
    root = make_crop_tree(tmp_path / "crops", letters=("epsilon", "alpha"), per_letter=6)
    bank = GlyphBank.from_crops(root, ["ε", "alpha"], image_size=32, n_per_letter=4, seed=1)
    assert len(bank) == 8 and bank.counts() == {"alpha": 4, "epsilon": 4}
    assert bank.image_size == 32 and bank.metadata["source"] == "crops"
    assert bank.mattes.max() > 200  # the drawn strokes are found as ink
    everything = GlyphBank.from_crops(root, ["alpha"], image_size=32)
    assert len(everything) == 6


def test_from_models_decodes_in_batches(tiny_models: list, monkeypatch) -> None:
    calls: list[tuple[int, int]] = []
    for model in tiny_models:
        generate = model.generate

        def spy(n, *args, _generate=generate, **kwargs):
            calls.append((n, kwargs["batch_size"]))
            return _generate(n, *args, **kwargs)

        monkeypatch.setattr(model, "generate", spy)
    bank = GlyphBank.from_models(tiny_models, n_per_letter=10, seed=3, batch_size=4)
    assert calls == [(10, 4), (10, 4)]  # one call per model, decoded 4 codes at a time
    assert len(bank) == 20 and bank.counts() == {"alpha": 10, "epsilon": 10}
    assert bank.letters[:10].tolist() == ["epsilon"] * 10 and bank.image_size == 32
    assert bank.metadata["n_per_letter"] == 10 and bank.metadata["seed"] == 3
    one_batch = GlyphBank.from_models(tiny_models, n_per_letter=10, seed=3, batch_size=256)
    # batching changes nothing (but float rounding of the convolutions: at most 1 level)
    assert np.abs(bank.images.astype(int) - one_batch.images).max() <= 1
    # model i uses seed + i
    second = GlyphBank.from_models(tiny_models[1:], n_per_letter=10, seed=4)
    assert np.abs(second.images.astype(int) - bank.images[10:]).max() <= 1
    assert np.abs(second.images.astype(int) - bank.images[:10]).mean() > 1  # not seed + 0


def test_from_models_mapping_keys_name_the_letter(tiny_models: list) -> None:
    from glyphvae.models import GlyphVAE

    bank = GlyphBank.from_models({"β": GlyphVAE(**TINY)}, n_per_letter=2)
    assert bank.letter_names == ["beta"]
    with pytest.raises(ValueError, match="record their letter"):
        GlyphBank.from_models([GlyphVAE(**TINY)], n_per_letter=2)
    with pytest.raises(ValueError, match="n_per_letter >= 1"):
        GlyphBank.from_models(tiny_models, n_per_letter=0)
    with pytest.raises(ValueError, match="at least one model"):
        GlyphBank.from_models([])


def test_from_models_leaves_texture_out_unless_asked() -> None:
    """Pasted glyphs take the grain of the page; a texture in the glyph would break its matte."""
    from glyphvae.models import GlyphVAE

    model = GlyphVAE(**TINY, texture=True, letter="epsilon")
    model.fit_texture(glyph_images(8))
    plain = GlyphBank.from_models([model], n_per_letter=6, seed=2)
    np.testing.assert_array_equal(plain.images, to_uint8(model.generate(6, seed=2, texture=False)))
    textured = GlyphBank.from_models([model], n_per_letter=6, seed=2, texture=True)
    assert plain.metadata["texture"] is False and textured.metadata["texture"] is True
    assert np.abs(textured.images.astype(int) - plain.images).mean() > 2


def test_from_models_refuses_oversized_request_before_decoding(
    tiny_models: list, monkeypatch
) -> None:
    for model in tiny_models:
        monkeypatch.setattr(model, "generate", pytest.fail)  # decoding would fail the test
    n = 10_000_000  # ~20 GB of glyphs at 32 px
    with pytest.raises(MemoryError, match="max_bytes=1,073,741,824"):
        GlyphBank.from_models(tiny_models, n_per_letter=n)
    with pytest.raises(MemoryError, match="20 glyphs"):
        GlyphBank.from_models(tiny_models, n_per_letter=10, max_bytes=10 * _bytes_per_glyph(32))
