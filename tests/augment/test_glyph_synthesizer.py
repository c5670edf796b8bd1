"""GlyphSynthesizer: boxes that match the pasted ink, labels in every format, serialisation,
the tf.data adapter, crowded pages and crop mode.

The bank holds two kinds of glyph told apart by ink colour: "alpha" darkens only green and
blue (red ink), "epsilon" only red and green (blue ink). The channel a box darkens therefore
says which letter was pasted there, so labels are checked against the page itself.
"""

from __future__ import annotations

import os
import pickle

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import albumentations as A
import numpy as np
import pytest

from glyphvae.augment import GlyphSynthesizer
from glyphvae.augment.boxes import BOX_FORMATS, convert_boxes
from glyphvae.augment.tf_data import make_tf_map, numpy_map
from glyphvae.bank import GlyphBank
from tests.helpers import PAPER, draw_glyph

RED_INK = (PAPER[0], 0.2 * PAPER[1], 0.2 * PAPER[2])  # ratio (1, .2, .2): R untouched
BLUE_INK = (0.2 * PAPER[0], 0.2 * PAPER[1], PAPER[2])  # ratio (.2, .2, 1): B untouched
LABEL_MAP = {"alpha": 1, "epsilon": 2}
STRONG = 30  # darkening (0-255) that only a matte above the box threshold can cause


def make_bank(n: int = 4, size: int = 32) -> GlyphBank:
    rng = np.random.default_rng(0)
    images, letters = [], []
    for letter, ink in (("alpha", RED_INK), ("epsilon", BLUE_INK)):
        for _ in range(n):
            glyph = draw_glyph(rng, size, size, ink=ink, noise=0.01)
            images.append((glyph * 255 + 0.5).astype(np.uint8))
            letters.append(letter)
    return GlyphBank(np.stack(images), letters)


def make_page(size: int = 192, gradient: bool = True) -> np.ndarray:
    page = np.empty((size, size, 3), np.float32)
    page[...] = PAPER
    if gradient:
        page *= np.linspace(0.9, 1.05, size, dtype=np.float32)[None, :, None]
    return (np.clip(page, 0, 1) * 255 + 0.5).astype(np.uint8)


@pytest.fixture(scope="module")
def bank() -> GlyphBank:
    return make_bank()


@pytest.fixture(scope="module")
def bank_path(bank: GlyphBank, tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(bank.save(tmp_path_factory.mktemp("bank") / "bank.npz"))


def synth(bank_path: str, **kwargs) -> GlyphSynthesizer:
    defaults = {
        "count_range": (3, 5),
        "letter_height_range": (0.12, 0.15),
        "ink_jitter": 0.0,
        "p": 1.0,
    }
    return GlyphSynthesizer(bank=bank_path, **{**defaults, **kwargs})


def page_pipeline(transform: GlyphSynthesizer, fmt: str = "pascal_voc", *more, seed: int = 0):
    params = A.BboxParams(format=fmt, label_fields=["labels"])
    return A.Compose([transform, *more], bbox_params=params, seed=seed)


def darkening(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """How much each pixel got darker, per channel (0-255)."""
    return before.astype(np.int32) - after.astype(np.int32)


def letter_in_box(dark: np.ndarray, box: np.ndarray) -> str:
    """The letter whose ink colour darkened this pascal_voc box."""
    x0, y0, x1, y1 = np.round(box).astype(int)
    red, blue = dark[y0:y1, x0:x1, 0].sum(), dark[y0:y1, x0:x1, 2].sum()
    return "alpha" if blue > red else "epsilon"


def check_boxes_match_ink(before: np.ndarray, after: np.ndarray, boxes: np.ndarray) -> None:
    """Boxes inside the image, every strong ink pixel in a box, every box edge on ink."""
    h, w = before.shape[:2]
    dark = darkening(before, after).max(axis=2)
    assert dark.min() >= 0  # multiply blending only darkens
    inside = np.zeros((h, w), bool)
    for x0, y0, x1, y1 in np.round(boxes).astype(int):
        assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
        inside[y0:y1, x0:x1] = True
        ink = dark[y0:y1, x0:x1]
        assert ink.max() > 3 * STRONG  # a glyph was pasted here
        # tight: ink on each of the box's four edges
        assert ink[0].max() > 0 and ink[-1].max() > 0
        assert ink[:, 0].max() > 0 and ink[:, -1].max() > 0
    assert not (dark > STRONG)[~inside].any(), "ink outside every box"


# ---------------------------------------------------------------------- page mode
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_boxes_lie_inside_and_cover_the_pasted_ink(bank_path: str, seed: int) -> None:
    page = make_page()
    t = page_pipeline(synth(bank_path, rotation_range=(-10, 10)), seed=seed)
    existing = [[5.0, 5.0, 25.0, 30.0]]
    out = t(image=page, bboxes=existing, labels=["x"])
    boxes = np.asarray(out["bboxes"])
    assert out["image"].shape == page.shape and out["image"].dtype == np.uint8
    assert 4 <= len(boxes) <= 6 and len(out["labels"]) == len(boxes)
    np.testing.assert_allclose(boxes[0], existing[0], atol=1e-4)  # float32 inside albumentations
    assert out["labels"][0] == "x"
    new = boxes[1:]
    check_boxes_match_ink(page, out["image"], new)
    np.testing.assert_array_equal(out["image"][5:30, 5:25], page[5:30, 5:25])  # existing kept
    dark = darkening(page, out["image"])
    assert [letter_in_box(dark, b) for b in new] == list(out["labels"][1:])


def test_paste_into_numpy_api(bank: GlyphBank) -> None:
    page = make_page().astype(np.float32) / 255
    s = GlyphSynthesizer.from_bank(bank, count_range=(4, 4), letter_height_range=(0.12, 0.12))
    out, boxes, letters = s.paste_into(page, None, np.random.default_rng(3))
    assert out.dtype == np.float32 and boxes.shape == (4, 4) and len(letters) == 4
    before, after = (np.round(a * 255).astype(np.uint8) for a in (page, out))
    check_boxes_match_ink(before, after, boxes)
    assert [letter_in_box(darkening(before, after), b) for b in boxes] == letters


@pytest.mark.parametrize("fmt", BOX_FORMATS)
def test_labels_line_up_with_boxes_in_every_format(bank_path: str, fmt: str) -> None:
    page = make_page(160)
    # half-pixel edges: format round-off can never turn touching boxes into overlapping ones
    existing_px = np.array([[10.5, 10.5, 30.5, 34.5], [120.5, 100.5, 140.5, 124.5]])
    existing = convert_boxes(existing_px, "pascal_voc", fmt, page.shape).tolist()
    out = page_pipeline(synth(bank_path), fmt, seed=4)(
        image=page, bboxes=existing, labels=["x", "y"]
    )
    px = convert_boxes(np.asarray(out["bboxes"]), fmt, "pascal_voc", page.shape)
    np.testing.assert_allclose(px[:2], existing_px, atol=1e-4)
    assert len(px) == len(out["labels"]) > 2
    assert list(out["labels"][:2]) == ["x", "y"]
    dark = darkening(page, out["image"])
    assert [letter_in_box(dark, b) for b in px[2:]] == list(out["labels"][2:])
    check_boxes_match_ink(page, out["image"], px[2:])
    # the same seed pastes the same glyphs whatever the format
    ref = page_pipeline(synth(bank_path), seed=4)(
        image=page, bboxes=existing_px.tolist(), labels=["x", "y"]
    )
    np.testing.assert_array_equal(out["image"], ref["image"])
    np.testing.assert_allclose(px, np.asarray(ref["bboxes"]), atol=1e-3)


@pytest.mark.parametrize("as_array", [False, True])
def test_integer_label_fields_through_label_map(bank_path: str, as_array: bool) -> None:
    page = make_page(160)
    t = page_pipeline(synth(bank_path, label_map=LABEL_MAP), seed=5)
    labels = np.array([7]) if as_array else [7]
    out = t(image=page, bboxes=[[10.0, 10.0, 30.0, 34.0]], labels=labels)
    assert out["labels"][0] == 7 and len(out["labels"]) == len(out["bboxes"]) > 1
    dark = darkening(page, out["image"])
    expected = [LABEL_MAP[letter_in_box(dark, b)] for b in np.asarray(out["bboxes"])[1:]]
    assert [int(v) for v in out["labels"][1:]] == expected


def test_string_labels_into_an_integer_field_raise_clearly(bank_path: str) -> None:
    t = page_pipeline(synth(bank_path), seed=0)
    with pytest.raises(ValueError, match="numeric labels for the numeric label field 'labels'"):
        t(image=make_page(160), bboxes=[[10.0, 10.0, 30.0, 34.0]], labels=[7])


def test_multiple_label_fields_all_get_the_new_labels(bank_path: str) -> None:
    params = A.BboxParams(format="coco", label_fields=["labels", "names"])
    t = A.Compose([synth(bank_path)], bbox_params=params, seed=2)
    out = t(image=make_page(160), bboxes=[[10, 10, 20, 24]], labels=["a"], names=["b"])
    assert len(out["bboxes"]) == len(out["labels"]) == len(out["names"]) > 1
    assert list(out["labels"][1:]) == list(out["names"][1:])


def test_a_flip_after_the_synthesizer_moves_the_new_boxes(bank_path: str) -> None:
    page = make_page(160, gradient=False)
    plain = page_pipeline(synth(bank_path), seed=6)(image=page, bboxes=[], labels=[])
    flip = A.HorizontalFlip(p=1.0)
    flipped = page_pipeline(synth(bank_path), "pascal_voc", flip, seed=6)(
        image=page, bboxes=[], labels=[]
    )
    np.testing.assert_array_equal(flipped["image"], plain["image"][:, ::-1])
    b = np.asarray(plain["bboxes"])
    mirrored = np.stack([160 - b[:, 2], b[:, 1], 160 - b[:, 0], b[:, 3]], axis=1)
    np.testing.assert_allclose(np.asarray(flipped["bboxes"]), mirrored, atol=1e-4)
    assert list(flipped["labels"]) == list(plain["labels"])
    check_boxes_match_ink(page, flipped["image"], np.asarray(flipped["bboxes"]))


def test_an_affine_after_the_synthesizer_moves_the_new_boxes(bank_path: str) -> None:
    page = make_page(192, gradient=False)
    fill = tuple(int(v) for v in page[0, 0])
    affine = A.Affine(translate_px={"x": 15, "y": -10}, rotate=8, fill=fill, p=1.0)
    plain = page_pipeline(synth(bank_path, count_range=(4, 4)), seed=7)(
        image=page, bboxes=[], labels=[]
    )
    moved = page_pipeline(synth(bank_path, count_range=(4, 4)), "pascal_voc", affine, seed=7)(
        image=page, bboxes=[], labels=[]
    )
    before = np.asarray(plain["bboxes"])
    after = np.asarray(moved["bboxes"])
    assert len(after) == len(moved["labels"]) == len(before) == 4  # none pushed off the page
    assert list(moved["labels"]) == list(plain["labels"])
    # boxes moved with the page: their centres by about the translation (the rotation about
    # the image centre adds a little)
    shift = (after[:, :2] + after[:, 2:]) / 2 - (before[:, :2] + before[:, 2:]) / 2
    assert np.all(np.abs(shift[:, 0] - 15) < 25) and np.all(np.abs(shift[:, 1] + 10) < 25)
    assert not np.allclose(after, before)
    # and they still cover the ink (rotated boxes are the hull of the rotated corners)
    dark = darkening(page, moved["image"]).max(axis=2)
    inside = np.zeros(dark.shape, bool)
    for x0, y0, x1, y1 in np.round(after).astype(int):
        assert 0 <= x0 < x1 <= 192 and 0 <= y0 < y1 <= 192
        inside[y0 - 1 : y1 + 1, x0 - 1 : x1 + 1] = True  # interpolation blurs by a pixel
    assert not (dark > STRONG)[~inside].any()


def test_serialisation_and_pickle_round_trips_give_the_same_output(bank_path: str) -> None:
    page = make_page(160)

    def pipeline() -> A.Compose:
        return page_pipeline(
            synth(bank_path, p=0.9),
            "coco",
            A.Affine(rotate=(-5, 5), p=1.0),
            A.RandomBrightnessContrast(p=1.0),
            seed=11,
        )

    original = pipeline()
    from_dict = A.from_dict(A.to_dict(original))
    from_dict.set_random_seed(11)  # A.to_dict does not store the seed
    restored = pickle.loads(pickle.dumps(original))
    assert restored.transforms[0]._bank is None  # reloaded from the path, not pickled
    pipelines = (original, from_dict, restored)
    runs = [[t(image=page, bboxes=[], labels=[]) for _ in range(3)] for t in pipelines]
    for other in runs[1:]:
        for a, b in zip(runs[0], other, strict=True):
            np.testing.assert_array_equal(a["image"], b["image"])
            np.testing.assert_array_equal(np.asarray(a["bboxes"]), np.asarray(b["bboxes"]))
            assert list(a["labels"]) == list(b["labels"])
    assert any(len(r["bboxes"]) for r in runs[0])


def test_an_in_memory_bank_pickles_but_does_not_serialise(bank: GlyphBank) -> None:
    s = GlyphSynthesizer.from_bank(bank, count_range=(2, 2), p=1.0)
    clone = pickle.loads(pickle.dumps(s))
    assert len(clone.glyph_bank) == len(bank)
    with pytest.raises(ValueError, match=r"save it with bank\.save"):
        A.to_dict(A.Compose([s]))


def test_a_page_without_free_space_gets_no_pastes(bank_path: str, bank: GlyphBank) -> None:
    page = make_page(128)
    grid = [[x, y, x + 16.0, y + 16.0] for y in range(0, 128, 16) for x in range(0, 128, 16)]
    labels = ["x"] * len(grid)
    out = page_pipeline(synth(bank_path, count_range=(5, 5)), seed=0)(
        image=page, bboxes=grid, labels=labels
    )
    np.testing.assert_array_equal(out["image"], page)
    np.testing.assert_array_equal(np.asarray(out["bboxes"]), grid)
    assert list(out["labels"]) == labels
    s = GlyphSynthesizer.from_bank(bank, count_range=(5, 5))
    new_page, boxes, letters = s.paste_into(page, np.asarray(grid), np.random.default_rng(0))
    assert boxes.shape == (0, 4) and letters == []
    np.testing.assert_array_equal(new_page, page)


def test_count_range_zero_and_p_zero_leave_the_page(bank_path: str) -> None:
    page = make_page(128)
    for kwargs in ({"count_range": (0, 0)}, {"p": 0.0}):
        out = page_pipeline(synth(bank_path, **kwargs))(image=page, bboxes=[], labels=[])
        np.testing.assert_array_equal(out["image"], page)
        assert len(out["bboxes"]) == 0


# ---------------------------------------------------------------------- crop mode
def make_crop() -> np.ndarray:
    glyph = draw_glyph(np.random.default_rng(9), 48, 40, noise=0.01)
    return (glyph * 255 + 0.5).astype(np.uint8)


def test_crop_mode_replaces_the_label(bank_path: str) -> None:
    crop = make_crop()
    out = A.Compose([synth(bank_path, mode="crop")], seed=1)(image=crop, label="beta")
    assert out["label"] in ("alpha", "epsilon")
    assert out["image"].shape == crop.shape and out["image"].dtype == np.uint8
    assert np.abs(darkening(crop, out["image"])).max() > 50
    # the new glyph's ink colour is that of its letter
    dark = darkening(crop, out["image"]).clip(0)
    assert letter_in_box(dark, np.array([0, 0, 40, 48])) == out["label"]


def test_crop_mode_integer_labels_via_label_map(bank_path: str) -> None:
    crop = make_crop()
    t = A.Compose([synth(bank_path, mode="crop", label_map=LABEL_MAP)], seed=2)
    assert t(image=crop, label=5)["label"] in (1, 2)
    with pytest.raises(ValueError, match="numeric labels for the numeric label field 'label'"):
        A.Compose([synth(bank_path, mode="crop")])(image=crop, label=5)


@pytest.mark.parametrize("label", ["beta", 5])
def test_crop_mode_with_p_zero_keeps_image_and_label(bank_path: str, label) -> None:
    crop = make_crop()
    out = A.Compose([synth(bank_path, mode="crop", p=0.0)], seed=0)(image=crop, label=label)
    assert out["label"] == label
    np.testing.assert_array_equal(out["image"], crop)


# ---------------------------------------------------------------------- tf.data
@pytest.fixture(scope="module")
def tf():
    return pytest.importorskip("tensorflow")


def run_tf(tf, fn, element, seed: int):
    ds = tf.data.Dataset.from_tensors((element, tf.constant(seed, tf.int64)))
    return next(iter(ds.map(lambda e, s: fn(*e, seed=s)).as_numpy_iterator()))


@pytest.mark.parametrize("fmt", ["pascal_voc", "coco"])
def test_tf_data_page_mode_matches_numpy(tf, bank_path: str, fmt: str) -> None:
    s = synth(bank_path, count_range=(3, 3))
    page = make_page(160)
    boxes = convert_boxes(np.array([[10.0, 10.0, 30.0, 34.0]]), "pascal_voc", fmt, page.shape)
    boxes = boxes.astype(np.float32)
    tf_map = s.tf_map if fmt == "pascal_voc" else make_tf_map(s, box_format=fmt)
    for seed in (1, 2):
        image, out_boxes, labels = run_tf(tf, tf_map, (page, boxes, np.array([b"x"])), seed)
        ref = numpy_map(s, page, boxes, np.array([b"x"], dtype=object), seed=seed, box_format=fmt)
        np.testing.assert_array_equal(image, ref[0])
        np.testing.assert_allclose(out_boxes, ref[1], atol=1e-4)
        assert labels.tolist() == ref[2].tolist() and len(labels) == len(out_boxes) == 4
        assert labels[0] == b"x" and set(labels[1:].tolist()) <= {b"alpha", b"epsilon"}
        px = convert_boxes(out_boxes[1:], fmt, "pascal_voc", page.shape)
        check_boxes_match_ink(page, image, px)
        dark = darkening(page, image)
        assert [letter_in_box(dark, b).encode() for b in px] == labels[1:].tolist()


def test_tf_data_integer_labels_match_numpy(tf, bank_path: str) -> None:
    s = synth(bank_path, count_range=(2, 2), label_map=LABEL_MAP)
    page, boxes = make_page(128), np.array([[10.0, 10.0, 30.0, 34.0]], np.float32)
    image, _, labels = run_tf(tf, s.tf_map, (page, boxes, np.array([7], np.int64)), 3)
    ref = numpy_map(s, page, boxes, np.array([7], np.int64), seed=3)
    np.testing.assert_array_equal(image, ref[0])
    assert labels.dtype == np.int64 and labels.tolist() == ref[2].tolist()
    assert set(labels[1:].tolist()) <= {1, 2}
    with pytest.raises(ValueError, match="integer labels for an integer label tensor"):
        numpy_map(synth(bank_path), page, boxes, np.array([7]), seed=3)


@pytest.mark.parametrize("label", [b"beta", 5])
def test_tf_data_crop_mode_matches_numpy(tf, bank_path: str, label) -> None:
    s = synth(bank_path, mode="crop", label_map=LABEL_MAP if label == 5 else None)
    crop = make_crop()
    for seed in (0, 1, 2):
        image, new_label = run_tf(tf, s.tf_map, (crop, label), seed)
        ref_image, ref_label = numpy_map(s, crop, np.asarray(label, dtype=type(label)), seed=seed)
        np.testing.assert_array_equal(image, ref_image)
        assert new_label == ref_label  # the whole name, never cut to the input's width
        assert new_label in ((b"alpha", b"epsilon") if label == b"beta" else (1, 2))
    if label == b"beta":  # plain numpy with a str label: str, the whole name
        assert numpy_map(s, crop, "beta", seed=0)[1].item() in ("alpha", "epsilon")


def test_tf_data_no_seed_keeps_static_shapes(tf, bank_path: str) -> None:
    s = synth(bank_path, count_range=(1, 2))
    page = make_page(128)
    ds = tf.data.Dataset.from_tensors((page, np.zeros((0, 4), np.float32), np.zeros(0, bytes)))
    mapped = ds.map(s.tf_map)
    assert mapped.element_spec[0].shape == (128, 128, 3)
    assert mapped.element_spec[1].shape.as_list() == [None, 4]
    image, boxes, labels = next(iter(mapped.as_numpy_iterator()))
    assert 1 <= len(boxes) == len(labels) <= 2
    check_boxes_match_ink(page, image, boxes)
