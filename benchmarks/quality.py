"""The evaluation table of the shipped epsilon and alpha models, on held-out papyri.

Usage:
    python benchmarks/quality.py --data ../shared/data/hellchar [--n 500] [--json out.json]

Loads the presets shipped in ``glyphvae/weights/`` (the letter models and the judge
classifier), recomputes the held-out papyri each model never saw from its recorded split,
generates ``n`` glyphs per letter and prints :func:`glyphvae.evaluation.format_report` for each,
then one summary table against the targets of issue 3, with a row per letter for the same
glyphs without the residual texture (the plain decoder means).
"""

from __future__ import annotations

import argparse
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from glyphvae.evaluation import evaluate_generator, format_report, heldout_split
from glyphvae.hub import from_pretrained, read_metadata_of


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--letters", nargs="+", default=["epsilon", "alpha"])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="write all reports to this JSON file")
    args = parser.parse_args()

    judge = from_pretrained("classifier", expected_class="LetterClassifier")
    reports = {}
    for letter in args.letters:
        model = from_pretrained(letter, expected_class="GlyphVAE")
        train, held = heldout_split(
            args.data, letter, model.image_size, metadata=read_metadata_of(letter)
        )
        reports[letter] = evaluate_generator(model, judge, train, held, n=args.n, seed=args.seed)
        print(format_report(reports[letter]), end="\n\n", flush=True)
        if model.texture_fitted:  # what the residual texture adds: the same glyphs without it
            reports[f"{letter}, no texture"] = evaluate_generator(
                model, judge, train, held, n=args.n, seed=args.seed, texture=False
            )

    print(
        "| letter | recognised (gen / real) | KIDx1000 | precision | recall | sharpness "
        "(gen/held-out; train/held-out) | ΔE gen / ΔE train (ratio) | copies |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for letter, r in reports.items():
        rec, sh, col = r["recognised"], r["sharpness"], r["colour"]
        print(
            f"| {letter} | {rec['generated']:.2f} / {rec['real_heldout']:.2f} "
            f"| {r['kid_x1000']['mean']:.0f} ± {r['kid_x1000']['std']:.0f} "
            f"| {r['precision']:.2f} | {r['recall']:.2f} "
            f"| {sh['ratio']:.3f}; {sh['ratio_train_to_heldout']:.2f} "
            f"| {col['delta_e_generated_heldout']:.2f} / {col['delta_e_train_heldout']:.2f} "
            f"({col['ratio']:.2f}) | {r['memorisation']['copies']} of {r['n_generated']} |"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(reports, f, indent=2)


if __name__ == "__main__":
    main()
