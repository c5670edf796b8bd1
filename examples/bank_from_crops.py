"""Build a glyph bank from real crops, save it, load it, and look at its ink mattes.

A :class:`~glyphvae.bank.GlyphBank` is what the augmentation transforms draw glyphs from.
Built from a VAE (``GlyphBank.from_models``) it holds new glyphs; built from crops
(``GlyphBank.from_crops``) it holds real ones, for copy-paste augmentation through the same
API, with no TensorFlow at all. Each glyph gets an ink matte (which pixels are ink), used to
paste the ink without the papyrus around it.

Real setting: the three rarest letters of ``$GLYPHVAE_DATA`` (psi, xi, zeta), 64 px. With
``GLYPHVAE_EXAMPLE_SMALL=1``: generated look-alike crops. Writes ``runs/examples/rare.npz``
and ``runs/examples/rare_glyphs_and_mattes.png``.
"""

import os

import numpy as np
from example_data import OUT, SMALL, make_crop_tree

from glyphvae.bank import GlyphBank
from glyphvae.visualize import save_grid

if SMALL:
    data, letters, size = make_crop_tree(OUT / "tiny-crops"), ["epsilon", "alpha"], 32
else:
    data, letters, size = os.environ["GLYPHVAE_DATA"], ["psi", "xi", "zeta"], 64

bank = GlyphBank.from_crops(data, letters, image_size=size, n_per_letter=64, seed=0)
print(bank)  # GlyphBank(n glyphs of s px; letter: count, ...)

path = bank.save(OUT / "rare.npz")  # compressed .npz: images, letters, mattes, metadata
loaded = GlyphBank.load(path)  # never unpickles
assert loaded.counts() == bank.counts()
print(f"saved and reloaded {path} ({path.stat().st_size / 1e6:.1f} MB): {loaded.counts()}")

# Top row: glyphs; bottom row: their ink mattes (white = ink).
n = 12
mattes = np.repeat(loaded.mattes[:n, :, :, None], 3, axis=3)
grid = save_grid(
    OUT / "rare_glyphs_and_mattes.png", np.concatenate([loaded.images[:n], mattes]), cols=n
)
print(f"glyphs and mattes: {grid}")
