"""Glyph injection throughput: bank fill rate, pastes per second, cost inside albumentations.

Usage:
    python benchmarks/synth_throughput.py [--data ../shared/data/hellchar] [--out FILE.png]

Prints a markdown table of

* the **fill rate** of a :class:`~glyphvae.bank.GlyphBank` (glyphs/s decoded, converted to
  ``uint8`` and matted by ``GlyphBank.from_models``) from a default 64 px ``GlyphVAE``
  (untrained: the cost does not depend on the weights), next to the decoder's raw throughput
  (``model.decode`` at batch 256);
* **pastes per second per core** (OpenCV on one thread) from the filled bank into 512×512
  pages, with the paste-layer cache cold (first use of each glyph) and warm;
* the **added cost** of ``GlyphSynthesizer`` inside a typical albumentations pipeline
  (``Affine``, ``RandomBrightnessContrast``, ``GaussNoise``, boxes on) on 512 and 1024 px
  pages, against the same pipeline without it, one thread, runs interleaved.

It also writes a PNG (``--out``): a papyrus-coloured page with injected glyphs, without and
with their boxes (existing boxes grey, injected ones red). With ``--data`` (a Hell-Char style
letter tree) the page is assembled from real crops and the injected glyphs come from the
shipped models of epsilon and alpha, or, if no weights ship, from real crops of those letters
(copy-paste); without it, from procedurally drawn glyphs.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import albumentations as A
import cv2
import numpy as np

from glyphvae.augment import GlyphSynthesizer
from glyphvae.augment.functional import PastePlan, apply_pastes, plan_box, plan_pastes
from glyphvae.bank import GlyphBank
from glyphvae.data.io import write_image
from glyphvae.data.preprocess import border_color

PAPYRUS = (0.80, 0.66, 0.46)
INK = (0.16, 0.11, 0.08)


# ---------------------------------------------------------------------- pages
def papyrus(size: int, seed: int = 0, colour: tuple[float, ...] = PAPYRUS) -> np.ndarray:
    """A ``uint8`` papyrus-like page: base colour, blotchy lighting and horizontal fibres."""
    rng = np.random.default_rng(seed)
    h = w = size
    blotch = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), w / 12)
    blotch /= max(float(np.abs(blotch).max()), 1e-6)
    fibres = rng.normal(0, 1, (h, w)).astype(np.float32)
    fibres = cv2.GaussianBlur(fibres, (0, 0), sigmaX=w / 6, sigmaY=0.8)
    fibres /= max(float(np.abs(fibres).max()), 1e-6)
    grain = rng.normal(0, 0.012, (h, w)).astype(np.float32)
    shade = 1.0 + 0.06 * blotch + 0.05 * fibres + grain
    page = np.asarray(colour, np.float32)[None, None, :] * shade[:, :, None]
    return (np.clip(page, 0, 1) * 255 + 0.5).astype(np.uint8)


def drawn_glyph(rng: np.random.Generator, letter: str, size: int = 64) -> np.ndarray:
    """An RGB ``uint8`` epsilon- or alpha-like stroke glyph on papyrus (no data needed)."""
    img = papyrus(size, int(rng.integers(1 << 30))).astype(np.float32) / 255
    c = size / 2 + rng.uniform(-3, 3, 2)
    r = size * rng.uniform(0.26, 0.32)
    t = max(2, size // 12)
    if letter == "epsilon":
        cv2.ellipse(img, (int(c[0]), int(c[1])), (int(r), int(r * 1.2)), 0, 40, 320, INK, t)
        cv2.line(img, (int(c[0] - r), int(c[1])), (int(c[0] + r * 0.5), int(c[1])), INK, t)
    else:
        cv2.ellipse(
            img, (int(c[0] - r * 0.2), int(c[1])), (int(r * 0.8), int(r)), 0, 0, 360, INK, t
        )
        cv2.line(img, (int(c[0] + r * 0.6), int(c[1] - r)), (int(c[0] + r), int(c[1] + r)), INK, t)
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)


def text_page(
    size: int,
    glyphs: list[np.ndarray],
    height: int,
    seed: int = 0,
    colour: tuple[float, ...] = PAPYRUS,
    fill_rows: float = 0.9,
) -> tuple[np.ndarray, np.ndarray]:
    """A papyrus page with lines of ``glyphs`` (composited with the ink matte) and their boxes.

    The boxes are the pasted crops' boxes, as a letter annotation would be. Lines cover the top
    ``fill_rows`` of the page, with word gaps and lacunae where glyphs can be injected.
    """
    rng = np.random.default_rng(seed)
    page = papyrus(size, seed, colour)
    plans, shapes = [], [g.shape[:2] for g in glyphs]
    y = height // 2
    while y + height < size * fill_rows:
        x = int(rng.integers(4, 20))
        while x < size - height:
            if rng.random() < 0.2:  # word gap or lacuna
                x += int(height * rng.uniform(0.6, 4.0))
                continue
            i = int(rng.integers(len(glyphs)))
            h = max(4, round(height * rng.uniform(0.9, 1.1)))
            w = max(1, round(shapes[i][1] * h / shapes[i][0]))
            if x + w >= size:
                break
            plans.append(PastePlan(i, x, y + int(rng.integers(-2, 3)), h))
            x += w + int(rng.integers(-2, 3))
        y += int(height * 1.6)
    out, _ = apply_pastes(page, glyphs, None, plans)
    boxes = np.stack([plan_box(p, shapes[p.glyph_index]) for p in plans])
    return out, np.clip(boxes, 0, size)


def draw_boxes(page: np.ndarray, old: np.ndarray, new: np.ndarray, labels: list[str]) -> np.ndarray:
    img = page.copy()
    for x0, y0, x1, y1 in np.round(old).astype(int):
        cv2.rectangle(img, (x0, y0), (x1 - 1, y1 - 1), (90, 90, 90), 1)
    for (x0, y0, x1, y1), label in zip(np.round(new).astype(int), labels, strict=True):
        cv2.rectangle(img, (x0, y0), (x1 - 1, y1 - 1), (220, 20, 20), 2)
        cv2.putText(img, label, (x0, max(8, y0 - 3)), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (220, 20, 20))
    return img


# ---------------------------------------------------------------------- measurements
def fill_rate(n: int, rounds: int = 3) -> tuple[dict[str, float], GlyphBank]:
    """Raw decoder throughput vs GlyphBank.from_models, 64 px default model, batch 256.

    Rounds are interleaved (the machine's speed drifts); the ratio is taken per round.
    ``matte`` is the rest of the fill alone: ``uint8`` conversion and one ink matte per glyph.
    """
    from glyphvae.models import GlyphVAE

    model = GlyphVAE(64, letter="epsilon", seed=0)
    z = np.random.default_rng(0).standard_normal((n, model.latent_dim)).astype("float32")
    model.decode(z, batch_size=256)  # warm up (traces the predict function)
    bank = GlyphBank.from_models([model], n_per_letter=n, batch_size=256)
    decode, fill, matte, ratio = [], [], [], []
    for _ in range(rounds):
        start = time.perf_counter()
        images = model.decode(z, batch_size=256)
        decode.append(n / (time.perf_counter() - start))
        start = time.perf_counter()
        bank = GlyphBank.from_models([model], n_per_letter=n, batch_size=256)
        fill.append(n / (time.perf_counter() - start))
        ratio.append(fill[-1] / decode[-1])
        start = time.perf_counter()
        GlyphBank(images, ["epsilon"] * n)
        matte.append(n / (time.perf_counter() - start))
    med = statistics.median
    return {
        "decode": med(decode),
        "fill": med(fill),
        "ratio": med(ratio),
        "matte": med(matte),
    }, bank


def paste_rate(bank: GlyphBank, pages: int, per_page: int) -> dict[str, float]:
    """Pastes per second into 512×512 pages on one thread, layer cache cold then warm."""
    bank._layers.clear()
    rng = np.random.default_rng(0)
    page = papyrus(512)
    shapes = [(bank.image_size, bank.image_size)] * len(bank)
    from glyphvae.augment.glyph_synthesizer import _Layers

    def run(n_pages: int) -> float:
        done, start = 0, time.perf_counter()
        for _ in range(n_pages):  # as GlyphSynthesizer does: k glyphs drawn from the bank
            chosen = rng.choice(len(bank), per_page)
            plans = plan_pastes(rng, page.shape, shapes[:per_page], per_page, 30.0)
            apply_pastes(page, None, None, plans, layers=_Layers(bank, chosen))
            done += len(plans)
        return done / (time.perf_counter() - start)

    cold_pages = max(1, len(bank) // per_page)  # roughly one first use per glyph
    cold = run(cold_pages)
    for i in range(len(bank)):
        bank.layers(i)
    warm = max(run(pages) for _ in range(3))
    synth = GlyphSynthesizer.from_bank(bank, count_range=(per_page, per_page), p=1.0)
    start, done = time.perf_counter(), 0
    for _ in range(pages):
        done += len(synth.paste_into(page, None, rng)[2])
    api = done / (time.perf_counter() - start)
    return {"cold": cold, "warm": warm, "paste_into": api}


def pipeline_cost(bank: GlyphBank, size: int, iters: int) -> dict[str, float]:
    """ms per image of a typical pipeline with and without GlyphSynthesizer (interleaved)."""
    rng = np.random.default_rng(size)
    page = papyrus(size, 1)
    height = size * 0.05
    # existing letter boxes in the upper half, as a text page would have
    boxes = []
    for row in range(int(size * 0.5 / (1.5 * height))):
        for col in range(int(size / (1.2 * height)) - 1):
            if rng.random() < 0.8:
                x, y = col * 1.2 * height + 4, row * 1.5 * height + 4
                boxes.append([x, y, x + height * 0.9, y + height])
    labels = ["x"] * len(boxes)

    def compose(with_synth: bool) -> A.Compose:
        first = [GlyphSynthesizer.from_bank(bank, count_range=(4, 8), p=1.0)] if with_synth else []
        rest = [
            A.Affine(scale=(0.95, 1.05), rotate=(-3, 3), translate_percent=(-0.02, 0.02), p=1.0),
            A.RandomBrightnessContrast(p=1.0),
            A.GaussNoise(std_range=(0.02, 0.05), p=1.0),
        ]
        params = A.BboxParams(format="pascal_voc", label_fields=["labels"], clip=True)
        return A.Compose(first + rest, bbox_params=params, seed=0)

    pipes = {"without": compose(False), "with": compose(True)}
    times: dict[str, list[float]] = {"without": [], "with": []}
    for pipe in pipes.values():  # warm up
        for _ in range(3):
            pipe(image=page, bboxes=boxes, labels=labels)
    for _ in range(iters):
        for name, pipe in pipes.items():
            start = time.perf_counter()
            pipe(image=page, bboxes=boxes, labels=labels)
            times[name].append(time.perf_counter() - start)
    return {name: 1000 * statistics.median(t) for name, t in times.items()} | {
        "boxes": float(len(boxes))
    }


# ---------------------------------------------------------------------- figure
def demo_bank(data: Path | None, seed: int) -> tuple[GlyphBank, str]:
    """The bank shown in the figure: shipped models, else real crops, else drawn glyphs."""
    try:
        return GlyphBank.from_pretrained(["epsilon", "alpha"], n_per_letter=64, seed=seed), (
            "shipped epsilon/alpha models"
        )
    except (FileNotFoundError, OSError, ValueError) as e:
        reason = str(e).splitlines()[0][:90]
    if data is not None:
        bank = GlyphBank.from_crops(data, ["epsilon", "alpha"], 64, n_per_letter=128, seed=seed)
        return bank, f"real epsilon/alpha crops (no shipped weights: {reason})"
    rng = np.random.default_rng(seed)
    letters = ["epsilon", "alpha"] * 16
    return GlyphBank(np.stack([drawn_glyph(rng, x) for x in letters]), letters), (
        f"drawn glyphs (no shipped weights: {reason})"
    )


def demo_page(data: Path | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A page of text: real crops of every letter if ``data`` is given, else drawn glyphs."""
    rng = np.random.default_rng(seed)
    if data is not None:
        from glyphvae.data.dataset import find_crops
        from glyphvae.data.io import read_image

        records = find_crops(data)
        picks = rng.choice(len(records), min(300, len(records)), replace=False)
        crops = [read_image(records[int(i)].path) for i in picks]
        # legible crops only: large enough, ink well below the paper
        lum = [g @ np.float32([0.299, 0.587, 0.114]) for g in crops]
        glyphs = [
            g
            for g, y in zip(crops, lum, strict=True)
            if min(g.shape[:2]) >= 20 and np.median(y) - np.percentile(y, 3) > 0.3
        ]
        colour = tuple(float(v) for v in np.median([border_color(g) for g in glyphs], axis=0))
        return text_page(512, glyphs, height=30, seed=seed, colour=colour)
    glyphs = [drawn_glyph(rng, x) for x in ["epsilon", "alpha"] * 10]
    return text_page(512, glyphs, height=30, seed=seed)


def figure(data: Path | None, out: Path, seed: int) -> str:
    bank, source = demo_bank(data, seed)
    page, boxes = demo_page(data, seed)
    synth = GlyphSynthesizer.from_bank(bank, count_range=(10, 14), max_iou=0.0, p=1.0)
    new_page, new_boxes, letters = synth.paste_into(page, boxes, np.random.default_rng(seed))
    both = np.concatenate(
        [
            new_page,
            np.full((512, 8, 3), 255, np.uint8),
            draw_boxes(new_page, boxes, new_boxes, letters),
        ],
        axis=1,
    )
    write_image(out, both)
    return f"{out}: {len(letters)} glyphs injected among {len(boxes)} letters; bank: {source}"


# ---------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="Letter tree of real crops.")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "output" / "injected_page.png"
    )
    parser.add_argument("--fill-glyphs", type=int, default=2048, help="Glyphs decoded per run.")
    parser.add_argument("--pages", type=int, default=200, help="512 px pages per paste run.")
    parser.add_argument("--per-page", type=int, default=8, help="Pastes per page.")
    parser.add_argument("--iters", type=int, default=60, help="Pipeline calls per variant.")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    cpu = f"{os.cpu_count()} cores, {platform.machine()}"
    print(
        f"device: {f'{len(gpus)} GPU + ' if gpus else ''}CPU ({cpu}); tensorflow {tf.__version__}"
    )

    f, bank = fill_rate(args.fill_glyphs)
    cv2.setNumThreads(1)  # pastes and pipelines per core, as in one data-loader worker
    p = paste_rate(bank, args.pages, args.per_page)
    costs = {size: pipeline_cost(bank, size, args.iters) for size in (512, 1024)}

    per = f"1 thread, 64 px glyphs, 512² pages, {args.per_page} per page"
    rows = [
        ("decoder, `model.decode` batch 256", f"{f['decode']:,.0f} glyphs/s", "64 px GlyphVAE"),
        (
            "bank fill, `GlyphBank.from_models`",
            f"{f['fill']:,.0f} glyphs/s",
            f"{f['ratio']:.0%} of the decoder (median of per-round ratios)",
        ),
        ("fill without decoding (uint8 + ink matte)", f"{f['matte']:,.0f} glyphs/s", "numpy"),
        ("pastes, paste-layer cache cold", f"{p['cold']:,.0f} /s", per),
        ("pastes, cache warm", f"{p['warm']:,.0f} /s", "`plan_pastes` + `apply_pastes`"),
        ("pastes, `GlyphSynthesizer.paste_into`", f"{p['paste_into']:,.0f} /s", "cache warm"),
    ]
    for size, c in costs.items():
        added = c["with"] - c["without"]
        rows.append(
            (
                f"pipeline {size}², without → with synthesizer",
                f"{c['without']:.2f} → {c['with']:.2f} ms",
                f"+{added:.2f} ms/image (+{added / c['without']:.0%}); 4-8 glyphs, "
                f"{c['boxes']:.0f} boxes, 1 thread",
            )
        )
    print()
    print("| measure | value | note |")
    print("|---|---:|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()
    print(figure(args.data, args.out, args.seed))


if __name__ == "__main__":
    main()
