"""Train a VAE for one letter, sample new glyphs from it, and load it back.

Real setting: 60 epochs on the epsilon crops in ``$GLYPHVAE_DATA`` (the Hell-Char layout,
``<data>/epsilon/*.jpg``), a few minutes on a CPU. With ``GLYPHVAE_EXAMPLE_SMALL=1``: a tiny
model, two epochs, on a generated dataset. Writes ``runs/examples/epsilon/`` (the model,
its sample grid and loss curve) and ``runs/examples/epsilon_samples.png``.
"""

from pathlib import Path

import numpy as np
from example_data import OUT, SMALL, make_crop_tree

from glyphvae import GlyphVAE, fit_letter
from glyphvae.visualize import save_grid

if SMALL:
    data: Path | None = make_crop_tree(OUT / "tiny-crops", letters=("epsilon",))
    settings = {"image_size": 32, "channels": (8, 16), "latent_dim": 4, "epochs": 2}
else:
    data = None  # $GLYPHVAE_DATA (or the Hell-Char crops in the cache)
    settings = {"image_size": 64, "epochs": 60}

# Train. Everything the run writes goes to `out`; `overwrite` replaces an earlier run.
result = fit_letter(
    "epsilon", data=data, out=OUT / "epsilon", overwrite=True, verbose=2, **settings
)
history = result.history
print(f"validation loss: {history['val_loss'][0]:.3f} -> {history['val_loss'][-1]:.3f}")

# Sample: float32 RGB in [0, 1], (n, size, size, 3). The same seed gives the same glyphs.
glyphs = result.model.generate(64, seed=0)
grid = save_grid(OUT / "epsilon_samples.png", glyphs, cols=8)
print(f"{len(glyphs)} glyphs of {glyphs.shape[1]} px: {grid}")

# Later, in another process: load the saved folder (plain files) and sample again.
model = GlyphVAE.from_pretrained(OUT / "epsilon")
np.testing.assert_allclose(model.generate(4, seed=1), result.model.generate(4, seed=1), atol=1e-5)
print(f"reloaded {model.letter!r} from {result.out_dir}: same glyphs for the same seed")
