"""Bad input to the compositing functions and the synthesizer, fuzzed.

Pages of any size (1×1 included) and dtype, glyphs larger than the page, boxes outside the
image, inverted or empty box lists, NaN and inf anywhere: each call gives a correct result
(a page of the same shape and dtype, finite, only darkened, boxes inside it) or one clear
``ValueError``/``TypeError``. Nothing else escapes, and no call changes its inputs or another
call's output.
"""

from __future__ import annotations

import os

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import albumentations as A
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from glyphvae.augment import GlyphSynthesizer
from glyphvae.augment.functional import (
    PastePlan,
    apply_pastes,
    ink_matte,
    ink_ratio,
    plan_box,
    plan_pastes,
    replace_with_glyph,
)
from glyphvae.bank import GlyphBank
from tests.helpers import PAPER, draw_glyph, fuzz_settings

FUZZ = fuzz_settings()
DTYPES = (np.uint8, np.float32, np.float64)


def as_dtype(image: np.ndarray, dtype: type) -> np.ndarray:
    return (image * 255 + 0.5).astype(np.uint8) if dtype is np.uint8 else image.astype(dtype)


@st.composite
def pages(draw: st.DrawFn, max_side: int = 96) -> np.ndarray:
    h, w = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    seed = draw(st.integers(0, 2**16))
    page = np.random.default_rng(seed).uniform(0.5, 0.9, (h, w, 3))
    return as_dtype(page, draw(st.sampled_from(DTYPES)))


@st.composite
def glyph_sets(draw: st.DrawFn) -> list[np.ndarray]:
    shapes = draw(
        st.lists(st.tuples(st.integers(1, 120), st.integers(1, 120)), min_size=1, max_size=3)
    )
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    return [
        draw_glyph(rng, h, w) if min(h, w) >= 4 else rng.uniform(0, 1, (h, w, 3)) for h, w in shapes
    ]


coords = st.floats(-200, 300, allow_nan=False)
boxes = st.lists(st.tuples(coords, coords, coords, coords), max_size=6)  # any order, any place


def check_page(out: np.ndarray, page: np.ndarray, found: np.ndarray) -> None:
    h, w = page.shape[:2]
    assert out.shape == page.shape and out.dtype == page.dtype
    assert np.isfinite(out.astype(np.float64)).all()
    tolerance = 1 if page.dtype == np.uint8 else 1e-5
    assert (out.astype(np.float64) <= page.astype(np.float64) + tolerance).all()  # only darker
    assert np.isfinite(found).all()
    assert (found[:, 0] >= 0).all() and (found[:, 2] <= w).all()
    assert (found[:, 1] >= 0).all() and (found[:, 3] <= h).all()
    assert (found[:, 0] <= found[:, 2]).all() and (found[:, 1] <= found[:, 3]).all()


@given(
    pages(),
    glyph_sets(),
    boxes,
    st.integers(0, 6),
    st.floats(0.5, 300),
    st.floats(0, 1),
    st.integers(0, 2**16),
)
@FUZZ
def test_plans_and_pastes_on_any_page(page, glyphs, existing, k, height, max_iou, seed):
    before = page.copy()
    plans = plan_pastes(
        np.random.default_rng(seed),
        page.shape,
        [g.shape[:2] for g in glyphs],
        k,
        height,
        existing_boxes=existing,
        max_iou=max_iou,
    )
    assert len(plans) <= k
    h, w = page.shape[:2]
    for plan in plans:  # every planned canvas lies on the page
        x0, y0, x1, y1 = plan_box(plan, glyphs[plan.glyph_index].shape)
        assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
    out, found = apply_pastes(page, glyphs, None, plans)
    np.testing.assert_array_equal(page, before)  # the input is never modified
    assert found.shape == (len(plans), 4)
    check_page(out, page, found)
    if not plans:
        np.testing.assert_array_equal(out, page)


@given(
    pages(max_side=40),
    glyph_sets(),
    st.integers(-150, 150),
    st.integers(-150, 150),
    st.integers(-5, 200),
)
@FUZZ
def test_a_plan_anywhere_is_clipped_or_refused_clearly(page, glyphs, x, y, height):
    plan = PastePlan(0, x=x, y=y, height=height)
    try:
        out, found = apply_pastes(page, glyphs, None, [plan])
    except ValueError as e:  # entirely off the page, or a height below one pixel
        assert "Expected" in str(e)
        return
    check_page(out, page, found)


@given(pages(max_side=48), glyph_sets(), st.floats(0.05, 1.0), st.integers(0, 2**16))
@FUZZ
def test_replacing_the_letter_of_any_crop(crop, glyphs, fill, seed):
    glyph = glyphs[0]
    out, box = replace_with_glyph(
        crop, ink_ratio(glyph), ink_matte(glyph), np.random.default_rng(seed), fill=fill
    )
    assert out.shape == crop.shape and out.dtype == crop.dtype
    assert np.isfinite(out.astype(np.float64)).all()
    h, w = crop.shape[:2]
    assert 0 <= box[0] <= box[2] <= w and 0 <= box[1] <= box[3] <= h


NON_FINITE = st.sampled_from([np.nan, np.inf, -np.inf])


@given(NON_FINITE, st.integers(0, 10_000), st.sampled_from([np.float32, np.float64]))
@FUZZ
def test_nan_and_inf_are_refused_wherever_they_are(bad, where, dtype):
    glyph = draw_glyph(np.random.default_rng(0), 24, 24).astype(dtype)
    page = np.full((32, 32, 3), 0.8, dtype)
    poisoned_page, poisoned_glyph = page.copy(), glyph.copy()
    poisoned_page.flat[where % page.size] = bad
    poisoned_glyph.flat[where % glyph.size] = bad
    plan = PastePlan(0, x=4, y=4, height=20)
    with pytest.raises(ValueError, match="finite"):
        apply_pastes(poisoned_page, [glyph], None, [plan])
    with pytest.raises(ValueError, match="finite"):
        apply_pastes(page, [poisoned_glyph], None, [plan])
    with pytest.raises(ValueError, match="finite"):
        ink_matte(poisoned_glyph)
    with pytest.raises(ValueError, match="finite"):
        replace_with_glyph(poisoned_page, ink_ratio(glyph), ink_matte(glyph))
    with pytest.raises(ValueError, match="finite"):
        plan_pastes(
            np.random.default_rng(0), page.shape, [(24, 24)], 2, 10, existing_boxes=[[0, 0, bad, 5]]
        )
    with pytest.raises(ValueError, match="letter_height"):
        plan_pastes(np.random.default_rng(0), page.shape, [(24, 24)], 2, bad)


# ------------------------------------------------------------------- the synthesizer
@pytest.fixture(scope="module")
def bank_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    rng = np.random.default_rng(0)
    images = np.stack([(draw_glyph(rng, 32, 32) * 255).astype(np.uint8) for _ in range(6)])
    bank = GlyphBank(images, ["alpha", "epsilon"] * 3)
    return str(bank.save(tmp_path_factory.mktemp("bank") / "bank.npz"))


def pipeline(bank_path: str, seed: int = 0) -> A.Compose:
    synth = GlyphSynthesizer(bank=bank_path, count_range=(2, 4), p=1.0)
    params = A.BboxParams(format="pascal_voc", label_fields=["labels"])
    return A.Compose([synth], bbox_params=params, seed=seed)


def paper(h: int, w: int) -> np.ndarray:
    page = np.empty((h, w, 3), np.float32)
    page[...] = PAPER
    return (page * 255 + 0.5).astype(np.uint8)


@pytest.mark.parametrize("shape", [(1, 1), (5, 300), (8, 8), (40, 40), (300, 7)])
def test_pages_too_small_for_a_glyph_get_no_pastes_and_no_error(bank_path, shape):
    page = paper(*shape)
    out = pipeline(bank_path)(image=page, bboxes=[], labels=[])
    assert out["image"].shape == page.shape
    assert len(out["bboxes"]) == len(out["labels"])
    for x0, y0, x1, y1 in np.asarray(out["bboxes"]).reshape(-1, 4):
        assert 0 <= x0 < x1 <= shape[1] and 0 <= y0 < y1 <= shape[0]


def test_empty_box_lists_get_glyphs_with_boxes(bank_path):
    out = pipeline(bank_path)(image=paper(256, 256), bboxes=[], labels=[])
    assert len(out["bboxes"]) == len(out["labels"]) >= 2
    assert set(out["labels"]) <= {"alpha", "epsilon"}


def test_boxes_outside_the_image_are_one_clear_error(bank_path):
    with pytest.raises(ValueError, match=r"(?i)bbox|box"):
        pipeline(bank_path)(image=paper(64, 64), bboxes=[[10, 10, 90, 40]], labels=["x"])


def test_a_bad_page_in_a_batch_never_changes_the_others(bank_path):
    pages = [paper(128, 128), paper(128, 128).astype(np.float32) / 255, paper(96, 160)]
    pages[1][5, 5, 1] = np.nan
    alone = [
        pipeline(bank_path, seed=i)(image=p, bboxes=[], labels=[])
        for i, p in enumerate(pages)
        if i != 1
    ]
    transform = [pipeline(bank_path, seed=i) for i in range(3)]
    results = []
    for i, page in enumerate(pages):
        try:
            results.append(transform[i](image=page, bboxes=[], labels=[]))
        except ValueError as e:
            assert i == 1 and "finite" in str(e)
            results.append(None)
    assert results[1] is None
    for got, ref in zip([results[0], results[2]], alone, strict=True):
        np.testing.assert_array_equal(got["image"], ref["image"])
        np.testing.assert_array_equal(np.asarray(got["bboxes"]), np.asarray(ref["bboxes"]))
