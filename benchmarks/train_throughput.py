"""Training and generation throughput of the default GlyphVAE on this machine.

Usage:
    python benchmarks/train_throughput.py [--sizes 64 128] [--steps 20] [--batch-size 32]

Trains the default model (``TrainConfig`` defaults: architecture, patch-adversarial term)
on random crops through the real tf.data pipeline (jitter on), then the same with the
training step compiled by XLA, and without the adversarial term; and decodes batches of 256
latent codes. Prints a table. The content of the crops does not change the cost, so no
dataset is needed. Each variant runs in a fresh process: measured in one process, a model
trained after another one ran up to 1.8x slower (the first model's XLA clusters, thread pools
and caches stay), which made the variants incomparable.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf

from glyphvae.data.pipeline import make_dataset
from glyphvae.models import GlyphVAE
from glyphvae.training import TrainConfig


def train_rate(
    size: int, steps: int, batch_size: int, adversarial: bool = True, jit: bool = False
) -> tuple[float, Any]:
    """Training images/s of the default model (after compiling and warming up)."""
    cfg = TrainConfig(image_size=size)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (batch_size * 8, size, size, 3), dtype=np.uint8)
    model = GlyphVAE(
        size,
        cfg.latent_dim,
        mean_color=[0.6, 0.5, 0.4],
        prior_components=cfg.prior_components,
        adversarial_weight=cfg.adversarial_weight if adversarial else 0.0,
        seed=0,
    )
    model.compile(keras.optimizers.Adam(cfg.learning_rate, global_clipnorm=1.0), jit_compile=jit)
    ds = make_dataset(images, batch_size=batch_size, training=True, seed=0, repeat=True)
    model.fit(ds, epochs=1, steps_per_epoch=3, verbose=0)  # compile + warm up
    start = time.perf_counter()
    model.fit(ds, epochs=1, steps_per_epoch=steps, verbose=0)
    return steps * batch_size / (time.perf_counter() - start), model


def generation_rate(model: Any, gen_batches: int) -> float:
    """Glyphs/s decoding batches of 256 latent codes (after a warm-up batch)."""
    z = np.random.default_rng(0).standard_normal((256 * gen_batches, model.latent_dim))
    z = z.astype("float32")
    model.decode(z[:256])
    start = time.perf_counter()
    model.decode(z, batch_size=256)
    return len(z) / (time.perf_counter() - start)


def one(size: int, variant: str, steps: int, batch_size: int, gen_batches: int) -> dict:
    """One measurement (run in its own process by :func:`main`)."""
    rate, model = train_rate(
        size, steps, batch_size, adversarial=variant != "plain", jit=variant == "xla"
    )
    out = {"train": rate, "params": model.count_params()}
    if variant == "default":
        out["generate"] = generation_rate(model, gen_batches)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=TrainConfig().batch_size)
    parser.add_argument("--gen-batches", type=int, default=8)
    parser.add_argument("--one", nargs=2, metavar=("SIZE", "VARIANT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:  # a child process: one measurement, as JSON on the last line
        size, variant = int(args.one[0]), args.one[1]
        print(json.dumps(one(size, variant, args.steps, args.batch_size, args.gen_batches)))
        return

    gpus = tf.config.list_physical_devices("GPU")
    device = f"{len(gpus)} GPU" if gpus else f"CPU ({os.cpu_count()} cores, {platform.machine()})"
    print(f"device: {device}; tensorflow {tf.__version__}, keras {keras.__version__}")
    print(f"training: batch {args.batch_size}, {args.steps} steps; generation: batch 256")
    print()
    print(
        "| image size | parameters | training img/s (default) | with XLA | "
        "without the adversarial term | generation img/s |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    common = ["--steps", str(args.steps), "--batch-size", str(args.batch_size)]
    common += ["--gen-batches", str(args.gen_batches)]
    for size in args.sizes:
        r = {}
        for variant in ("default", "xla", "plain"):
            done = subprocess.run(
                [sys.executable, __file__, "--one", str(size), variant, *common],
                capture_output=True,
                text=True,
                check=True,
            )
            r[variant] = json.loads(done.stdout.strip().splitlines()[-1])
        base = r["default"]["train"]
        print(
            f"| {size} | {r['default']['params']:,} | {base:.0f} | {r['xla']['train']:.0f} "
            f"({r['xla']['train'] / base:.2f}×) | {r['plain']['train']:.0f} "
            f"({r['plain']['train'] / base:.2f}×) | {r['default']['generate']:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
