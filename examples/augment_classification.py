"""Augment a letter-classification set: replace some crops by synthetic glyphs (crop mode).

``GlyphSynthesizer(mode="crop")`` sits in an ``A.Compose`` like any other transform. With
probability ``p`` it replaces the crop by a synthetic glyph composited onto the crop's own
paper, and replaces the label you passed as ``label=``; read the label back from the output.

Real setting: glyphs from the shipped epsilon and alpha models (edit ``MODELS`` to use your
own ``glyphvae fit`` folders), crops of all letters from ``$GLYPHVAE_DATA``. With
``GLYPHVAE_EXAMPLE_SMALL=1``: a bank of generated look-alike crops. Writes
``runs/examples/classification_before_after.png``.
"""

import os

import albumentations as A
import cv2
import numpy as np
from example_data import OUT, SMALL, make_crop_tree

from glyphvae import LETTERS, load_glyphs
from glyphvae.augment import GlyphSynthesizer
from glyphvae.bank import GlyphBank
from glyphvae.visualize import save_grid

MODELS = ["epsilon", "alpha"]  # shipped presets, or folders written by `glyphvae fit`

if SMALL:
    data = make_crop_tree(OUT / "tiny-crops")
    crops = load_glyphs(data, image_size=32, progress=False)
    bank = GlyphBank.from_crops(data, MODELS, image_size=32)  # copy-paste of real glyphs
else:
    data = os.environ["GLYPHVAE_DATA"]
    crops = load_glyphs(data, image_size=64)  # every letter
    bank = GlyphBank.from_models(MODELS, n_per_letter=512)  # decoded once, in big batches

# Save the bank once; transforms hold its path, so they pickle into data-loader workers and
# serialise with A.to_dict, and workers never import TensorFlow.
bank_path = bank.save(OUT / "bank.npz")

# Integer class ids, as most classifiers want: label_map turns the glyph's letter into one.
class_id = {name: letter.index for name, letter in LETTERS.items()}
transform = A.Compose(
    [
        GlyphSynthesizer(bank=str(bank_path), mode="crop", label_map=class_id, p=0.3),
        A.Affine(rotate=(-5, 5), scale=(0.9, 1.1), border_mode=cv2.BORDER_REPLICATE),
        A.RandomBrightnessContrast(brightness_limit=0.1, contrast_limit=0.1, p=0.5),
    ],
    seed=0,
)

before, after, labels = [], [], []
for image, letter in zip(crops.images, crops.letters, strict=True):
    out = transform(image=image, label=class_id[letter])
    labels.append(out["label"])
    if out["label"] != class_id[letter]:  # replaced by a synthetic glyph of another letter
        before.append(image)
        after.append(out["image"])
for name in bank.letter_names:
    was, now = crops.letters.count(name), labels.count(class_id[name])
    print(f"{name}: {was} crops -> {now} after augmentation (of {len(crops)})")

# Top row: crops as they came in; bottom row: what the classifier sees.
n = min(len(before), 12)
grid = save_grid(OUT / "classification_before_after.png", np.stack(before[:n] + after[:n]), cols=n)
print(f"before/after grid: {grid}")
print(A.to_dict(transform)["transform"]["transforms"][0]["bank"])  # the path, not the pixels
