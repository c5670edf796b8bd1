"""Sharpness of the shipped models at pixel and at stroke scale, with and without texture.

Usage:
    python benchmarks/texture_scales.py --data ../shared/data/hellchar [--blur 1.5] [--n 500]

The sharpness ratio of ``glyphvae evaluate`` (variance of the Laplacian, generated over real
held-out crops) is mostly paper grain. Blurring every image with a Gaussian of ``--blur``
pixels first removes most of the grain and leaves the strokes' edges, so the second column
group shows whether the strokes themselves are as sharp as real ones. Prints one table.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import cv2
import numpy as np

from glyphvae.evaluation import heldout_split
from glyphvae.hub import from_pretrained, read_metadata_of
from glyphvae.metrics import laplacian_variance


def blurred(images: np.ndarray, sigma: float) -> np.ndarray:
    """Each image blurred by a Gaussian of ``sigma`` pixels (unchanged for 0)."""
    if sigma <= 0:
        return images
    return np.stack([cv2.GaussianBlur(im, (0, 0), sigma) for im in images])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--letters", nargs="+", default=["epsilon", "alpha"])
    parser.add_argument("--blur", type=float, default=1.5, help="stroke scale (Gaussian sigma)")
    parser.add_argument("--n", type=int, default=500)
    args = parser.parse_args()

    print("| letter | scale | textured | plain | real training crops |")
    print("|---|---|---:|---:|---:|")
    for letter in args.letters:
        model = from_pretrained(letter, expected_class="GlyphVAE")
        train, held = heldout_split(
            args.data, letter, model.image_size, metadata=read_metadata_of(letter)
        )
        sets = {
            "textured": model.generate(args.n, seed=0),
            "plain": model.generate(args.n, seed=0, texture=False),
            "train": train.images.astype(np.float32) / 255.0,
        }
        real = held.images.astype(np.float32) / 255.0
        for scale, sigma in (("pixel", 0.0), (f"stroke (blur {args.blur:g} px)", args.blur)):
            ref = float(laplacian_variance(blurred(real, sigma)).mean())
            r = {
                k: float(laplacian_variance(blurred(v, sigma)).mean()) / ref
                for k, v in sets.items()
            }
            print(
                f"| {letter} | {scale} | {r['textured']:.2f} | {r['plain']:.2f} "
                f"| {r['train']:.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
