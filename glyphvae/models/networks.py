"""The networks inside :class:`~glyphvae.models.GlyphVAE`: encoder, decoder, discriminator.

Functional Keras models built from hyperparameters only, with standard layers (no Lambda, no
custom layers), so they serialise as plain weights.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
from keras import layers

__all__ = ["build_decoder", "build_discriminator", "build_encoder"]


def _norm(channels: int, name: str) -> layers.Layer:
    return layers.GroupNormalization(groups=math.gcd(8, channels), epsilon=1e-5, name=name)


def _res_block(h: Any, channels: int, name: str) -> Any:
    """Pre-activation residual block; the second convolution starts at zero (identity block)."""
    skip = h
    if h.shape[-1] != channels:
        skip = layers.Conv2D(channels, 1, name=f"{name}_skip")(h)
    y = layers.Activation("silu", name=f"{name}_act1")(_norm(int(h.shape[-1]), f"{name}_norm1")(h))
    y = layers.Conv2D(channels, 3, padding="same", name=f"{name}_conv1")(y)
    y = layers.Activation("silu", name=f"{name}_act2")(_norm(channels, f"{name}_norm2")(y))
    y = layers.Conv2D(
        channels, 3, padding="same", kernel_initializer="zeros", name=f"{name}_conv2"
    )(y)
    return layers.Add(name=f"{name}_add")([skip, y])


def build_encoder(
    image_size: int, latent_dim: int, channels: Sequence[int], res_blocks: Sequence[int]
) -> keras.Model:
    """Stem at full size, then per level: a strided 4x4 convolution and residual blocks."""
    x_in = keras.Input((image_size, image_size, 3), name="image")
    h = layers.Rescaling(2.0, offset=-1.0, name="to_signed")(x_in)
    h = layers.Conv2D(channels[0], 3, padding="same", name="stem")(h)
    for k, (c, n_res) in enumerate(zip(channels, res_blocks, strict=True)):
        if k > 0:
            h = layers.Activation("silu", name=f"down{k}_act")(
                _norm(int(h.shape[-1]), f"down{k}_norm")(h)
            )
        h = layers.Conv2D(c, 4, strides=2, padding="same", name=f"down{k}_conv")(h)
        for j in range(n_res):
            h = _res_block(h, c, name=f"down{k}_res{j}")
    h = layers.Activation("silu", name="head_act")(_norm(channels[-1], "head_norm")(h))
    h = layers.Flatten(name="flatten")(h)
    z_mean = layers.Dense(latent_dim, name="z_mean")(h)
    z_log_var = layers.Dense(latent_dim, kernel_initializer="zeros", name="z_log_var")(h)
    return keras.Model(x_in, [z_mean, z_log_var], name="encoder")


def build_decoder(
    image_size: int,
    latent_dim: int,
    channels: Sequence[int],
    res_blocks: Sequence[int],
    mean_color: Sequence[float] | None,
) -> keras.Model:
    """The encoder mirrored: per level residual blocks, nearest upsampling, 3x3 convolution."""
    s0 = image_size // 2 ** len(channels)
    z_in = keras.Input((latent_dim,), name="z")
    h = layers.Dense(s0 * s0 * channels[-1], name="project")(z_in)
    h = layers.Reshape((s0, s0, channels[-1]), name="unflatten")(h)
    for k in reversed(range(len(channels))):
        for j in range(res_blocks[k]):
            h = _res_block(h, channels[k], name=f"up{k}_res{j}")
        h = layers.Activation("silu", name=f"up{k}_act")(_norm(int(h.shape[-1]), f"up{k}_norm")(h))
        h = layers.UpSampling2D(2, interpolation="nearest", name=f"up{k}_resize")(h)
        h = layers.Conv2D(channels[max(k - 1, 0)], 3, padding="same", name=f"up{k}_conv")(h)
    h = layers.Activation("silu", name="out_act")(_norm(channels[0], "out_norm")(h))
    color = np.clip(np.asarray(mean_color if mean_color is not None else [0.5] * 3), 0.02, 0.98)
    bias = np.log(color / (1.0 - color)).astype("float32").tolist()
    logits = layers.Conv2D(
        3,
        3,
        padding="same",
        bias_initializer=keras.initializers.Constant(bias),
        dtype="float32",
        name="to_rgb",
    )(h)
    out = layers.Activation("sigmoid", dtype="float32", name="rgb")(logits)
    return keras.Model(z_in, out, name="decoder")


DISCRIMINATOR_OUTPUT_SCALE = 0.02


def build_discriminator(image_size: int, channels: Sequence[int] = (32, 64, 128)) -> keras.Model:
    """A PatchGAN critic: one real/fake logit per overlapping patch (~1/2 of the glyph wide).

    Strided 4x4 convolutions with leaky ReLU and group normalisation, then a 3x3
    convolution to one logit per position, in float32, scaled by
    :data:`DISCRIMINATOR_OUTPUT_SCALE`. The critic shares the VAE's Adam optimizer, whose
    steps do not depend on the loss scale; the output scale is what slows the critic down
    (at the VAE's learning rate an unscaled critic oscillated and never separated real
    from reconstructed crops).
    """
    x_in = keras.Input((image_size, image_size, 3), name="image")
    h = layers.Rescaling(2.0, offset=-1.0, name="to_signed")(x_in)
    for k, c in enumerate(channels):
        h = layers.Conv2D(c, 4, strides=2, padding="same", name=f"d{k}_conv")(h)
        if k > 0:
            h = _norm(c, f"d{k}_norm")(h)
        h = layers.LeakyReLU(0.2, name=f"d{k}_act")(h)
    logits = layers.Conv2D(1, 3, padding="same", dtype="float32", name="patch_logits")(h)
    logits = layers.Rescaling(DISCRIMINATOR_OUTPUT_SCALE, dtype="float32", name="logit_scale")(
        logits
    )
    return keras.Model(x_in, logits, name="discriminator")
