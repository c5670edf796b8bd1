import json

import numpy as np
import pytest

from glyphvae.classifier import LetterClassifier, train_classifier
from glyphvae.evaluation import evaluate_generator, format_report, heldout_split, save_sheet
from glyphvae.hub import from_pretrained
from glyphvae.letters import LETTERS
from glyphvae.models import GlyphVAE
from tests.conftest import TINY
from tests.helpers import draw_glyph


def _two_letter_set(n=40, seed=0):
    """Crops of two visibly different 'letters': dark bars vs dark rings."""
    import cv2

    rng = np.random.default_rng(seed)
    images, labels = [], []
    for i in range(n):
        img = np.full((32, 32, 3), (0.8, 0.65, 0.45), np.float32)
        img += rng.normal(0, 0.03, img.shape).astype(np.float32)
        if i % 2:
            cv2.circle(img, (16 + int(rng.integers(-3, 4)), 16), 8, (0.1, 0.1, 0.1), 3)
            labels.append(LETTERS["omicron"].index)
        else:
            x = 16 + int(rng.integers(-3, 4))
            cv2.line(img, (x, 5), (x, 27), (0.1, 0.1, 0.1), 3)
            labels.append(LETTERS["iota"].index)
        images.append((np.clip(img, 0, 1) * 255).astype(np.uint8))
    return np.stack(images), np.array(labels)


def test_classifier_learns_and_round_trips(tmp_path):
    x, y = _two_letter_set(96)
    clf = train_classifier(x[:64], y[:64], epochs=15, batch_size=16, seed=0, image_size=16, width=4)
    accuracy = np.mean(clf.predict_proba(x[64:]).argmax(1) == y[64:])
    assert accuracy > 0.9
    assert clf.predict_letters(x[64:66]) == ["iota", "omicron"]
    clf.save_pretrained(tmp_path / "clf", metadata={"note": 1})
    loaded = LetterClassifier.from_pretrained(tmp_path / "clf")
    np.testing.assert_allclose(loaded.embed(x[:4]), clf.embed(x[:4]), atol=1e-6)
    with pytest.raises(ValueError, match="Expected a saved GlyphVAE"):
        from_pretrained(tmp_path / "clf", expected_class="GlyphVAE")


def test_classifier_resizes_any_input_size():
    clf = LetterClassifier(image_size=16, width=4, feature_dim=8)
    assert clf.embed(np.zeros((3, 64, 64, 3), np.uint8)).shape == (3, 8)
    assert clf.predict_proba(np.zeros((1, 16, 16, 3), np.float32)).shape == (1, 24)
    with pytest.raises(ValueError, match="RGB images"):
        clf.embed(np.zeros((2, 16, 16), np.float32))


def test_evaluate_generator_report_and_sheet(crop_tree, tmp_path):
    train, held = heldout_split(crop_tree, "epsilon", 32, seed=0, val_fraction=0.3)
    assert not set(train.groups) & set(held.groups)
    model = GlyphVAE(**TINY, letter="epsilon", mean_color=train.mean_color())
    clf = LetterClassifier(image_size=16, width=4, feature_dim=8)
    report = evaluate_generator(model, clf, train, held, n=40, seed=0)
    json.dumps(report)
    assert report["letter"] == "epsilon" and report["n_generated"] == 40
    assert 0 <= report["precision"] <= 1 and 0 <= report["recall"] <= 1
    assert report["sharpness"]["ratio"] >= 0
    assert report["colour"]["delta_e_generated_heldout"] >= 0
    assert report["memorisation"]["copies"] >= 0
    assert set(report["heldout_papyri"]) == {str(g) for g in held.groups}
    text = format_report(report)
    assert "precision" in text and "epsilon" in text
    path = save_sheet(tmp_path / "sheet.png", model, train, held, n=4)
    assert path.is_file()
    assert report["texture"] is False


def test_evaluate_generator_with_and_without_texture(crop_tree):
    train, held = heldout_split(crop_tree, "epsilon", 32, seed=0, val_fraction=0.3)
    model = GlyphVAE(**TINY, letter="epsilon", texture=True, mean_color=train.mean_color())
    model.fit_texture(train.images)
    clf = LetterClassifier(image_size=16, width=4, feature_dim=8)
    with_tex = evaluate_generator(model, clf, train, held, n=20, seed=0)
    without = evaluate_generator(model, clf, train, held, n=20, seed=0, texture=False)
    assert with_tex["texture"] is True and without["texture"] is False
    assert with_tex["sharpness"]["generated"] > without["sharpness"]["generated"]


def test_memorised_copies_are_counted(crop_tree):
    train, held = heldout_split(crop_tree, "epsilon", 32, seed=0, val_fraction=0.3)

    class Copier:
        """A 'generator' that returns its training crops: every glyph is a copy."""

        letter = "epsilon"
        prior_fitted = False

        def generate(self, n, seed=None, temperature=1.0, prior="auto"):
            return train.images[np.arange(n) % len(train)].astype(np.float32) / 255.0

    clf = LetterClassifier(image_size=16, width=4, feature_dim=8)
    report = evaluate_generator(Copier(), clf, train, held, n=20)
    assert report["memorisation"]["copies"] == 20
    assert report["memorisation"]["median_nn_generated"] == pytest.approx(0.0, abs=1e-6)
    assert report["memorisation"]["copies_heldout"] == 0


def test_blurry_new_glyphs_are_not_copies(crop_tree):
    import cv2

    train, held = heldout_split(crop_tree, "epsilon", 32, seed=0, val_fraction=0.3)
    mean = train.images.astype(np.float32).mean(axis=0) / 255.0  # the blurriest "new" glyph

    class Averager:
        letter = "epsilon"
        prior_fitted = False

        def generate(self, n, seed=None, temperature=1.0, prior="auto"):
            return np.stack([cv2.GaussianBlur(mean, (0, 0), 1.0)] * n)

    clf = LetterClassifier(image_size=16, width=4, feature_dim=8)
    report = evaluate_generator(Averager(), clf, train, held, n=10)
    assert report["memorisation"]["copies"] == 0


def test_heldout_split_needs_enough_crops(tmp_path):
    rng = np.random.default_rng(0)
    from tests.helpers import write_rgb

    for i in range(3):
        write_rgb(tmp_path / "epsilon" / f"{i}.png", draw_glyph(rng))
    with pytest.raises(ValueError, match="at least 4 held-out crops"):
        heldout_split(tmp_path, "epsilon", 32)
