"""Default widths and depths of :class:`~glyphvae.models.GlyphVAE` for each image size.

The cost of a convolution grows with (side² × channels²). The defaults halve the width each
time the side doubles, so every resolution level costs about the same and a 128 px model
trains at about half the speed of a 64 px one instead of a quarter. Levels are added until
the bottleneck is 4 to 7 pixels wide; the bottleneck has 128 channels, residual blocks sit at
the cheap low-resolution levels.

>>> default_architecture(64)
((16, 32, 64, 128), (0, 0, 1, 1))
>>> default_architecture(128)
((8, 16, 32, 64, 128), (0, 0, 1, 1, 1))
"""

from __future__ import annotations

from glyphvae.data.preprocess import validate_image_size

__all__ = ["MAX_PARAMETERS", "approximate_parameters", "default_architecture"]

BOTTLENECK_CHANNELS = 128
MIN_CHANNELS = 8
MIN_BOTTLENECK_SIDE = 4

MAX_PARAMETERS = 200_000_000
"""Largest model (in weights) that a configuration may ask for, about 800 MB of float32.

A shipped letter model has 1.4 M. The bound is checked before any weight is allocated, so a
configuration from an untrusted download cannot make glyphvae allocate gigabytes."""


def default_architecture(image_size: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Return ``(channels, res_blocks)`` for ``image_size`` (a multiple of 16, 32 to 256)."""
    size = validate_image_size(image_size)
    levels = 0
    while size % 2 ** (levels + 1) == 0 and size // 2 ** (levels + 1) >= MIN_BOTTLENECK_SIDE:
        levels += 1
    channels = tuple(
        max(MIN_CHANNELS, BOTTLENECK_CHANNELS >> (levels - 1 - k)) for k in range(levels)
    )
    with_res = 3 if levels >= 5 else 2  # residual blocks on the lowest-resolution levels
    res_blocks = tuple(int(k >= levels - with_res) for k in range(levels))
    return channels, res_blocks


def approximate_parameters(
    image_size: int, latent_dim: int, channels: tuple[int, ...], res_blocks: tuple[int, ...]
) -> int:
    """The weights of the convolutions and dense layers of encoder and decoder, from the
    hyperparameters alone (within a few per cent: normalisation layers and biases are left
    out, and so is the optional critic).

    >>> approximate_parameters(64, 32, (16, 32, 64, 128), (0, 0, 1, 1))
    1203888
    """
    total, previous = 0, 3
    for c, n in zip(channels, res_blocks, strict=True):
        total += 16 * previous * c + 9 * c * previous  # strided down / upsampling convolutions
        total += 2 * n * 2 * 9 * c * c  # residual blocks, encoder and decoder
        previous = c
    side = image_size // 2 ** len(channels)
    return int(total + 3 * latent_dim * side * side * channels[-1])
