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

__all__ = ["default_architecture"]

BOTTLENECK_CHANNELS = 128
MIN_CHANNELS = 8
MIN_BOTTLENECK_SIDE = 4


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
