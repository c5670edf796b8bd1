"""Downstream gain of synthetic glyphs for a letter classifier, full-data and low-data.

Usage:
    python benchmarks/downstream.py --data ../shared/data/hellchar [--seeds 0 1 2 3 4] \\
        [--letters epsilon alpha] [--n-synthetic 400] [--low-data 50] [--json out.json] \\
        [--settings full low_data] [--pretrain-steps 1688] [--low-data-temperature 0.7] \\
        [--arms oversampled mixed filtered] [--screen-pool 4] [--tuning]

Five classifier arms (real only; real + the augmented letters' real crops repeated; real +
generated glyphs; real + half repeated crops, half generated glyphs; the same with the
generated half screened by the oversampled arm's classifier, from ``--screen-pool`` times as
many generated glyphs), tested on held-out papyri over several seeds (``--arms`` picks some).
In the low-data setting each augmented letter keeps only ``--low-data`` real crops and its
VAE is trained on those alone, from scratch or (``--pretrain-steps``) fine-tuned from a base
VAE trained here on the other letters' crops. See :mod:`glyphvae.downstream`. Expensive:
about 10 classifier trainings (5 per setting) and 2 small VAE trainings
per seed; use fewer seeds or ``--classifier-epochs`` for a quick look. ``--tuning`` tests on
a split of the training papyri instead, for choosing a setting (such as the temperature)
without looking at the held-out papyri.
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from glyphvae.downstream import ARMS, evaluate_downstream, format_downstream
from glyphvae.hub import from_pretrained, read_metadata_of
from glyphvae.training import TrainConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--letters", nargs="+", default=["epsilon", "alpha"])
    parser.add_argument("--models", nargs="+", default=None, help="sources (default: presets)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--n-synthetic", type=int, default=400)
    parser.add_argument("--low-data", type=int, default=50)
    parser.add_argument("--classifier-epochs", type=int, default=12)
    parser.add_argument(
        "--low-data-steps", type=int, default=500, help="VAE steps on the few crops"
    )
    parser.add_argument(
        "--pretrain-steps",
        type=int,
        default=0,
        help="low-data VAEs fine-tune a base VAE trained this many steps on the other letters",
    )
    parser.add_argument(
        "--pretrained",
        default=None,
        help="a base VAE (folder, preset or hf:// repo) instead of --pretrain-steps",
    )
    parser.add_argument(
        "--low-data-temperature",
        type=float,
        default=None,
        help="sampling temperature of the low-data VAEs (default: the model's)",
    )
    parser.add_argument("--json", default=None)
    parser.add_argument("--settings", nargs="+", default=["full", "low_data"])
    parser.add_argument(
        "--arms", nargs="+", default=list(ARMS), help=f"classifier arms (default: all of {ARMS})"
    )
    parser.add_argument(
        "--screen-pool",
        type=int,
        default=1,
        help="the filtered arm screens this many times --n-synthetic generated glyphs",
    )
    parser.add_argument(
        "--tuning",
        action="store_true",
        help="test on a papyrus split of the training papyri, not the held-out ones "
        "(to choose settings; low_data only)",
    )
    args = parser.parse_args()

    sources = args.models or args.letters
    models, configs = {}, {}
    for letter, src in zip(args.letters, sources, strict=True):
        models[letter] = from_pretrained(src, expected_class="GlyphVAE")
        training = read_metadata_of(src).get("training")
        # the few-crop VAE: the same recipe, trained for --low-data-steps steps
        configs[letter] = TrainConfig.from_dict(training) if training else TrainConfig()
    start = time.perf_counter()
    result = evaluate_downstream(
        models,
        args.data,
        seeds=args.seeds,
        n_synthetic=args.n_synthetic,
        low_data=args.low_data or None,
        classifier_epochs=args.classifier_epochs,
        train_configs=configs,
        settings=args.settings,
        low_data_steps=args.low_data_steps,
        pretrained=(
            from_pretrained(args.pretrained, expected_class="GlyphVAE") if args.pretrained else None
        ),
        pretrain_steps=args.pretrain_steps or None,
        low_data_temperature=args.low_data_temperature,
        arms=args.arms,
        screen_pool=args.screen_pool,
        tuning=args.tuning,
        progress=lambda msg: print(f"[{time.perf_counter() - start:6.0f} s] {msg}", flush=True),
    )
    print()
    print(format_downstream(result))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
