"""Reading glyph crops: decoding with correct colours, square-padding, splits, tf.data."""

from glyphvae.data.dataset import (
    BadImageWarning,
    CropRecord,
    GlyphSet,
    LoadReport,
    find_crops,
    load_crops,
    load_glyphs,
)
from glyphvae.data.io import IMAGE_EXTENSIONS, UnreadableImageError, read_image, write_image
from glyphvae.data.pipeline import AugmentConfig, make_dataset
from glyphvae.data.preprocess import border_color, pad_to_square, prepare_crop
from glyphvae.data.split import split_indices

__all__ = [
    "IMAGE_EXTENSIONS",
    "AugmentConfig",
    "BadImageWarning",
    "CropRecord",
    "GlyphSet",
    "LoadReport",
    "UnreadableImageError",
    "border_color",
    "find_crops",
    "load_crops",
    "load_glyphs",
    "make_dataset",
    "pad_to_square",
    "prepare_crop",
    "read_image",
    "split_indices",
    "write_image",
]
