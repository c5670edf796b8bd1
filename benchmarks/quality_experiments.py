"""Train model variants on one letter and compare their quality figures in one table.

Usage:
    python benchmarks/quality_experiments.py --data ../shared/data/hellchar \\
        --classifier runs/classifier --letter epsilon --out runs/experiments \\
        --variant baseline '{}' --variant adv0.1 '{"adversarial_weight": 0.1}'

Each variant is a name and a JSON object of :class:`glyphvae.TrainConfig` overrides. Every
variant is trained with the same data, split and seed, then evaluated against the same
held-out papyri with :func:`glyphvae.evaluation.evaluate_generator`, with the standard
normal prior and (if the variant fits one) the mixture prior. Results are written to
``<out>/<variant>/report*.json`` and summarised as a table; a variant already trained in
``<out>`` is evaluated again without retraining.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from glyphvae.classifier import LetterClassifier
from glyphvae.evaluation import evaluate_generator, heldout_split
from glyphvae.hub import from_pretrained
from glyphvae.saving import read_metadata
from glyphvae.training import TrainConfig, fit_letter

COLUMNS = [
    ("recognised", lambda r: f"{r['recognised']['generated']:.2f}"),
    ("real", lambda r: f"{r['recognised']['real_heldout']:.2f}"),
    ("KIDx1000", lambda r: f"{r['kid_x1000']['mean']:.1f}"),
    ("prec", lambda r: f"{r['precision']:.2f}"),
    ("recall", lambda r: f"{r['recall']:.2f}"),
    ("sharp", lambda r: f"{r['sharpness']['ratio']:.3f}"),
    ("ΔE", lambda r: f"{r['colour']['delta_e_generated_heldout']:.2f}"),
    ("ΔE real", lambda r: f"{r['colour']['delta_e_train_heldout']:.2f}"),
    ("copies", lambda r: str(r["memorisation"]["copies"])),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--classifier", required=True)
    parser.add_argument("--letter", default="epsilon")
    parser.add_argument("--out", default="runs/experiments")
    parser.add_argument("--epochs", type=int, default=TrainConfig().epochs)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--n", type=int, default=500, help="glyphs generated per evaluation")
    parser.add_argument("--temperatures", type=float, nargs="+", default=[1.0])
    parser.add_argument("--variant", nargs=2, action="append", metavar=("NAME", "JSON"), default=[])
    args = parser.parse_args()

    classifier = LetterClassifier.from_pretrained(args.classifier)
    rows = []
    for name, overrides in args.variant or [("baseline", "{}")]:
        out = Path(args.out) / name
        start = time.perf_counter()
        if not (out / "model.weights.h5").is_file():
            config = TrainConfig(image_size=args.image_size, epochs=args.epochs)
            fit_letter(
                args.letter,
                data=args.data,
                out=out,
                config=config,
                overwrite=True,
                verbose=0,
                **json.loads(overrides),
            )
        train_s = time.perf_counter() - start
        model = from_pretrained(out, expected_class="GlyphVAE")
        meta = read_metadata(out)
        train, held = heldout_split(args.data, args.letter, model.image_size, metadata=meta)
        priors = ["standard", "mixture"] if model.prior_fitted else ["standard"]
        for prior in priors:
            for temperature in args.temperatures:
                report = evaluate_generator(
                    model, classifier, train, held, n=args.n, temperature=temperature, prior=prior
                )
                report["variant"] = {"name": name, "overrides": json.loads(overrides)}
                report["train_seconds"] = round(train_s, 1)
                report["images_per_second"] = meta.get("images_per_second")
                tag = f"{prior}-t{temperature:g}"
                (out / f"report-{tag}.json").write_text(json.dumps(report, indent=2))
                rows.append((f"{name} [{tag}]", report))
                print(f"{name} [{tag}] done", flush=True)

    header = ["variant", *[c for c, _ in COLUMNS], "img/s"]
    print()
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for label, r in rows:
        cells = [label, *[f(r) for _, f in COLUMNS], str(r.get("images_per_second"))]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
