"""How the residual texture is fitted: the shipped fit against a power-gap fit, one table.

Usage:
    python benchmarks/texture_fit.py --data ../shared/data/hellchar [--n 500]

The shipped texture (:func:`glyphvae.models.texture.fit_residual_texture`) draws noise with
the power spectrum of the decoder's residuals ``x - reconstruction`` above the cutoff. When
the decoder mean has fine detail of its own that is not the crop's grain, the residual holds
both the grain and that detail with the opposite sign, so its power exceeds the missing
power, and a textured reconstruction carries more fine detail than the crop it came from.
The alternative fitted here draws only the *power gap*: ``max(P(x) - P(reconstruction), 0)``
per frequency and decorrelated channel, so that a reconstruction plus texture has the crops'
own spectrum. For each shipped model the script prints the fine-detail power of the
training crops, their reconstructions and the residuals, then the evaluation figures of
both fits on the same glyphs (same seed) against the held-out papyri.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

from glyphvae.evaluation import evaluate_generator, heldout_split
from glyphvae.hub import from_pretrained, read_metadata_of
from glyphvae.models.texture import TEXTURE_CUTOFF


def fine_power(images: np.ndarray, mixing: np.ndarray, cutoff: float) -> np.ndarray:
    """Mean power per real-FFT coefficient of each decorrelated channel, zero below ``cutoff``."""
    s = images.shape[1]
    power = (np.abs(np.fft.rfft2(images @ mixing, axes=(1, 2))) ** 2).mean(axis=0)
    keep = np.hypot(np.fft.fftfreq(s)[:, None], np.fft.rfftfreq(s)[None, :]) >= cutoff
    return np.asarray(power * keep[..., None])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--letters", nargs="+", default=["epsilon", "alpha"])
    parser.add_argument("--n", type=int, default=500)
    args = parser.parse_args()

    judge = from_pretrained("classifier", expected_class="LetterClassifier")
    power_rows, rows = [], []
    for letter in args.letters:
        model = from_pretrained(letter, expected_class="GlyphVAE")
        if not model.texture_fitted:
            raise SystemExit(f"Expected a model with a fitted texture. {letter!r} has none")
        train, held = heldout_split(
            args.data, letter, model.image_size, metadata=read_metadata_of(letter)
        )
        x = train.images.astype(np.float64) / 255.0
        rec = model.reconstruct(x.astype(np.float32)).astype(np.float64)
        mixing = model.texture_mix.numpy().astype(np.float64)
        p_x, p_rec, p_res = (fine_power(a, mixing, TEXTURE_CUTOFF) for a in (x, rec, x - rec))
        power_rows.append(f"| {letter} | {p_x.sum():.0f} | {p_rec.sum():.0f} | {p_res.sum():.0f} |")

        shipped = model.texture_amp.numpy().copy()
        s = model.image_size
        gap = (np.sqrt(np.maximum(p_x - p_rec, 0.0)) / s).astype(np.float32)
        for name, amplitude in (("residual (shipped)", shipped), ("power gap", gap)):
            model.texture_amp.assign(amplitude)
            r = evaluate_generator(model, judge, train, held, n=args.n, seed=0)
            rec_, sh = r["recognised"], r["sharpness"]
            rows.append(
                f"| {letter} | {name} | {rec_['generated']:.2f} / {rec_['real_heldout']:.2f} "
                f"| {r['kid_x1000']['mean']:.0f} ± {r['kid_x1000']['std']:.0f} "
                f"| {r['precision']:.2f} | {r['recall']:.2f} "
                f"| {sh['ratio']:.3f}; {sh['ratio_train_to_heldout']:.2f} "
                f"| {r['memorisation']['copies']} |"
            )
        model.texture_amp.assign(shipped)

    print(f"Fine-detail power (>= {TEXTURE_CUTOFF} cycles/px) of the training crops")
    print("| letter | crops | reconstructions | residuals |")
    print("|---|---:|---:|---:|")
    print("\n".join(power_rows), end="\n\n")
    print(
        "| letter | texture | recognised (gen / real) | KIDx1000 | precision | recall "
        "| sharpness (gen/held-out; train/held-out) | copies |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
