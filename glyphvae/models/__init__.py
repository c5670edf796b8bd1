"""Models: :class:`GlyphVAE` and its loss terms."""

from glyphvae.models.glyph_vae import GlyphVAE

__all__ = ["GlyphVAE"]
