"""Pasting glyphs: mattes, plans, multiply compositing, boxes that match the pasted ink."""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest

from glyphvae.augment.boxes import BOX_FORMATS, box_iou, convert_boxes, estimate_letter_height
from glyphvae.augment.functional import (
    PastePlan,
    apply_pastes,
    ink_matte,
    ink_mattes,
    ink_ratio,
    paste_layers,
    plan_box,
    plan_pastes,
    replace_with_glyph,
    transform_glyph,
)
from tests.helpers import INK, PAPER, draw_glyph

LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def make_page(seed: int = 0, size: int = 256, colour=PAPER) -> np.ndarray:
    """A papyrus-coloured float32 page with a horizontal lighting gradient and a little noise."""
    rng = np.random.default_rng(seed)
    page = np.empty((size, size, 3), np.float32)
    page[...] = colour
    page *= np.linspace(0.9, 1.05, size, dtype=np.float32)[None, :, None]
    page += rng.normal(0.0, 0.01, page.shape).astype(np.float32)
    return np.clip(page, 0.0, 1.0)


def glyph_and_masks(seed: int, h: int = 64, w: int = 64):
    """A noisy glyph, plus its stroke core and clear-paper masks from the same glyph drawn clean."""
    glyph = draw_glyph(np.random.default_rng(seed), h, w)
    clean = draw_glyph(np.random.default_rng(seed), h, w, noise=0.0)
    lum = clean @ LUMA
    paper_lum, ink_lum = float(np.dot(PAPER, LUMA)), float(np.dot(INK, LUMA))
    core = lum < ink_lum + 0.1 * (paper_lum - ink_lum)
    touched = (lum < paper_lum - 1e-3).astype(np.uint8)
    paper = cv2.dilate(touched, np.ones((5, 5), np.uint8)) == 0
    return glyph, core, paper


def place(shape: tuple[int, int], arr: np.ndarray, x: int, y: int) -> np.ndarray:
    """``arr`` placed at (x, y) on a zero page of ``shape`` (clipped)."""
    out = np.zeros(shape + arr.shape[2:], arr.dtype)
    h, w = arr.shape[:2]
    out[y : y + h, x : x + w] = arr[: shape[0] - y, : shape[1] - x]
    return out


@pytest.fixture(scope="module")
def glyphs() -> list[np.ndarray]:
    return [glyph_and_masks(seed)[0] for seed in range(4)]


@pytest.fixture(scope="module")
def pasted(glyphs):
    page = make_page()
    plans = plan_pastes(np.random.default_rng(1), page.shape, [g.shape[:2] for g in glyphs], 6, 48)
    out, boxes = apply_pastes(page, glyphs, None, plans)
    return page, plans, out, boxes


# ------------------------------------------------------------------------------ mattes


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matte_is_one_on_strokes_zero_on_paper_and_at_the_border(seed):
    glyph, core, paper = glyph_and_masks(seed)
    matte = ink_matte(glyph)
    assert matte.shape == (64, 64) and matte.dtype == np.float32
    inner = np.zeros_like(core)
    inner[5:-5, 5:-5] = True  # outside the edge feathering
    assert matte[core & inner].min() > 0.9
    assert matte[paper].max() < 0.05
    for edge in (matte[0], matte[-1], matte[:, 0], matte[:, -1]):
        np.testing.assert_array_equal(edge, 0.0)


def test_matte_fades_a_stroke_that_crosses_the_crop():
    glyph = np.full((32, 40, 3), PAPER, np.float32)
    glyph[14:18, :] = INK  # a bar from the left edge to the right edge
    matte = ink_matte(glyph)
    assert matte[15, 20] == pytest.approx(1.0)
    assert matte[15, 0] == 0.0 and matte[15, -1] == 0.0
    assert np.all(np.diff(matte[15, :20]) >= 0)  # a ramp, not a step


def test_matte_accepts_background_and_uint8():
    glyph, _, _ = glyph_and_masks(3)
    matte = ink_matte(glyph)
    assert np.abs(ink_matte(glyph, background=PAPER) - matte).max() < 0.15
    as_uint8 = (glyph * 255 + 0.5).astype(np.uint8)
    assert np.abs(ink_matte(as_uint8) - matte).max() < 0.1
    bg255 = [v * 255 for v in PAPER]
    assert np.abs(ink_matte(as_uint8, background=bg255) - matte).max() < 0.15


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_batched_mattes_are_the_mattes_of_each_glyph(dtype):
    rng = np.random.default_rng(3)
    glyphs = [draw_glyph(rng, 40, 40) for _ in range(6)]
    glyphs += [rng.random((40, 40, 3)), np.full((40, 40, 3), 0.7)]  # noise, blank paper
    batch = np.stack(glyphs)
    batch = (batch * 255 + 0.5).astype(np.uint8) if dtype == np.uint8 else batch.astype(dtype)
    one_by_one = np.stack(
        [ink_matte(g.astype(np.float32) / 255.0 if dtype == np.uint8 else g) for g in batch]
    )
    np.testing.assert_array_equal(ink_mattes(batch), one_by_one)
    for shape in [(2, 1, 1, 3), (3, 2, 7, 3)]:  # tiny crops too
        tiny = rng.random(shape).astype(np.float32)
        np.testing.assert_array_equal(ink_mattes(tiny), np.stack([ink_matte(t) for t in tiny]))
    with pytest.raises(ValueError, match="finite"):
        ink_mattes(np.full((1, 8, 8, 3), np.nan, np.float32))
    with pytest.raises(ValueError, match=r"\(n, height, width, 3\)"):
        ink_mattes(np.zeros((8, 8, 3), np.float32))


def test_blank_paper_has_no_ink():
    paper = np.clip(PAPER + np.random.default_rng(0).normal(0, 0.03, (48, 48, 3)), 0, 1)
    assert ink_matte(paper.astype(np.float32)).max() < 0.05


def test_ratio_is_one_on_paper_and_ink_over_paper_on_strokes():
    glyph, core, paper = glyph_and_masks(0)
    ratio = ink_ratio(glyph)
    assert ratio.shape == glyph.shape and ratio.dtype == np.float32
    assert ratio.min() >= 0.0 and ratio.max() <= 1.0
    np.testing.assert_allclose(np.median(ratio[paper], axis=0), 1.0, atol=0.02)
    expected = np.array(INK) / np.array(PAPER)
    np.testing.assert_allclose(np.median(ratio[core], axis=0), expected, atol=0.05)


def test_bad_glyph_rejected():
    with pytest.raises(ValueError, match="Expected `glyph` of shape"):
        ink_matte(np.zeros((8, 8), np.float32))
    with pytest.raises(TypeError, match="Received int16"):
        ink_ratio(np.zeros((8, 8, 3), np.int16))


# --------------------------------------------------------------------------- geometry


def test_transform_keeps_aspect_and_fills_new_pixels_with_nothing():
    glyph, _, _ = glyph_and_masks(0, 64, 32)
    ratio, matte = ink_ratio(glyph), ink_matte(glyph)
    r, m = transform_glyph(ratio, matte, 32)
    assert r.shape == (32, 16, 3) and m.shape == (32, 16)
    r, m = transform_glyph(ratio, matte, 48, rotation=20.0, shear=0.1)
    assert m.shape[0] > 48 and m.shape[1] > 24  # expanded canvas
    np.testing.assert_array_equal(r[0, 0], 1.0)  # corners are new pixels
    assert m[0, 0] == 0.0 and m[-1, -1] == 0.0
    assert m.max() > 0.9
    plan = PastePlan(0, x=3, y=4, height=48, rotation=20.0, shear=0.1)
    np.testing.assert_array_equal(
        plan_box(plan, glyph.shape), [3, 4, 3 + m.shape[1], 4 + m.shape[0]]
    )


def test_positive_rotation_is_counter_clockwise():
    ratio = np.ones((21, 21, 3), np.float32)
    matte = np.zeros((21, 21), np.float32)
    matte[10, 10:20] = 1.0  # a bar pointing right
    _, m = transform_glyph(ratio, matte, 21, rotation=90.0)
    ys, xs = np.nonzero(m > 0.5)
    assert ys.mean() < m.shape[0] / 2 - 3  # now points up
    assert abs(xs.mean() - (m.shape[1] - 1) / 2) < 1.5


# ------------------------------------------------------------------------------ pasting


def test_changed_pixels_lie_under_the_transformed_matte_and_inside_the_box(glyphs, pasted):
    page, plans, out, boxes = pasted
    assert len(plans) == 6 and boxes.shape == (6, 4) and boxes.dtype == np.float32
    shape = page.shape[:2]
    placed_any = np.zeros(shape, np.float32)
    for plan, box in zip(plans, boxes, strict=True):
        g = glyphs[plan.glyph_index]
        _, m = transform_glyph(ink_ratio(g), ink_matte(g), plan.height, plan.rotation, plan.shear)
        placed = place(shape, m, plan.x, plan.y)
        placed_any = np.maximum(placed_any, placed)
        ys, xs = np.nonzero(placed > 0.1)
        np.testing.assert_array_equal(box, [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
        # Not much larger than the ink that visibly changed.
        x0, y0, x1, y1 = box.astype(int)
        strong = np.abs(out[y0:y1, x0:x1] - page[y0:y1, x0:x1]).max(axis=2) > 0.05
        ys, xs = np.nonzero(strong)
        assert xs.min() <= 2 and ys.min() <= 2
        assert xs.max() >= x1 - x0 - 3 and ys.max() >= y1 - y0 - 3
    changed = np.any(out != page, axis=2)
    assert changed.any()
    assert not np.any(changed & (placed_any == 0))  # no seams: only under the matte
    in_a_box = np.zeros(shape, bool)
    for x0, y0, x1, y1 in boxes.astype(int):
        in_a_box[y0:y1, x0:x1] = True
    # Outside the boxes the matte is <= 0.1, so a pixel darkens by at most ~0.1 of its value.
    assert not np.any((np.abs(out - page).max(axis=2) > 0.08) & ~in_a_box)


def test_boxes_inside_the_page_and_pixels_far_from_pastes_unchanged(glyphs, pasted):
    page, plans, out, boxes = pasted
    h, w = page.shape[:2]
    assert np.all(boxes[:, [0, 1]] >= 0) and np.all(boxes[:, 2] <= w) and np.all(boxes[:, 3] <= h)
    assert np.all(boxes[:, 2] > boxes[:, 0]) and np.all(boxes[:, 3] > boxes[:, 1])
    canvases = np.zeros((h, w), bool)
    for plan in plans:
        x0, y0, x1, y1 = plan_box(plan, glyphs[plan.glyph_index].shape).astype(int)
        assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
        canvases[y0:y1, x0:x1] = True
        # The canvas' own outer ring and a 2-px ring around it equal the original page.
        ring = np.zeros((h, w), bool)
        ring[max(y0 - 2, 0) : y1 + 2, max(x0 - 2, 0) : x1 + 2] = True
        ring[y0 + 1 : y1 - 1, x0 + 1 : x1 - 1] = False
        np.testing.assert_array_equal(out[ring], page[ring])
    np.testing.assert_array_equal(out[~canvases], page[~canvases])


def test_pasted_ink_takes_the_colour_of_the_target_page():
    glyph, _, _ = glyph_and_masks(0)
    red = np.full((96, 96, 3), (0.85, 0.35, 0.30), np.float32)
    blue = np.full((96, 96, 3), (0.30, 0.40, 0.85), np.float32)
    plan = PastePlan(0, x=16, y=16, height=64)
    out_red, _ = apply_pastes(red, [glyph], None, [plan])
    out_blue, _ = apply_pastes(blue, [glyph], None, [plan])
    ink = place((96, 96), ink_matte(glyph), 16, 16) > 0.9
    assert ink.sum() > 100
    # The same multiplicative ink on both pages, so each keeps its own hue.
    np.testing.assert_allclose(out_red[ink] / red[ink], out_blue[ink] / blue[ink], atol=1e-5)
    assert np.all(np.argmax(out_red[ink], axis=1) == 0)
    assert np.all(np.argmax(out_blue[ink], axis=1) == 2)
    assert np.all(out_red[ink] @ LUMA < 0.35 * float(red[0, 0] @ LUMA))  # and it is dark ink


def test_ink_jitter_scales_darkness_per_channel():
    glyph, _, _ = glyph_and_masks(1)
    page = make_page(size=96)
    base = PastePlan(0, x=16, y=16, height=64)
    jittered = PastePlan(0, x=16, y=16, height=64, ink_jitter=(1.1, 1.0, 0.8))
    out, _ = apply_pastes(page, [glyph], None, [base])
    out_j, _ = apply_pastes(page, [glyph], None, [jittered])
    ink = place((96, 96), ink_matte(glyph), 16, 16) > 0.9
    assert np.all(out_j[ink][:, 0] <= out[ink][:, 0]) and (out_j[ink][:, 0] < out[ink][:, 0]).any()
    np.testing.assert_array_equal(out_j[..., 1], out[..., 1])
    assert np.all(out_j[ink][:, 2] > out[ink][:, 2])


def test_apply_is_deterministic_and_leaves_its_input_alone(glyphs, pasted):
    page, plans, out, boxes = pasted
    before = page.copy()
    out2, boxes2 = apply_pastes(page, glyphs, None, plans)
    np.testing.assert_array_equal(out2, out)
    np.testing.assert_array_equal(boxes2, boxes)
    np.testing.assert_array_equal(page, before)
    assert not np.shares_memory(out2, page)


def test_precomputed_mattes_ratios_and_layers_give_the_same_page(glyphs, pasted):
    page, plans, out, boxes = pasted
    mattes = [ink_matte(g) for g in glyphs]
    ratios = [ink_ratio(g) for g in glyphs]
    layers = [paste_layers(r, m) for r, m in zip(ratios, mattes, strict=True)]
    for result in (
        apply_pastes(page, None, mattes, plans, ratios=ratios),
        apply_pastes(page, None, None, plans, layers=np.stack(layers)),
    ):
        np.testing.assert_array_equal(result[0], out)
        np.testing.assert_array_equal(result[1], boxes)


def test_uint8_and_float64_pages(glyphs, pasted):
    page, plans, _, boxes = pasted
    page_u8 = (page * 255 + 0.5).astype(np.uint8)
    out_u8, boxes_u8 = apply_pastes(page_u8, glyphs, None, plans)
    assert out_u8.dtype == np.uint8
    np.testing.assert_array_equal(boxes_u8, boxes)
    expected, _ = apply_pastes(page_u8.astype(np.float32) / 255, glyphs, None, plans)
    assert np.abs(out_u8.astype(np.float32) - expected * 255).max() <= 0.51
    far = np.ones(page.shape[:2], bool)
    for x0, y0, x1, y1 in boxes.astype(int):
        far[max(y0 - 8, 0) : y1 + 8, max(x0 - 8, 0) : x1 + 8] = False
    np.testing.assert_array_equal(out_u8[far], page_u8[far])
    out_64, _ = apply_pastes(page.astype(np.float64), glyphs, None, plans)
    assert out_64.dtype == np.float64


def test_apply_rejects_bad_input(glyphs):
    page = make_page(size=64)
    with pytest.raises(ValueError, match="Expected `page` of shape"):
        apply_pastes(page[..., 0], glyphs, None, [])
    with pytest.raises(TypeError, match="Expected `page`"):
        apply_pastes(page.astype(np.int16), glyphs, None, [])
    with pytest.raises(ValueError, match="Expected `glyph_index` in"):
        apply_pastes(page, glyphs, None, [PastePlan(9, x=0, y=0, height=32)])
    with pytest.raises(ValueError, match="Received None"):
        apply_pastes(page, None, None, [])
    with pytest.raises(ValueError, match="overlaps the 64x64 page"):
        apply_pastes(page, glyphs, None, [PastePlan(0, x=80, y=0, height=32)])


# ------------------------------------------------------------------------------- plans


def _intersection_over_smaller(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    iw = np.clip(
        np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None
    )
    ih = np.clip(
        np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None
    )
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return iw * ih / np.minimum(area_a[:, None], area_b[None, :])


@pytest.mark.parametrize("max_iou", [0.0, 0.3])
def test_plans_respect_existing_boxes_and_each_other(max_iou):
    rng = np.random.default_rng(5)
    xy = rng.integers(0, 200, (6, 2))
    existing = np.hstack([xy, xy + rng.integers(20, 56, (6, 2))]).astype(np.float32)
    shapes = [(64, 64), (64, 48)]
    plans = plan_pastes(rng, (256, 256), shapes, 12, 40, existing, max_iou=max_iou)
    assert len(plans) >= 4
    boxes = np.stack([plan_box(p, shapes[p.glyph_index]) for p in plans])
    assert np.all(boxes >= 0) and np.all(boxes[:, [2, 3]] <= 256)
    assert box_iou(boxes, existing).max() <= max_iou + 1e-6
    pairwise = box_iou(boxes, boxes)
    np.fill_diagonal(pairwise, 0.0)
    assert pairwise.max() <= max_iou + 1e-6
    assert _intersection_over_smaller(boxes, existing).max() <= max(max_iou, 0.5) + 1e-6


def test_a_small_paste_never_lands_mostly_inside_a_large_box():
    existing = np.array([[0, 0, 256, 200]], np.float32)  # IoU of anything inside it is tiny
    shapes = [(64, 64)]
    plans = plan_pastes(np.random.default_rng(0), (256, 256), shapes, 8, 20, existing, max_iou=0.3)
    assert plans
    boxes = np.stack([plan_box(p, shapes[0]) for p in plans])
    assert _intersection_over_smaller(boxes, existing).max() <= 0.5


def test_no_free_space_gives_no_plans():
    full = np.array([[0, 0, 256, 256]], np.float32)
    for max_iou in (0.0, 0.5):
        assert (
            plan_pastes(np.random.default_rng(0), (256, 256), [(64, 64)], 10, 40, full, max_iou)
            == []
        )
    assert plan_pastes(np.random.default_rng(0), (20, 20), [(64, 64)], 3, 48) == []
    assert plan_pastes(np.random.default_rng(0), (256, 256), [], 3, 48) == []
    assert plan_pastes(np.random.default_rng(0), (256, 256), [(64, 64)], 0, 48) == []


def test_crowded_page_gets_fewer_plans_without_overlap():
    plans = plan_pastes(np.random.default_rng(0), (100, 100), [(64, 64)], 50, 40)
    assert 1 <= len(plans) < 50
    boxes = np.stack([plan_box(p, (64, 64)) for p in plans])
    pairwise = box_iou(boxes, boxes)
    np.fill_diagonal(pairwise, 0.0)
    assert pairwise.max() == 0.0


def test_plans_are_reproducible_from_the_seed_and_drawn_from_the_ranges():
    args = ((300, 400, 3), [(64, 64), (60, 40), (64, 56)], 8, 32)
    kwargs = {"rotation_range": (-10, 10), "shear_range": (0.0, 0.2), "ink_jitter": 0.1}
    a = plan_pastes(np.random.default_rng(7), *args, **kwargs)
    assert a == plan_pastes(np.random.default_rng(7), *args, **kwargs)
    assert a != plan_pastes(np.random.default_rng(8), *args, **kwargs)
    for p in a:
        assert 0 <= p.glyph_index < 3 and round(32 * 0.8) <= p.height <= round(32 * 1.2)
        assert -10 <= p.rotation <= 10 and 0.0 <= p.shear <= 0.2
        assert all(0.9 <= j <= 1.1 for j in p.ink_jitter)


def test_plan_pastes_rejects_bad_arguments():
    with pytest.raises(ValueError, match="Expected `rotation_range`"):
        plan_pastes(np.random.default_rng(0), (64, 64), [(8, 8)], 1, 8, rotation_range=(5, -5))
    with pytest.raises(ValueError, match="Expected a finite `letter_height` > 0"):
        plan_pastes(np.random.default_rng(0), (64, 64), [(8, 8)], 1, 0)
    with pytest.raises(ValueError, match="Expected `existing_boxes` of shape"):
        plan_pastes(np.random.default_rng(0), (64, 64), [(8, 8)], 1, 8, [[1, 2, 3]])


# ------------------------------------------------------------------------------ boxes


PASCAL = np.array([[10, 20, 30, 60], [0, 0, 200, 100], [5.5, 7.25, 6.5, 9.0]])
SHAPE = (100, 200, 3)


@pytest.mark.parametrize(("source", "target"), list(itertools.product(BOX_FORMATS, BOX_FORMATS)))
def test_convert_boxes_round_trips(source, target):
    boxes = convert_boxes(PASCAL, "pascal_voc", source, SHAPE)
    there = convert_boxes(boxes, source, target, SHAPE)
    np.testing.assert_allclose(convert_boxes(there, target, source, SHAPE), boxes, atol=1e-12)
    np.testing.assert_allclose(convert_boxes(there, target, "pascal_voc", SHAPE), PASCAL, atol=1e-9)


def test_convert_boxes_known_values_labels_and_dtypes():
    box = [10, 20, 30, 60]
    np.testing.assert_allclose(
        convert_boxes([box], "pascal_voc", "coco", SHAPE), [[10, 20, 20, 40]]
    )
    np.testing.assert_allclose(
        convert_boxes([box], "pascal_voc", "yolo", SHAPE), [[0.1, 0.4, 0.1, 0.4]]
    )
    np.testing.assert_allclose(
        convert_boxes([box], "pascal_voc", "albumentations", SHAPE), [[0.05, 0.2, 0.15, 0.6]]
    )
    single = convert_boxes(np.array([0.1, 0.4, 0.1, 0.4, 7.0]), "yolo", "pascal_voc", SHAPE)
    np.testing.assert_allclose(single, [10, 20, 30, 60, 7])  # label column passed through
    assert convert_boxes(np.float32([box]), "pascal_voc", "coco", SHAPE).dtype == np.float32
    assert convert_boxes(np.zeros((0, 4)), "coco", "yolo", SHAPE).shape == (0, 4)
    with pytest.raises(ValueError, match="Expected `target` in"):
        convert_boxes([box], "pascal_voc", "xyxy", SHAPE)


def test_box_iou_and_letter_height():
    a = np.array([[0, 0, 10, 10], [0, 0, 0, 0]])
    b = np.array([[5, 0, 15, 10], [0, 0, 10, 10], [20, 20, 30, 30]])
    np.testing.assert_allclose(box_iou(a, b), [[50 / 150, 1.0, 0.0], [0.0, 0.0, 0.0]])
    assert box_iou(np.zeros((0, 4)), b).shape == (0, 3)
    assert estimate_letter_height([[0, 0, 5, 10], [3, 2, 9, 42], [1, 1, 2, 21]]) == 20.0
    assert estimate_letter_height(np.zeros((0, 4))) is None
    assert estimate_letter_height([]) is None


# ------------------------------------------------------------------------ classification


def bar_glyph() -> np.ndarray:
    """A vertical bar, unlike the test crops' epsilon."""
    glyph = np.full((64, 64, 3), PAPER, np.float32)
    cv2.line(glyph, (32, 10), (32, 54), INK, 5)
    return glyph


@pytest.mark.parametrize("dtype", [np.float32, np.uint8])
def test_replace_with_glyph_removes_the_old_letter_and_pastes_the_new(dtype):
    crop, core, _ = glyph_and_masks(4, 64, 56)
    image = crop if dtype == np.float32 else (crop * 255 + 0.5).astype(np.uint8)
    bar = bar_glyph()
    bar_matte = ink_matte(bar)
    out, box = replace_with_glyph(image, ink_ratio(bar), bar_matte, fill=0.8)
    assert out.shape == image.shape and out.dtype == image.dtype
    result = out.astype(np.float32) / (255 if dtype == np.uint8 else 1)
    x0, y0, x1, y1 = box.astype(int)
    assert 0 <= x0 < x1 <= 56 and 0 <= y0 < y1 <= 64
    # The bar's crop is scaled to 0.8 x 64 px high, centred; its ink box scales with it.
    rows = np.flatnonzero((bar_matte > 0.1).any(axis=1))
    assert abs((y1 - y0) - (rows[-1] + 1 - rows[0]) * round(0.8 * 64) / 64) <= 2
    assert x1 - x0 <= 8
    assert abs((x0 + x1) / 2 - 28) <= 1.5 and abs((y0 + y1) / 2 - 32) <= 1.5
    assert result[(y0 + y1) // 2, (x0 + x1) // 2] @ LUMA < 0.25
    # The old epsilon is gone outside the new glyph's box: only paper is left there.
    outside = np.ones(core.shape, bool)
    outside[y0 - 3 : y1 + 3, x0 - 3 : x1 + 3] = False
    old_ink = core & outside
    assert old_ink.sum() > 50
    paper_lum = float(np.dot(PAPER, LUMA))
    assert np.abs(result[old_ink] @ LUMA - paper_lum).max() < 0.1


def test_replace_with_glyph_rng_moves_it_reproducibly():
    crop, _, _ = glyph_and_masks(5, 64, 64)
    bar = bar_glyph()
    ratio, matte = ink_ratio(bar), ink_matte(bar)
    _, centred = replace_with_glyph(crop, ratio, matte, fill=0.5)
    boxes = [
        replace_with_glyph(crop, ratio, matte, np.random.default_rng(s), 0.5)[1] for s in range(8)
    ]
    again = replace_with_glyph(crop, ratio, matte, np.random.default_rng(0), 0.5)[1]
    np.testing.assert_array_equal(again, boxes[0])
    shifts = np.stack(boxes) - centred
    assert np.abs(shifts).max() <= 8 and np.abs(shifts).max() > 0  # a quarter of the 32 px margin
    with pytest.raises(ValueError, match="Expected `fill` in"):
        replace_with_glyph(crop, ratio, matte, fill=1.5)
