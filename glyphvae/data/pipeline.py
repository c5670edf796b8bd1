"""The ``tf.data`` input pipeline: cached ``uint8`` crops, shuffled, jittered, batched, prefetched.

Crops are decoded once (by :mod:`glyphvae.data.dataset`) and kept as ``uint8``; the pipeline
only converts to ``float32`` and applies a light random affine jitter (rotation, shift,
scale, shear) to whole batches at once, so two CPU cores keep up with a GPU. The jitter
fills uncovered corners by reflection, so it adds no frame and no colour.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import tensorflow as tf

__all__ = ["AugmentConfig", "make_dataset"]


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges of the random affine jitter applied to training batches.

    Attributes:
        rotation: Maximum rotation in degrees (uniform in ``[-rotation, rotation]``).
        shift: Maximum shift as a fraction of the image side.
        scale: Maximum relative zoom, e.g. ``0.05`` for 0.95x to 1.05x.
        shear: Maximum horizontal shear (tangent of the angle); letters written in a hurry lean.
    """

    rotation: float = 4.0
    shift: float = 0.04
    scale: float = 0.06
    shear: float = 0.08

    @classmethod
    def none(cls) -> AugmentConfig:
        """No jitter at all."""
        return cls(rotation=0.0, shift=0.0, scale=0.0, shear=0.0)

    @property
    def enabled(self) -> bool:
        """Whether any jitter range is non-zero."""
        return any(v > 0 for v in (self.rotation, self.shift, self.scale, self.shear))

    def to_dict(self) -> dict[str, float]:
        """The ranges as a JSON-ready dict."""
        return asdict(self)


def _affine_matrices(seed: tf.Tensor, batch: tf.Tensor, size: int, cfg: AugmentConfig) -> tf.Tensor:
    """Per-image 8-parameter projective transforms (output -> input) about the centre."""
    import tensorflow as tf

    u = tf.random.stateless_uniform([batch, 5], seed=seed, minval=-1.0, maxval=1.0)
    angle = u[:, 0] * (cfg.rotation * math.pi / 180.0)
    zoom = 1.0 + u[:, 1] * cfg.scale
    shear = u[:, 2] * cfg.shear
    tx = u[:, 3] * cfg.shift * size
    ty = u[:, 4] * cfg.shift * size
    cos, sin = tf.cos(angle) / zoom, tf.sin(angle) / zoom
    # inverse map: input = A @ (output - c) + c - t, with A = R(angle)/zoom @ Shear
    a0, a1 = cos, cos * shear - sin
    b0, b1 = sin, sin * shear + cos
    c = (size - 1) / 2.0
    a2 = c - a0 * c - a1 * c - tx
    b2 = c - b0 * c - b1 * c - ty
    zeros = tf.zeros_like(a0)
    return tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)


def jitter_batch(images: tf.Tensor, seed: tf.Tensor, cfg: AugmentConfig) -> tf.Tensor:
    """Apply a random affine jitter to a batch ``(b, s, s, 3)`` of ``float32`` images.

    Deterministic given ``seed`` (a shape-``[2]`` integer tensor).
    """
    import tensorflow as tf

    size = int(images.shape[1])
    batch = tf.shape(images)[0]
    transforms = _affine_matrices(seed, batch, size, cfg)
    out = tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=transforms,
        output_shape=tf.constant([size, size], dtype=tf.int32),
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="REFLECT",
    )
    return tf.ensure_shape(out, images.shape)


def make_dataset(
    images: np.ndarray,
    labels: np.ndarray | None = None,
    batch_size: int = 64,
    training: bool = True,
    seed: int = 0,
    augment: AugmentConfig | None = None,
    repeat: bool = False,
) -> tf.data.Dataset:
    """Build a ``tf.data`` pipeline over in-memory ``uint8`` crops.

    Args:
        images: ``uint8`` array ``(n, s, s, 3)`` (e.g. ``GlyphSet.images``).
        labels: Optional integer labels ``(n,)``; batches are then ``(images, labels)``.
        batch_size: Images per batch.
        training: Shuffle each epoch (seeded) and apply ``augment``. For validation pass
            ``False``: fixed order, no jitter.
        seed: Seed for the shuffle order and the jitter; the same seed gives the same
            stream of batches.
        augment: Jitter ranges; ``None`` uses :class:`AugmentConfig` defaults when
            training. Pass ``AugmentConfig.none()`` to disable.
        repeat: Repeat forever (for step-based training).

    Returns:
        A dataset of ``float32`` batches in ``[0, 1]`` of shape ``(None, s, s, 3)``, or of
        ``(images, labels)`` pairs when ``labels`` is given.

    Raises:
        ValueError: If ``images`` is not a non-empty ``uint8`` array of square RGB images.
    """
    import tensorflow as tf

    arr = np.asarray(images)
    if arr.ndim != 4 or arr.shape[-1] != 3 or arr.shape[1] != arr.shape[2] or len(arr) == 0:
        raise ValueError(
            f"Expected a non-empty array of square RGB images (n, s, s, 3). Received {arr.shape}"
        )
    if arr.dtype != np.uint8:
        raise ValueError(f"Expected uint8 images (as loaded by glyphvae). Received {arr.dtype}")
    if batch_size < 1:
        raise ValueError(f"Expected `batch_size` >= 1. Received: {batch_size}")
    if labels is not None and len(labels) != len(arr):
        raise ValueError(f"Expected one label per image ({len(arr)}). Received {len(labels)}")
    cfg = (augment or AugmentConfig()) if training else AugmentConfig.none()

    items = arr if labels is None else (arr, np.asarray(labels, dtype=np.int32))
    ds = tf.data.Dataset.from_tensor_slices(items).cache()
    if repeat:
        ds = ds.repeat()
    if training:
        ds = ds.shuffle(len(arr), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=False)

    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
    # every element becomes (batch, seeds); batch is x or (x, y)
    ds = tf.data.Dataset.zip(ds, seeds)

    def prepare(batch: Any, seed_pair: tf.Tensor) -> Any:
        x, y = batch if labels is not None else (batch, None)
        x = tf.cast(x, tf.float32) / 255.0
        if cfg.enabled:
            x = jitter_batch(x, seed_pair, cfg)
        return x if y is None else (x, y)

    ds = ds.map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.deterministic = True
    return ds.with_options(options).prefetch(tf.data.AUTOTUNE)
