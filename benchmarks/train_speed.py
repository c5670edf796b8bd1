"""glyphvae's default training against the old fully-connected student VAE, on real crops.

Usage:
    python benchmarks/train_speed.py --data ../shared/data/hellchar [--classifier DIR]
        [--letter epsilon] [--epochs N] [--time-budget SECONDS] [--old-epochs N]

Both run in this one process, on the same crops of one letter (the crops glyphvae keeps,
split by papyrus exactly as ``glyphvae fit`` splits them) and on the same machine:

* **glyphvae**: :func:`glyphvae.fit_letter` with the default :class:`~glyphvae.TrainConfig`
  (crops padded to a square with their paper colour, 64 px), stopped early only by
  ``--epochs`` or ``--time-budget``.
* **old**: a faithful re-implementation of the old student approach, in the style of the
  TensorFlow/Keras VAE tutorials: crops *stretched* to 64 × 64 (``cv2.resize``, no padding),
  flattened to 12288 values, a fully-connected VAE (Dense 512-256, latent 100, sigmoid
  output), loss = binary cross-entropy × 12288 + KL (summed over pixels and latent
  dimensions, averaged over the batch), Adam (learning rate 1e-3), batch 65, a
  ``GradientTape`` train step.

Measured the same way for both:

* **Training time** is the time spent in training steps, summed over epochs (the first
  epoch includes tracing); validation, checkpoints and this script's own measurements are
  excluded. Images/s and s/epoch use the median epoch (steady state).
* **Validation reconstruction error**: per-pixel MSE (0-1 scale) between the held-out crops
  and the decoded posterior means, after every epoch. The old model sees stretched crops
  and glyphvae padded ones: each is measured against its *own* input representation.
  "Time to the old error" is the training time after which a model first reaches the old
  approach's final validation error.
* **Quality at equal wall time**: glyphvae's weights when its training time first reaches
  the old approach's total (its final model if it finished sooner), against the old final
  model. KID (x 1000) between 500 samples and the held-out crops in the letter classifier's
  feature space, and sharpness = mean Laplacian variance of the samples over that of the
  held-out crops (1 = as sharp as real), again each against its own representation.
* **Peak memory**: peak resident set size of the process during each run, reset before
  each run through ``/proc/self/clear_refs`` (Linux; else the growth of ``ru_maxrss``),
  plus TensorFlow's peak GPU memory when there is a GPU.
* **Generation**: glyphs/s decoding batches of 256 latent codes, against the ceiling set by
  the decoder's multiply-accumulates (convolutions and dense layers) and this machine's
  measured matmul speed (numpy float32 on CPU; TensorFlow on the GPU when there is one).
* **Input pipeline**: the tf.data pipeline alone (shuffle, jitter, batch), to check that it
  never starves training.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import resource
import shutil
import statistics
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import cv2
import keras
import numpy as np
import tensorflow as tf

from glyphvae._distribute import local_copy
from glyphvae.classifier import LetterClassifier, fit_classifier
from glyphvae.data.dataset import load_glyphs
from glyphvae.data.io import read_image
from glyphvae.data.pipeline import make_dataset
from glyphvae.metrics import kernel_inception_distance, laplacian_variance
from glyphvae.training import TrainConfig, fit_letter

SIZE = 64
OLD_LATENT, OLD_BATCH, OLD_LR = 100, 65, 1e-3


# ----------------------------------------------------------------------------- machine
def device_summary() -> str:
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        names = [
            tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus
        ]
        return f"{len(gpus)} GPU ({', '.join(names)})"
    model = platform.processor() or platform.machine()
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        model = next(line.split(":", 1)[1].strip() for line in lines if "model name" in line)
    except (OSError, StopIteration):
        pass
    return f"CPU ({os.cpu_count()} cores, {model})"


def _status_kb(key: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


@dataclass
class Memory:
    peak_mb: float = 0.0
    growth_mb: float = 0.0
    gpu_peak_mb: float | None = None
    method: str = ""


@contextmanager
def peak_memory() -> Any:
    """Peak RSS of this process while the block runs (and TF's peak GPU memory)."""
    rec = Memory()
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        rec.method = "VmHWM after reset"
    except OSError:
        rec.method = "ru_maxrss growth"
    base_rss = (_status_kb("VmRSS") or 0) / 1024
    base_max = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    gpu = bool(tf.config.list_physical_devices("GPU"))
    if gpu:
        tf.config.experimental.reset_memory_stats("GPU:0")
    yield rec
    if rec.method == "VmHWM after reset":
        rec.peak_mb = (_status_kb("VmHWM") or 0) / 1024
        rec.growth_mb = rec.peak_mb - base_rss
    else:
        rec.peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rec.growth_mb = rec.peak_mb - base_max
    if gpu:
        rec.gpu_peak_mb = tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20


def matmul_gflops() -> tuple[float, str]:
    """Best observed float32 matmul speed: numpy on CPU, or TensorFlow on the GPU."""
    if tf.config.list_physical_devices("GPU"):
        n = 8192
        a = tf.random.normal((n, n))
        f = tf.function(lambda x: tf.linalg.matmul(x, x))
        f(a).numpy()
        best = math.inf
        for _ in range(5):
            start = time.perf_counter()
            f(a).numpy()
            best = min(best, time.perf_counter() - start)
        return 2 * n**3 / best / 1e9, "TensorFlow float32 matmul on the GPU"
    n = 1024
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n), np.float32), rng.random((n, n), np.float32)
    a @ b
    best = math.inf
    for _ in range(10):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9, "numpy float32 matmul (1024^2)"


def multiply_accumulates(model: keras.Model) -> int:
    """MACs of one forward pass of a single input: Conv2D and Dense layers only."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            _, h, w, c_out = layer.output.shape
            kh, kw = layer.kernel_size
            total += h * w * kh * kw * int(layer.input.shape[-1]) * c_out // layer.groups
        elif isinstance(layer, keras.layers.Dense):
            total += math.prod(layer.input.shape[1:]) * layer.units
    return int(total)


def decode_rate(decode: Any, latent_dim: int, seconds: float = 3.0) -> float:
    """Glyphs per second decoding batches of 256 codes (after a warm-up batch)."""
    z = np.random.default_rng(0).standard_normal((256 * 4, latent_dim)).astype("float32")
    decode(z[:256])
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        decode(z)
        done += len(z)
    return done / (time.perf_counter() - start)


# ----------------------------------------------------------------------------- timing
class EpochClock(keras.callbacks.Callback):
    """Training-step time per epoch, then a measurement after each epoch (not timed).

    Args:
        measure: ``f(model) -> float`` called after each epoch (validation error).
        snapshot_at: Keep a copy of the weights when training time first reaches this.
        budget: Stop training once training time reaches this many seconds.
    """

    def __init__(
        self, measure: Any, snapshot_at: float = math.inf, budget: float = math.inf
    ) -> None:
        super().__init__()
        self.measure, self.snapshot_at, self.budget = measure, snapshot_at, budget
        self.epoch_seconds: list[float] = []
        self.curve: list[tuple[float, float]] = []  # (training seconds so far, val error)
        self.snapshot: list[np.ndarray] | None = None
        self.snapshot_time = 0.0
        self._start = self._stop = 0.0

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self._start, self._stop = time.perf_counter(), 0.0

    def on_test_begin(self, logs: Any = None) -> None:
        self._stop = self._stop or time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        self.epoch_seconds.append((self._stop or time.perf_counter()) - self._start)
        elapsed = sum(self.epoch_seconds)
        self.curve.append((elapsed, float(self.measure(self.model))))
        if self.snapshot is None and elapsed >= self.snapshot_at:
            self.snapshot, self.snapshot_time = self.model.get_weights(), elapsed
        if elapsed >= self.budget:
            self.model.stop_training = True


@dataclass
class Run:
    name: str
    n_train: int
    clock: EpochClock
    wall: float
    memory: Memory
    samples_equal: np.ndarray | None = None
    samples_final: np.ndarray | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def train_time(self) -> float:
        return sum(self.clock.epoch_seconds)

    @property
    def epoch_time(self) -> float:
        return statistics.median(self.clock.epoch_seconds)

    def time_to(self, target: float) -> float | None:
        return next((t for t, err in self.clock.curve if err <= target), None)

    def error_at(self, seconds: float) -> float:
        done = [err for t, err in self.clock.curve if t <= seconds + 1e-9]
        return done[-1] if done else self.clock.curve[0][1]


# ----------------------------------------------------------------------------- old approach
def stretched(paths: list[str]) -> np.ndarray:
    """The old preprocessing: each crop stretched to 64 x 64, float32 in [0, 1]."""
    return np.stack([cv2.resize(read_image(p), (SIZE, SIZE)) for p in paths]).astype("float32")


class OldVAE(keras.Model):
    """The old student's fully-connected VAE (Keras VAE tutorial style)."""

    def __init__(self) -> None:
        super().__init__()
        dims = SIZE * SIZE * 3
        self.encoder = keras.Sequential(
            [
                keras.Input((SIZE, SIZE, 3)),
                keras.layers.Flatten(),
                keras.layers.Dense(512, activation="relu"),
                keras.layers.Dense(256, activation="relu"),
                keras.layers.Dense(2 * OLD_LATENT),
            ]
        )
        self.decoder = keras.Sequential(
            [
                keras.Input((OLD_LATENT,)),
                keras.layers.Dense(256, activation="relu"),
                keras.layers.Dense(512, activation="relu"),
                keras.layers.Dense(dims, activation="sigmoid"),
                keras.layers.Reshape((SIZE, SIZE, 3)),
            ]
        )
        self.loss_tracker = keras.metrics.Mean(name="loss")

    @property
    def metrics(self) -> list[Any]:
        return [self.loss_tracker]

    def encode(self, x: Any) -> tuple[Any, Any]:
        mean, log_var = tf.split(self.encoder(x), 2, axis=1)
        return mean, log_var

    def train_step(self, data: Any) -> dict[str, Any]:
        x = data
        with tf.GradientTape() as tape:
            mean, log_var = self.encode(x)
            z = mean + tf.exp(0.5 * log_var) * tf.random.normal(tf.shape(mean))
            recon = self.decoder(z)
            bce = keras.losses.binary_crossentropy(
                tf.reshape(x, (-1, SIZE * SIZE * 3)), tf.reshape(recon, (-1, SIZE * SIZE * 3))
            )
            reconstruction = tf.reduce_mean(bce * SIZE * SIZE * 3)
            kl = -0.5 * tf.reduce_sum(1 + log_var - tf.square(mean) - tf.exp(log_var), axis=1)
            loss = reconstruction + tf.reduce_mean(kl)
        grads = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights, strict=True))
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}

    def reconstruct(self, x: np.ndarray) -> np.ndarray:
        mean, _ = self.encode(tf.constant(x))
        return self.decoder.predict(mean.numpy(), batch_size=256, verbose=0)


def train_old(train_x: np.ndarray, val_x: np.ndarray, epochs: int) -> tuple[Run, OldVAE]:
    keras.utils.set_random_seed(0)

    def val_error(model: Any) -> float:
        return float(np.mean((model.reconstruct(val_x) - val_x) ** 2))

    clock = EpochClock(val_error)
    with peak_memory() as memory:
        start = time.perf_counter()
        model = OldVAE()
        model.compile(optimizer=keras.optimizers.Adam(OLD_LR))
        model.fit(
            train_x, batch_size=OLD_BATCH, epochs=epochs, shuffle=True, callbacks=[clock], verbose=0
        )
        wall = time.perf_counter() - start
    return Run("old FC VAE (stretched)", len(train_x), clock, wall, memory), model


# ----------------------------------------------------------------------------- glyphvae
def train_glyphvae(
    args: argparse.Namespace, val_images: np.ndarray, snapshot_at: float
) -> tuple[Run, Any]:
    val_x = val_images.astype("float32") / 255.0

    def val_error(model: Any) -> float:
        return float(np.mean((model.reconstruct(val_images) - val_x) ** 2))

    clock = EpochClock(val_error, snapshot_at=snapshot_at, budget=args.time_budget)
    out = Path(tempfile.mkdtemp(prefix="train-speed-"))
    try:
        with peak_memory() as memory:
            start = time.perf_counter()
            result = fit_letter(
                args.letter,
                data=args.data,
                out=out,
                epochs=args.epochs,
                callbacks=[clock],
                verbose=0,
            )
            wall = time.perf_counter() - start
    finally:
        shutil.rmtree(out, ignore_errors=True)
    run = Run("glyphvae default (padded)", args.n_train, clock, wall, memory)
    run.extra["epochs"] = result.epochs
    return run, result.model


def glyphvae_at(model: Any, weights: list[np.ndarray] | None, train_images: np.ndarray) -> Any:
    """The model with a training snapshot's weights (and its prior refitted), or the model."""
    if weights is None:
        return model
    twin = local_copy(model)
    twin.set_weights(weights)
    if twin.prior_components:
        twin.fit_prior(train_images, seed=0)
    return twin


# ----------------------------------------------------------------------------- report
def kid_and_sharpness(
    clf: LetterClassifier, samples: np.ndarray, real: np.ndarray
) -> tuple[str, float]:
    kid, std = kernel_inception_distance(
        clf.embed(real), clf.embed(samples), subset_size=min(len(real), len(samples))
    )
    sharp = float(laplacian_variance(samples).mean() / laplacian_variance(real).mean())
    return f"{kid * 1000:.1f} ± {std * 1000:.1f}", sharp


def fmt_time(t: float | None) -> str:
    return "not reached" if t is None else f"{t:.1f} s"


def _x(new: float, old: float) -> str:
    return f"{new / old:.2f}×" if old else "–"


def _table(rows: list[tuple[str, str, str, str]]) -> None:
    print("| | old FC VAE (stretched) | glyphvae default (padded) | glyphvae / old |")
    print("|---|---:|---:|---:|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def _as_uint8(x: np.ndarray) -> np.ndarray:
    return (x * 255 + 0.5).astype(np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/hellchar"))
    parser.add_argument("--letter", default="epsilon")
    parser.add_argument("--classifier", type=Path, help="a trained LetterClassifier folder")
    parser.add_argument("--classifier-epochs", type=int, default=6, help="else train one")
    parser.add_argument("--epochs", type=int, default=TrainConfig().epochs, help="glyphvae")
    parser.add_argument("--time-budget", type=float, default=360.0, help="glyphvae, seconds")
    parser.add_argument("--old-epochs", type=int, default=100)
    parser.add_argument("--samples", type=int, default=500)
    args = parser.parse_args()
    cfg = TrainConfig()

    print(f"device: {device_summary()}; tensorflow {tf.__version__}, keras {keras.__version__}")
    glyphs = load_glyphs(
        args.data, args.letter, image_size=cfg.image_size, min_side=cfg.min_side, progress=False
    )
    train, val = glyphs.split(cfg.val_fraction, seed=cfg.seed)
    args.n_train = len(train)
    old_train, old_val = stretched(train.paths), stretched(val.paths)
    print(
        f"data: {args.letter} from {args.data}: {len(train)} training / {len(val)} held-out "
        f"crops ({len(set(val.groups))} held-out papyri), the same crops for both"
    )
    if args.classifier is not None:
        clf = LetterClassifier.from_pretrained(args.classifier)
        print(f"classifier: {args.classifier}")
    else:
        start = time.perf_counter()
        clf, rep = fit_classifier(
            args.data, None, epochs=args.classifier_epochs, seed=cfg.seed, verbose=0
        )
        print(
            f"classifier: trained ({args.classifier_epochs} epochs, "
            f"{time.perf_counter() - start:.0f} s), held-out accuracy {rep['heldout_accuracy']:.1%}"
        )

    # the input pipeline alone, at glyphvae's batch size and jitter
    ds = make_dataset(
        train.images, batch_size=cfg.batch_size, training=True, seed=0, augment=cfg.augment
    )
    for _ in ds:  # warm-up: fills the cache
        pass
    start, seen = time.perf_counter(), 0
    while time.perf_counter() - start < 3.0:
        seen += sum(int(batch.shape[0]) for batch in ds)
    pipeline_ips = seen / (time.perf_counter() - start)

    old, old_model = train_old(old_train, old_val, args.old_epochs)
    target = old.clock.curve[-1][1]
    new, new_model = train_glyphvae(args, val.images, snapshot_at=old.train_time)
    # glyphvae's weights at its first epoch end at or after the old total (or its last)
    equal = new.clock.snapshot_time if new.clock.snapshot is not None else new.train_time

    z_old = np.random.default_rng(0).standard_normal((args.samples, OLD_LATENT))
    old_samples = old_model.decoder.predict(z_old.astype("float32"), batch_size=256, verbose=0)
    new_equal = glyphvae_at(new_model, new.clock.snapshot, train.images)
    q_old = kid_and_sharpness(clf, old_samples, _as_uint8(old_val))
    q_equal = kid_and_sharpness(clf, new_equal.generate(args.samples, seed=0), val.images)
    q_final = kid_and_sharpness(clf, new_model.generate(args.samples, seed=0), val.images)
    floors = [
        kernel_inception_distance(clf.embed(a), clf.embed(b), subset_size=len(val))[0] * 1000
        for a, b in ((_as_uint8(old_train), _as_uint8(old_val)), (train.images, val.images))
    ]

    gflops, how = matmul_gflops()
    gen = {}
    for name, decoder, latent in (
        ("old", old_model.decoder, OLD_LATENT),
        ("new", new_model.decoder, new_model.latent_dim),
    ):
        macs = multiply_accumulates(decoder)
        rate = decode_rate(lambda z, d=decoder: d.predict(z, batch_size=256, verbose=0), latent)
        gen[name] = (macs, rate, gflops * 1e9 / (2 * macs))

    print(
        f"\nold approach: {args.old_epochs} epochs; glyphvae: {new.extra['epochs']} epochs "
        f"(--epochs {args.epochs}, --time-budget {args.time_budget:.0f} s)"
    )
    print(
        f"target: the old final held-out MSE {target:.5f}; equal wall time: the old approach's "
        f"{old.train_time:.1f} s of training against glyphvae's weights after {equal:.1f} s"
        + ("" if new.clock.snapshot is not None else " (all of it: it finished sooner)")
        + "\n"
    )
    ips_old, ips_new = old.n_train / old.epoch_time, new.n_train / new.epoch_time
    t_old, t_new = old.time_to(target), new.time_to(target)
    mem_old, mem_new = old.memory, new.memory
    rows = [
        ("training images/s", f"{ips_old:.0f}", f"{ips_new:.0f}", _x(ips_new, ips_old)),
        (
            "seconds per epoch",
            f"{old.epoch_time:.2f}",
            f"{new.epoch_time:.2f}",
            _x(new.epoch_time, old.epoch_time),
        ),
        (
            "training time, whole run",
            f"{old.train_time:.1f} s",
            f"{new.train_time:.1f} s",
            _x(new.train_time, old.train_time),
        ),
        ("wall time, whole run", f"{old.wall:.1f} s", f"{new.wall:.1f} s", _x(new.wall, old.wall)),
        (
            "final held-out MSE, own representation",
            f"{target:.5f}",
            f"{new.clock.curve[-1][1]:.5f}",
            _x(new.clock.curve[-1][1], target),
        ),
        (
            "training time to the old final MSE",
            fmt_time(t_old),
            fmt_time(t_new),
            _x(t_new, t_old) if t_old and t_new else "–",
        ),
        (
            "held-out MSE at equal time",
            f"{target:.5f}",
            f"{new.error_at(equal):.5f}",
            _x(new.error_at(equal), target),
        ),
        (
            f"KID ×1000 at equal time (real vs real: {floors[0]:.1f} / {floors[1]:.1f})",
            q_old[0],
            q_equal[0],
            "lower is better",
        ),
        (
            "sharpness at equal time (real = 1)",
            f"{q_old[1]:.4f}",
            f"{q_equal[1]:.4f}",
            _x(q_equal[1], q_old[1]),
        ),
        (
            f"KID ×1000 / sharpness, glyphvae at the end ({new.train_time:.0f} s)",
            "",
            f"{q_final[0]} / {q_final[1]:.4f}",
            "",
        ),
        (
            f"peak RSS (growth), {mem_old.method}",
            f"{mem_old.peak_mb:.0f} MB (+{mem_old.growth_mb:.0f})",
            f"{mem_new.peak_mb:.0f} MB (+{mem_new.growth_mb:.0f})",
            _x(mem_new.growth_mb, max(mem_old.growth_mb, 1.0)) + " growth",
        ),
    ]
    if mem_old.gpu_peak_mb is not None and mem_new.gpu_peak_mb is not None:
        rows.append(
            (
                "peak GPU memory (TensorFlow)",
                f"{mem_old.gpu_peak_mb:.0f} MB",
                f"{mem_new.gpu_peak_mb:.0f} MB",
                _x(mem_new.gpu_peak_mb, mem_old.gpu_peak_mb),
            )
        )
    (macs_old, gen_old, cap_old), (macs_new, gen_new, cap_new) = gen["old"], gen["new"]
    rows += [
        (
            "decoder MACs per glyph",
            f"{macs_old / 1e6:.1f} M",
            f"{macs_new / 1e6:.1f} M",
            _x(macs_new, macs_old),
        ),
        (
            "generation glyphs/s, batch 256",
            f"{gen_old:.0f}",
            f"{gen_new:.0f}",
            _x(gen_new, gen_old),
        ),
        (
            f"… share of the MAC ceiling ({gflops:.0f} GFLOP/s, {how})",
            f"{gen_old / cap_old:.1%} of {cap_old:.0f}/s",
            f"{gen_new / cap_new:.1%} of {cap_new:.0f}/s",
            "",
        ),
    ]
    _table(rows)
    verdict = "never starves it" if pipeline_ips > 3 * ips_new else "MAY STARVE it"
    print(
        f"\ninput pipeline alone: {pipeline_ips:.0f} images/s, "
        f"{pipeline_ips / ips_new:.0f}× glyphvae's training rate: {verdict}"
    )


if __name__ == "__main__":
    main()
