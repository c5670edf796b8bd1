"""Training and generation throughput of the default GlyphVAE on this machine.

Usage:
    python benchmarks/train_throughput.py [--sizes 64 128] [--steps 20] [--batch-size 32]

Trains the default architecture (``TrainConfig`` defaults) on random crops through the real
tf.data pipeline (jitter on), and decodes batches of 256 latent codes. Prints a table.
The content of the crops does not change the cost, so no dataset is needed.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf

from glyphvae.data.pipeline import make_dataset
from glyphvae.models import GlyphVAE
from glyphvae.training import TrainConfig


def measure(size: int, steps: int, batch_size: int, gen_batches: int) -> dict[str, float]:
    cfg = TrainConfig(image_size=size)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (batch_size * 8, size, size, 3), dtype=np.uint8)
    model = GlyphVAE(size, cfg.latent_dim, mean_color=[0.6, 0.5, 0.4], seed=0)
    model.compile(keras.optimizers.Adam(cfg.learning_rate, global_clipnorm=1.0))
    ds = make_dataset(images, batch_size=batch_size, training=True, seed=0, repeat=True)
    model.fit(ds, epochs=1, steps_per_epoch=3, verbose=0)  # compile + warm up
    start = time.perf_counter()
    model.fit(ds, epochs=1, steps_per_epoch=steps, verbose=0)
    train_ips = steps * batch_size / (time.perf_counter() - start)

    z = rng.standard_normal((256 * gen_batches, cfg.latent_dim)).astype("float32")
    model.decode(z[:256])  # warm up
    start = time.perf_counter()
    model.decode(z, batch_size=256)
    gen_ips = len(z) / (time.perf_counter() - start)
    return {"params": model.count_params(), "train": train_ips, "generate": gen_ips}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=TrainConfig().batch_size)
    parser.add_argument("--gen-batches", type=int, default=8)
    args = parser.parse_args()

    gpus = tf.config.list_physical_devices("GPU")
    device = f"{len(gpus)} GPU" if gpus else f"CPU ({os.cpu_count()} cores, {platform.machine()})"
    print(f"device: {device}; tensorflow {tf.__version__}, keras {keras.__version__}")
    print(f"training: batch {args.batch_size}, {args.steps} steps; generation: batch 256")
    print()
    print("| image size | parameters | training img/s | generation img/s |")
    print("|---:|---:|---:|---:|")
    for size in args.sizes:
        r = measure(size, args.steps, args.batch_size, args.gen_batches)
        print(f"| {size} | {r['params']:,} | {r['train']:.0f} | {r['generate']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
