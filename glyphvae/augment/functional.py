"""Pasting glyphs into pages: ink mattes, paste plans, multiply compositing, box formats.

Pure numpy + OpenCV. Random decisions take an explicit ``rng: np.random.Generator``
(:func:`plan_pastes`, :func:`replace_with_glyph`); applying a plan is deterministic.

A glyph crop is dark ink on its own papyrus. Two layers are estimated once per glyph:

* the **matte** (:func:`ink_matte`): 1 on ink, 0 on paper, feathered to 0 at the crop edge so
  a pasted crop never shows a rectangular seam;
* the **ratio** (:func:`ink_ratio`): the glyph divided by its paper colour. Pasting multiplies
  the page by it, ``out = page * (1 - m + m * ratio)``, so the ink takes the target's local
  paper colour and lighting instead of the source papyrus'.

:func:`paste_layers` packs both into the one array that :func:`apply_pastes` pastes fastest.
Boxes are ``pascal_voc`` pixels ``[x_min, y_min, x_max, y_max]`` (pixel edges, max exclusive);
:mod:`glyphvae.augment.boxes` converts between the four albumentations formats.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from glyphvae.augment.boxes import Boxes as _Boxes
from glyphvae.augment.boxes import _boxes
from glyphvae.data.preprocess import border_color

__all__ = [
    "BOX_THRESHOLD",
    "PastePlan",
    "apply_pastes",
    "ink_matte",
    "ink_mattes",
    "ink_ratio",
    "paste_layers",
    "plan_box",
    "plan_pastes",
    "replace_with_glyph",
    "transform_glyph",
]

BOX_THRESHOLD = 0.1
"""A pasted pixel is inside its glyph's box where the transformed matte exceeds this."""

_Colour = Sequence[float] | np.ndarray
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)
_ZERO = (0.0, 0.0, 0.0, 0.0)
_TOL = 1e-6  # overlap tolerance: touching boxes must not depend on float rounding
_RING = 2  # border thickness (px) used to estimate a crop's paper colour and texture noise


def _as_float_rgb(image: np.ndarray, name: str) -> np.ndarray:
    """Validate an RGB image; return it as ``float32`` in ``[0, 1]`` (no copy if possible)."""
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"Expected `{name}` of shape (height, width, 3). Received {arr.shape}")
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) * np.float32(1 / 255)
    if arr.dtype not in (np.float32, np.float64):
        raise TypeError(f"Expected `{name}` as float in [0, 1] or uint8. Received {arr.dtype}")
    _check_finite(arr, name)
    return arr.astype(np.float32, copy=False)


def _check_finite(arr: np.ndarray, name: str) -> None:
    """Refuse NaN/inf in a float image (one sum: cheap enough to run on every page)."""
    if arr.dtype == np.float32:  # a float64 sum of float32 values cannot overflow
        total = float(np.add.reduce(arr, axis=None, dtype=np.float64))
    else:
        with np.errstate(over="ignore", invalid="ignore"):
            total = float(arr.sum(dtype=np.float64))
    if not math.isfinite(total):
        bad = arr.size - int(np.count_nonzero(np.isfinite(arr)))
        if bad:
            raise ValueError(
                f"Expected `{name}` with finite values in [0, 1]. Received {bad} NaN or "
                f"infinite value(s)"
            )


def _check_page(page: np.ndarray, name: str = "page") -> np.ndarray:
    arr = np.asarray(page)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"Expected `{name}` of shape (height, width, 3). Received {arr.shape}")
    if arr.dtype not in (np.uint8, np.float32, np.float64):
        raise TypeError(f"Expected `{name}` as float in [0, 1] or uint8. Received {arr.dtype}")
    if arr.dtype != np.uint8:
        _check_finite(arr, name)
    return arr


def _paper(img: np.ndarray, background: _Colour | None, dtype: np.dtype) -> np.ndarray:
    """The paper colour in ``[0, 1]``: the border median, or ``background`` (glyph's range)."""
    if background is None:
        return border_color(img, _RING)
    bg = np.asarray(background, np.float32).reshape(-1)
    if bg.shape != (3,):
        raise ValueError(f"Expected `background` as 3 RGB values. Received shape {bg.shape}")
    return bg / 255.0 if dtype == np.uint8 else bg


def _raw_matte(img: np.ndarray, paper: np.ndarray, low: float, high: float) -> np.ndarray:
    """Unfeathered matte of a float RGB image over a known paper colour."""
    return _raw_mattes(img[None], paper[None], low, high)[0]


def _raw_mattes(imgs: np.ndarray, papers: np.ndarray, low: float, high: float) -> np.ndarray:
    """Unfeathered mattes of ``(n, h, w, 3)`` float32 images over their ``(n, 3)`` papers."""
    n, h, w = imgs.shape[:3]
    lum = imgs @ _LUMA
    paper_lum = (papers @ _LUMA).astype(np.float64)
    b = max(1, min(_RING, h // 2, w // 2))
    ring = np.concatenate(
        [
            lum[:, :b].reshape(n, -1),
            lum[:, -b:].reshape(n, -1),
            lum[:, :, :b].reshape(n, -1),
            lum[:, :, -b:].reshape(n, -1),
        ],
        axis=1,
    )
    centre = np.median(ring, axis=1, keepdims=True)
    noise = 1.4826 * np.median(np.abs(ring - centre), axis=1).astype(np.float64)  # robust sigma
    first = np.percentile(lum.reshape(n, -1), 1.0, axis=1).astype(np.float64)
    contrast = np.maximum(paper_lum - first, 1e-3)
    lo = np.maximum(low * contrast, 4.0 * noise)
    hi = np.maximum(high * contrast, lo + 0.02)
    column = (n, 1, 1)
    t = (paper_lum.astype(np.float32).reshape(column) - lum) - lo.astype(np.float32).reshape(column)
    t *= (1.0 / (hi - lo)).astype(np.float32).reshape(column)
    np.clip(t, 0.0, 1.0, out=t)
    return (t * t * (3.0 - 2.0 * t)).astype(np.float32)  # smoothstep


def _range(value: tuple[float, float], name: str) -> tuple[float, float]:
    lo, hi = (float(v) for v in value)
    if not lo <= hi:
        raise ValueError(f"Expected `{name}` as (low, high) with low <= high. Received {value!r}")
    return lo, hi


def ink_matte(
    glyph: np.ndarray,
    background: _Colour | None = None,
    *,
    feather: int | None = None,
    low: float = 0.2,
    high: float = 0.7,
) -> np.ndarray:
    """Estimate where a glyph crop has ink: 1 on strokes, 0 on paper and at the crop edge.

    Darkness is the luminance drop below the paper colour, relative to the ink contrast (paper
    luminance minus the crop's 1st-percentile luminance). A smoothstep from ``low`` to ``high``
    of that contrast gives the matte; its lower end is raised to 4 × the texture noise measured
    on the border, so paper grain stays at 0. The matte then fades linearly to 0 over
    ``feather`` pixels towards the crop edges (ink touching the edge fades out there).

    Args:
        glyph: RGB crop ``(h, w, 3)``, float in ``[0, 1]`` or ``uint8``.
        background: Paper colour in the glyph's range; default: the median of its border
            (:func:`glyphvae.data.preprocess.border_color`).
        feather: Edge fade width in pixels; default 6 % of the shorter side (at least 1).
        low: Darkness, as a fraction of the ink contrast, where the matte starts to rise.
        high: Darkness fraction where the matte reaches 1.

    Returns:
        ``float32`` array ``(h, w)`` in ``[0, 1]``.

    >>> g = np.full((16, 16, 3), 0.8, np.float32); g[4:12, 7:9] = 0.1
    >>> m = ink_matte(g)
    >>> float(m[8, 8]), float(m[2, 2]), float(m[0].max())
    (1.0, 0.0, 0.0)
    """
    img = _as_float_rgb(glyph, "glyph")
    if not 0.0 <= low < high:
        raise ValueError(f"Expected 0 <= `low` < `high`. Received low={low}, high={high}")
    paper = _paper(img, background, np.asarray(glyph).dtype)
    return _raw_matte(img, paper, low, high) * _edge_window(img.shape[0], img.shape[1], feather)


def _edge_window(h: int, w: int, feather: int | None) -> np.ndarray:
    """``(h, w)`` weights: 0 on the outer pixels, rising linearly to 1 over ``feather``
    pixels (default 6 % of the shorter side, at least 1)."""
    f = max(1, round(0.06 * min(h, w)) if feather is None else int(feather))
    wy = np.clip(np.minimum(np.arange(h), np.arange(h)[::-1]) / f, 0.0, 1.0)
    wx = np.clip(np.minimum(np.arange(w), np.arange(w)[::-1]) / f, 0.0, 1.0)
    return np.minimum(wy[:, None], wx[None, :]).astype(np.float32)


def ink_mattes(
    glyphs: np.ndarray, *, feather: int | None = None, low: float = 0.2, high: float = 0.7
) -> np.ndarray:
    """:func:`ink_matte` of a batch of same-size glyphs at once: the same values, computed
    along the batch in numpy, many times faster than one call per glyph (a glyph bank).

    Args:
        glyphs: RGB crops ``(n, h, w, 3)``, float in ``[0, 1]`` or ``uint8`` (divided by 255).
        feather: As in :func:`ink_matte`.
        low: As in :func:`ink_matte`.
        high: As in :func:`ink_matte`.

    Returns:
        ``float32`` array ``(n, h, w)`` in ``[0, 1]``.

    >>> g = np.full((2, 16, 16, 3), 0.8, np.float32); g[:, 4:12, 7:9] = 0.1
    >>> bool(np.array_equal(ink_mattes(g)[1], ink_matte(g[1])))
    True
    """
    arr = np.asarray(glyphs)
    if arr.ndim != 4 or arr.shape[3] != 3 or min(arr.shape[:3]) < 1:
        raise ValueError(f"Expected `glyphs` of shape (n, height, width, 3). Received {arr.shape}")
    if arr.dtype == np.uint8:
        img = arr.astype(np.float32) / 255.0
    elif arr.dtype in (np.float32, np.float64):
        _check_finite(arr, "glyphs")
        img = arr.astype(np.float32, copy=False)
    else:
        raise TypeError(f"Expected `glyphs` as float in [0, 1] or uint8. Received {arr.dtype}")
    if not 0.0 <= low < high:
        raise ValueError(f"Expected 0 <= `low` < `high`. Received low={low}, high={high}")
    paper = border_color(img, _RING)  # (n, 3)
    return _raw_mattes(img, paper, low, high) * _edge_window(img.shape[1], img.shape[2], feather)


def ink_ratio(glyph: np.ndarray, background: _Colour | None = None) -> np.ndarray:
    """The glyph's colour relative to its own paper: ``glyph / paper``, clipped to ``[0, 1]``.

    Args:
        glyph: RGB crop ``(h, w, 3)``, float in ``[0, 1]`` or ``uint8``.
        background: Paper colour in the glyph's range; default: the median of its border.

    Returns:
        ``float32`` array ``(h, w, 3)``: about 1 on paper, the ink/paper ratio on strokes.

    >>> g = np.full((8, 8, 3), (0.8, 0.6, 0.4), np.float32); g[4, 4] = (0.4, 0.3, 0.2)
    >>> ink_ratio(g)[4, 4].tolist(), ink_ratio(g)[0, 0].tolist()
    ([0.5, 0.5, 0.5], [1.0, 1.0, 1.0])
    """
    img = _as_float_rgb(glyph, "glyph")
    paper = _paper(img, background, np.asarray(glyph).dtype)
    return np.clip(img / np.maximum(paper, 1e-3), 0.0, 1.0).astype(np.float32)


def _check_layers(ratio: np.ndarray, matte: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r, m = np.asarray(ratio, np.float32), np.asarray(matte, np.float32)
    if r.ndim != 3 or r.shape[2] != 3 or m.shape != r.shape[:2]:
        raise ValueError(
            "Expected a ratio (h, w, 3) and a matte (h, w) of the same size. "
            f"Received {r.shape} and {m.shape}"
        )
    _check_finite(r, "ratio")
    _check_finite(m, "matte")
    return r, m


def paste_layers(ratio: np.ndarray, matte: np.ndarray) -> np.ndarray:
    """Precompute what pasting a glyph needs: its darkness ``m * (1 - ratio)`` and matte ``m``.

    A glyph bank computes this once per glyph and passes the list (or a stacked array) as
    ``layers=`` to :func:`apply_pastes`, the fastest way to paste.

    Args:
        ratio: ``(h, w, 3)`` from :func:`ink_ratio`.
        matte: ``(h, w)`` from :func:`ink_matte`.

    Returns:
        ``float32`` ``(h, w, 4)``: darkness RGB in channels 0-2, the matte in channel 3.

    >>> paste_layers(np.full((2, 2, 3), 0.25), np.ones((2, 2)))[0, 0].tolist()
    [0.75, 0.75, 0.75, 1.0]
    """
    r, m = _check_layers(ratio, matte)
    dark = 1.0 - r
    dark *= cv2.cvtColor(m, cv2.COLOR_GRAY2RGB)
    return cv2.merge([dark, m]).reshape(*m.shape, 4)


def _geometry(
    glyph_hw: tuple[int, int], height: int, rotation: float, shear: float
) -> tuple[tuple[int, int], tuple[int, int], tuple[float, float, float, float] | None]:
    """Resized ``(h, w)``, canvas ``(h, w)`` and the 2×2 linear map (``None``: no warp)."""
    gh, gw = glyph_hw
    rh, rw = int(height), max(1, round(gw * height / gh))
    if rotation == 0.0 and shear == 0.0:
        return (rh, rw), (rh, rw), None
    c, s = math.cos(math.radians(rotation)), math.sin(math.radians(rotation))
    # [[c, s], [-s, c]] @ [[1, -shear], [0, 1]]: a shear leaning the top to the right, then a
    # counter-clockwise rotation (y points down).
    lin = (c, s - c * shear, -s, c + s * shear)
    cw = max(1, math.ceil(abs(lin[0]) * rw + abs(lin[1]) * rh - 1e-6))
    ch = max(1, math.ceil(abs(lin[2]) * rw + abs(lin[3]) * rh - 1e-6))
    return (rh, rw), (ch, cw), lin


def _transform(
    stack: np.ndarray, height: int, rotation: float, shear: float, fill: tuple[float, ...]
) -> np.ndarray:
    """Resize and rotate/shear a 4-channel ``float32`` stack; new pixels get ``fill``.

    Shrinking below 0.6× first halves the stack (area averaging, exact 2:1, fast) until the
    rest of the scaling is at least 0.6×, like a mipmap; that rest is folded into one bilinear
    ``warpAffine`` (or a bilinear resize when there is no rotation or shear).
    """
    gh, gw = stack.shape[:2]
    (rh, rw), (ch, cw), lin = _geometry((gh, gw), height, rotation, shear)
    out = stack
    while rh < 0.6 * out.shape[0] and min(out.shape[:2]) >= 2:
        half = (out.shape[1] // 2, out.shape[0] // 2)
        out = cv2.resize(out, half, interpolation=cv2.INTER_AREA).reshape(half[1], half[0], 4)
    if lin is None:
        if out.shape[:2] != (rh, rw):
            out = cv2.resize(out, (rw, rh), interpolation=cv2.INTER_LINEAR).reshape(rh, rw, 4)
        return out
    sx, sy = rw / out.shape[1], rh / out.shape[0]
    a, b, c, d = lin[0] * sx, lin[1] * sy, lin[2] * sx, lin[3] * sy
    cx, cy = (out.shape[1] - 1) / 2, (out.shape[0] - 1) / 2  # the centre maps to the centre
    mat = np.array([[a, b, (cw - 1) / 2 - a * cx - b * cy], [c, d, (ch - 1) / 2 - c * cx - d * cy]])
    flags, border = cv2.INTER_LINEAR, cv2.BORDER_CONSTANT
    return cv2.warpAffine(
        out, mat, (cw, ch), flags=flags, borderMode=border, borderValue=fill
    ).reshape(ch, cw, 4)


def transform_glyph(
    ratio: np.ndarray, matte: np.ndarray, height: int, rotation: float = 0.0, shear: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Resize a glyph's ratio and matte to ``height`` (keeping the aspect), then rotate/shear.

    Rotation and shear turn about the centre on a canvas expanded to hold the whole crop; new
    pixels get ratio 1 and matte 0 (nothing is pasted there). :func:`apply_pastes` transforms
    the matte in exactly this way.

    Args:
        ratio: ``(h, w, 3)`` from :func:`ink_ratio`.
        matte: ``(h, w)`` from :func:`ink_matte`.
        height: Height in pixels of the resized crop (its paper margin included).
        rotation: Degrees, counter-clockwise.
        shear: Horizontal shear; positive leans the top to the right, like italics.

    Returns:
        ``(ratio_t, matte_t)``, ``float32`` of shapes ``(H, W, 3)`` and ``(H, W)``.

    >>> r, m = transform_glyph(np.ones((64, 32, 3)), np.zeros((64, 32)), 32, rotation=90)
    >>> r.shape, m.shape
    ((16, 32, 3), (16, 32))
    """
    if isinstance(height, bool) or int(height) < 1:
        raise ValueError(f"Expected `height` >= 1 pixel. Received {height!r}")
    r, m = _check_layers(ratio, matte)
    stack = cv2.merge([r, m]).reshape(*m.shape, 4)
    out = _transform(stack, int(height), float(rotation), float(shear), (1.0, 1.0, 1.0, 0.0))
    return cv2.cvtColor(out, cv2.COLOR_RGBA2RGB), out[:, :, 3].copy()


@dataclass(frozen=True)
class PastePlan:
    """One paste, drawn by :func:`plan_pastes` and applied by :func:`apply_pastes`.

    Attributes:
        glyph_index: Index into the glyph list.
        x: Left edge of the transformed canvas on the page (px).
        y: Top edge of the transformed canvas on the page (px).
        height: Height of the resized glyph crop before rotation (px).
        rotation: Degrees, counter-clockwise.
        shear: Horizontal shear (positive leans the top to the right).
        ink_jitter: RGB multipliers of the pasted darkness ``m * (1 - ratio)``, near 1.
    """

    glyph_index: int
    x: int
    y: int
    height: int
    rotation: float = 0.0
    shear: float = 0.0
    ink_jitter: tuple[float, float, float] = (1.0, 1.0, 1.0)


def plan_box(plan: PastePlan, glyph_shape: tuple[int, ...]) -> np.ndarray:
    """The page box (pascal_voc ``float32`` ``(4,)``) of a plan's whole transformed canvas.

    The ink box that :func:`apply_pastes` returns for the plan lies inside it.

    >>> plan_box(PastePlan(0, x=5, y=7, height=32), (64, 48)).tolist()
    [5.0, 7.0, 29.0, 39.0]
    """
    hw = (int(glyph_shape[0]), int(glyph_shape[1]))
    _, (ch, cw), _ = _geometry(hw, plan.height, plan.rotation, plan.shear)
    return np.array([plan.x, plan.y, plan.x + cw, plan.y + ch], np.float32)


def plan_pastes(
    rng: np.random.Generator,
    page_shape: tuple[int, ...],
    glyph_shapes: Sequence[tuple[int, int]],
    k: int,
    letter_height: float,
    existing_boxes: _Boxes | None = None,
    max_iou: float = 0.0,
    scale_range: tuple[float, float] = (0.8, 1.2),
    rotation_range: tuple[float, float] = (-5.0, 5.0),
    shear_range: tuple[float, float] = (-0.1, 0.1),
    ink_jitter: float = 0.1,
    max_attempts: int = 50,
    max_ios: float = 0.5,
) -> list[PastePlan]:
    """Draw up to ``k`` pastes at free places on a page.

    Each paste draws a glyph, a height (``letter_height`` × a factor from ``scale_range``), a
    rotation, a shear and RGB ink jitter (``1 ± ink_jitter``), then up to ``max_attempts``
    positions where its whole canvas (:func:`plan_box`) fits in the page. It takes the first
    whose IoU with every existing and already planned box is at most ``max_iou`` and whose
    intersection over the *smaller* area is at most ``max(max_iou, max_ios)``: IoU alone would
    let a small box land mostly inside a large one. A paste without a free position is dropped,
    so a crowded page gets fewer plans, possibly none; this never raises for lack of space.

    Args:
        rng: Source of all randomness.
        page_shape: ``(height, width, ...)`` of the page.
        glyph_shapes: ``(h, w)`` of each glyph crop that may be chosen.
        k: Number of pastes wanted.
        letter_height: Typical crop height on the page in px (e.g. from
            :func:`estimate_letter_height`); it includes the glyph crop's paper margin.
        existing_boxes: _Boxes already on the page, pascal_voc ``(n, 4)`` pixels.
        max_iou: Largest IoU allowed with any other box (0: no overlap at all).
        scale_range: Range of the factor applied to ``letter_height``.
        rotation_range: Rotation range in degrees.
        shear_range: Horizontal shear range.
        ink_jitter: Half-width of the RGB ink darkness multipliers around 1.
        max_attempts: Positions tried per paste.
        max_ios: Largest intersection over the smaller area (raised to ``max_iou``).

    Returns:
        A list of :class:`PastePlan`, at most ``k`` long.

    >>> plans = plan_pastes(np.random.default_rng(0), (100, 100), [(64, 64)], 3, 20)
    >>> len(plans), all(0 <= p.x <= 80 and 0 <= p.y <= 80 for p in plans)
    (3, True)
    """
    if isinstance(k, bool) or int(k) < 0:
        raise ValueError(f"Expected `k` >= 0. Received {k!r}")
    if not (letter_height > 0 and math.isfinite(letter_height)):
        raise ValueError(f"Expected a finite `letter_height` > 0. Received {letter_height!r}")
    if not 0.0 <= max_iou <= 1.0:
        raise ValueError(f"Expected `max_iou` in [0, 1]. Received {max_iou!r}")
    if int(max_attempts) < 1:
        raise ValueError(f"Expected `max_attempts` >= 1. Received {max_attempts!r}")
    if not 0.0 <= ink_jitter < 1.0:
        raise ValueError(f"Expected `ink_jitter` in [0, 1). Received {ink_jitter!r}")
    scale = _range(scale_range, "scale_range")
    rot, shr = _range(rotation_range, "rotation_range"), _range(shear_range, "shear_range")
    if scale[0] <= 0:
        raise ValueError(f"Expected `scale_range` > 0. Received {scale_range!r}")
    shapes = [(int(s[0]), int(s[1])) for s in glyph_shapes]
    if any(h < 1 or w < 1 for h, w in shapes):
        raise ValueError(f"Expected positive glyph shapes (h, w). Received {glyph_shapes!r}")
    page_h, page_w = int(page_shape[0]), int(page_shape[1])
    existing = _boxes(existing_boxes, "existing_boxes")
    n, attempts = (int(k) if shapes else 0), int(max_attempts)
    if n == 0:
        return []
    # every random number of the call at once: numpy's per-call cost dominates small draws
    index = rng.integers(len(shapes), size=n)
    factor = rng.uniform(scale[0], scale[1], n)
    rotation, shear = rng.uniform(rot[0], rot[1], n), rng.uniform(shr[0], shr[1], n)
    jitter = 1.0 + rng.uniform(-ink_jitter, ink_jitter, (n, 3))
    where = rng.random((n, 2, attempts))
    # taken boxes (existing, then planned) and their areas, grown in place
    boxes = np.empty((len(existing) + n, 4))
    boxes[: len(existing)] = existing
    sides = np.maximum(existing[:, 2:] - existing[:, :2], 0.0)
    areas = np.empty(len(boxes))
    areas[: len(existing)] = sides[:, 0] * sides[:, 1]
    taken = len(existing)
    limits = (max_iou + _TOL, max(max_iou, max_ios) + _TOL)  # IoU, intersection / smaller
    plans: list[PastePlan] = []
    for i in range(n):
        height = max(1, round(letter_height * float(factor[i])))
        rot_i, shear_i = float(rotation[i]), float(shear[i])
        _, (ch, cw), _ = _geometry(shapes[index[i]], height, rot_i, shear_i)
        if ch > page_h or cw > page_w:
            continue
        xs = (where[i, 0] * (page_w - cw + 1)).astype(np.int64)
        ys = (where[i, 1] * (page_h - ch + 1)).astype(np.int64)
        first = 0
        # A candidate is free when, against every taken box, IoU <= max_iou and the
        # intersection over the smaller area <= max(max_iou, max_ios), written without
        # divisions: inter <= limit * union, inter <= limit * min(area). On a sparse page
        # the first candidate is usually free: it is tried alone, in plain Python, first.
        if taken and not _free(boxes, areas, taken, int(xs[0]), int(ys[0]), cw, ch, limits):
            b, a = boxes[:taken], areas[:taken]
            w = np.minimum(xs[:, None] + cw, b[:, 2]) - np.maximum(xs[:, None], b[:, 0])
            h = np.minimum(ys[:, None] + ch, b[:, 3]) - np.maximum(ys[:, None], b[:, 1])
            inter = np.maximum(w, 0.0) * np.maximum(h, 0.0)
            own = float(cw * ch)
            ok = (inter <= limits[0] * (own + a - inter)) & (
                inter <= limits[1] * np.minimum(own, a)
            )
            free = np.flatnonzero(ok.all(axis=1))
            if not free.size:
                continue
            first = int(free[0])
        x, y = int(xs[first]), int(ys[first])
        j = jitter[i]
        plans.append(
            PastePlan(
                int(index[i]), x, y, height, rot_i, shear_i, (float(j[0]), float(j[1]), float(j[2]))
            )
        )
        boxes[taken] = (x, y, x + cw, y + ch)
        areas[taken] = cw * ch
        taken += 1
    return plans


def _free(
    boxes: np.ndarray,
    areas: np.ndarray,
    taken: int,
    x: int,
    y: int,
    w: int,
    h: int,
    limits: tuple[float, float],
) -> bool:
    """Whether the box ``(x, y, x + w, y + h)`` is free of the first ``taken`` boxes
    (the test of :func:`plan_pastes`, one candidate, in plain Python: faster for a few)."""
    if taken > 32:
        return False  # let numpy test all candidates at once
    own = float(w * h)
    for (bx0, by0, bx1, by1), area in zip(
        boxes[:taken].tolist(), areas[:taken].tolist(), strict=True
    ):
        iw = min(x + w, bx1) - max(x, bx0)
        ih = min(y + h, by1) - max(y, by0)
        if iw <= 0 or ih <= 0:
            continue
        inter = iw * ih
        if inter > limits[0] * (own + area - inter) or inter > limits[1] * min(own, area):
            return False
    return True


def _composite(
    page: np.ndarray, stack: np.ndarray, x: int, y: int, jitter: Sequence[float]
) -> tuple[int, int, int, int]:
    """Multiply ``page`` in place by a transformed paste ``stack`` at ``(x, y)``; its ink box."""
    ph, pw = page.shape[:2]
    ch, cw = stack.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + cw, pw), min(y + ch, ph)
    if x0 >= x1 or y0 >= y1:
        raise ValueError(
            f"Expected a paste that overlaps the {pw}x{ph} page. "
            f"Received a {cw}x{ch} canvas at x={x}, y={y}"
        )
    visible = stack[y0 - y : y1 - y, x0 - x : x1 - x]
    j0, j1, j2 = (float(v) for v in jitter)
    # factor = 1 - min(1, jitter * dark), in one affine colour transform (alpha dropped)
    # and one clamp at zero
    mix = np.array(((-j0, 0, 0, 0, 1), (0, -j1, 0, 0, 1), (0, 0, -j2, 0, 1)), np.float32)
    factor = cv2.transform(visible, mix)
    cv2.threshold(factor, 0.0, 0.0, cv2.THRESH_TOZERO, dst=factor)
    region = page[y0:y1, x0:x1]
    if page.dtype == np.uint8:
        done = cv2.multiply(region, factor, dst=region, dtype=cv2.CV_8U)  # rounds to nearest
        if done is not region:  # OpenCV wrote elsewhere instead of into the page's view
            region[...] = done.reshape(region.shape)
    elif page.dtype == np.float32:
        region[...] = cv2.multiply(region, factor)
    else:
        region *= factor
    matte = visible[:, :, 3]  # the part on the page
    bx, by, bw, bh = cv2.boundingRect((matte > BOX_THRESHOLD).view(np.uint8))
    if bw == 0:  # a faint glyph: half its peak; a blank one: the whole (visible) canvas
        peak = float(matte.max())
        mask = (matte > 0.5 * peak).view(np.uint8)
        bx, by, bw, bh = cv2.boundingRect(mask) if peak > 0 else (0, 0, x1 - x0, y1 - y0)
    return x0 + bx, y0 + by, x0 + bx + bw, y0 + by + bh


def apply_pastes(
    page: np.ndarray,
    glyphs: Sequence[np.ndarray] | np.ndarray | None,
    mattes: Sequence[np.ndarray] | np.ndarray | None,
    plans: Sequence[PastePlan],
    *,
    ratios: Sequence[np.ndarray] | np.ndarray | None = None,
    layers: Sequence[np.ndarray] | np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Composite planned glyphs into a copy of ``page`` with multiply blending.

    Each glyph multiplies the page by ``1 - min(1, ink_jitter * m * (1 - ratio))``, ``m`` its
    transformed matte: that is ``1 - m + m * ratio`` without jitter, and exactly 1 (no change)
    where ``m == 0``. Per glyph, the inputs used are, by preference: ``layers``
    (:func:`paste_layers`, fastest); ``ratios`` and ``mattes``; the raw ``glyphs``, from which
    missing ratios and mattes are estimated (:func:`ink_ratio`, :func:`ink_matte`) once a call.

    Args:
        page: RGB page ``(H, W, 3)``, float in ``[0, 1]`` or ``uint8``; not modified.
        glyphs: Raw glyph crops ``(h, w, 3)``, or ``None`` when precomputed inputs are given.
        mattes: Mattes ``(h, w)`` per glyph, or ``None``.
        plans: From :func:`plan_pastes`; ``glyph_index`` indexes the per-glyph sequences. A
            canvas partly off the page is clipped; one entirely off raises ``ValueError``.
        ratios: Ratios ``(h, w, 3)`` per glyph, or ``None``.
        layers: :func:`paste_layers` ``(h, w, 4)`` per glyph, or ``None``.

    Returns:
        ``(page_out, boxes)``: a new page of ``page``'s dtype, and ``float32`` pascal_voc
        ``boxes`` of shape ``(len(plans), 4)``, row ``i`` the tight box of plan ``i``'s ink
        (transformed matte above :data:`BOX_THRESHOLD`), clipped to the page.

    >>> page = np.full((40, 40, 3), 0.8, np.float32)
    >>> glyph = np.full((16, 16, 3), 0.8, np.float32); glyph[4:12, 7:9] = 0.1
    >>> out, boxes = apply_pastes(page, [glyph], None, [PastePlan(0, x=10, y=10, height=16)])
    >>> boxes.tolist(), bool(out[18, 18, 0] < 0.2), bool(out[5, 5, 0] == 0.8)
    ([[17.0, 14.0, 19.0, 22.0]], True, True)
    """
    out = _check_page(page).copy()
    if layers is None and (ratios is None or mattes is None) and glyphs is None:
        raise ValueError("Expected `layers`, `glyphs`, or `mattes` and `ratios`. Received None")
    count = len(next(s for s in (layers, ratios, mattes, glyphs) if s is not None))
    cache: dict[int, np.ndarray] = {}
    boxes = np.zeros((len(plans), 4), np.float32)
    for i, plan in enumerate(plans):
        idx = plan.glyph_index
        if idx not in cache:
            if not 0 <= idx < count:
                raise ValueError(f"Expected `glyph_index` in [0, {count}). Received {idx}")
            if layers is not None:
                cache[idx] = np.asarray(layers[idx], np.float32)
                if cache[idx].ndim != 3 or cache[idx].shape[2] != 4:
                    raise ValueError(f"Expected layers (h, w, 4). Received {cache[idx].shape}")
                _check_finite(cache[idx], "layers")
            else:
                raw = None if glyphs is None else glyphs[idx]
                ratio = ink_ratio(raw) if ratios is None else ratios[idx]  # type: ignore[arg-type]
                matte = ink_matte(raw) if mattes is None else mattes[idx]  # type: ignore[arg-type]
                cache[idx] = paste_layers(ratio, matte)
        if plan.height < 1:
            raise ValueError(f"Expected a plan height >= 1 pixel. Received {plan.height!r}")
        stack = _transform(cache[idx], plan.height, plan.rotation, plan.shear, _ZERO)
        boxes[i] = _composite(out, stack, plan.x, plan.y, plan.ink_jitter)
    return out, boxes


def replace_with_glyph(
    image: np.ndarray,
    ratio: np.ndarray,
    matte: np.ndarray,
    rng: np.random.Generator | None = None,
    fill: float = 0.8,
) -> tuple[np.ndarray, np.ndarray]:
    """Replace the letter of a classification crop by a glyph, on the crop's own paper.

    The crop's ink (its unfeathered matte, dilated by a pixel) is filled with the local mean of
    the paper around it (a masked box blur); paper texture elsewhere is kept. The glyph is
    resized so its crop is about ``fill`` × the crop height (less if it would be too wide) and
    pasted centred with the same multiply blending as :func:`apply_pastes`.

    Args:
        image: RGB crop ``(h, w, 3)``, float in ``[0, 1]`` or ``uint8``; not modified.
        ratio: The glyph's :func:`ink_ratio` ``(gh, gw, 3)``.
        matte: The glyph's :func:`ink_matte` ``(gh, gw)``.
        rng: If given, moves the glyph off centre by up to a quarter of the free margin per axis.
        fill: Glyph crop height as a fraction of the crop height, in ``(0, 1]``.

    Returns:
        ``(image_out, box)``: the new crop (input dtype) and the pasted ink's pascal_voc box,
        ``float32`` ``(4,)`` in crop pixels.

    >>> crop = np.full((32, 32, 3), 0.8, np.float32); crop[8:24, 15:17] = 0.1
    >>> m = np.zeros((16, 16), np.float32); m[6:10, 4:12] = 1.0
    >>> out, box = replace_with_glyph(crop, np.full((16, 16, 3), 0.2, np.float32), m)
    >>> bool(out[10, 16, 0] > 0.7), box.tolist()
    (True, [9.0, 12.0, 23.0, 20.0])
    """
    arr = _check_page(image, "image")
    if not 0.0 < fill <= 1.0:
        raise ValueError(f"Expected `fill` in (0, 1]. Received {fill!r}")
    img = _as_float_rgb(arr, "image")
    h, w = img.shape[:2]
    paper = border_color(img, _RING)
    ink = cv2.dilate(_raw_matte(img, paper, 0.2, 0.7), np.ones((3, 3), np.uint8))
    keep = 1.0 - ink
    k = max(3, min(h, w) // 3) | 1
    den = cv2.blur(keep, (k, k))[:, :, None]
    num = cv2.blur(img * keep[:, :, None], (k, k))
    local = np.where(den > 0.05, num / np.maximum(den, 1e-6), paper)
    clean = (img * keep[:, :, None] + local * ink[:, :, None]).astype(np.float32)

    stack = paste_layers(ratio, matte)
    gh, gw = stack.shape[:2]
    height = max(1, min(round(fill * h), int(gh * w / gw)))
    while height > 1 and max(1, round(gw * height / gh)) > w:
        height -= 1
    stack = _transform(stack, height, 0.0, 0.0, _ZERO)
    sh, sw = stack.shape[:2]
    x, y = (w - sw) // 2, (h - sh) // 2
    if rng is not None:
        dx, dy = max(0, (w - sw) // 4), max(0, (h - sh) // 4)  # a glyph wider than the crop
        x, y = x + int(rng.integers(-dx, dx + 1)), y + int(rng.integers(-dy, dy + 1))
    box = np.array(_composite(clean, stack, x, y, (1.0, 1.0, 1.0)), np.float32)
    if arr.dtype == np.uint8:
        return (np.clip(clean, 0.0, 1.0) * 255 + 0.5).astype(np.uint8), box
    return clean.astype(arr.dtype, copy=False), box
