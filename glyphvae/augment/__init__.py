"""Injecting synthetic glyphs into OCR training data (albumentations and tf.data adapters).

* :mod:`~glyphvae.augment.functional`: pure numpy pasting (mattes, plans, compositing);
* :mod:`~glyphvae.augment.boxes`: box formats and IoU;
* :mod:`~glyphvae.augment.glyph_synthesizer`: the albumentations transform;
* :mod:`~glyphvae.augment.tf_data`: the tf.data adapter.
"""

from glyphvae.augment.glyph_synthesizer import GlyphSynthesizer

__all__ = ["GlyphSynthesizer"]
