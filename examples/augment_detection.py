"""Augment a detection set: paste synthetic glyphs into a page, with boxes and labels.

``GlyphSynthesizer(mode="page")`` pastes ``count_range`` glyphs into free space on the page,
at the height of the page's own letters (estimated from its boxes), and appends their boxes
to ``bboxes`` and their letters to every label field. Transforms after it in the same
``A.Compose`` move the new boxes with the old ones.

Real setting: glyphs from the shipped epsilon and alpha models (edit ``MODELS`` to use your
own ``glyphvae fit`` folders), on a page laid out from crops in ``$GLYPHVAE_DATA``. With
``GLYPHVAE_EXAMPLE_SMALL=1``: generated look-alike crops. Draws the page with its boxes
(old in blue, new in red) to ``runs/examples/detection_boxes.png``.
"""

import os

import albumentations as A
import cv2
import numpy as np
from example_data import OUT, SMALL, make_crop_tree, make_page

from glyphvae import load_glyphs, write_image
from glyphvae.augment import GlyphSynthesizer
from glyphvae.bank import GlyphBank

MODELS = ["epsilon", "alpha"]  # shipped presets, or folders written by `glyphvae fit`

if SMALL:
    data = make_crop_tree(OUT / "tiny-crops")
    bank = GlyphBank.from_crops(data, MODELS, image_size=32)
    size, page_size = 32, (256, 384)
else:
    data = os.environ["GLYPHVAE_DATA"]
    bank = GlyphBank.from_models(MODELS, n_per_letter=256)
    size, page_size = 48, (512, 768)
bank_path = bank.save(OUT / "bank.npz")

# A stand-in for one page of your detection set: pascal_voc pixel boxes, one letter each.
crops = load_glyphs(data, "omicron" if not SMALL else "epsilon", image_size=size, progress=False)
page, boxes, letters = make_page(crops.images, crops.letters, page_size)

transform = A.Compose(
    [
        GlyphSynthesizer(bank=str(bank_path), mode="page", count_range=(4, 8), p=1.0),
        A.Affine(rotate=(-3, 3), border_mode=cv2.BORDER_REPLICATE, p=1.0),
    ],
    bbox_params=A.BboxParams(format="pascal_voc", label_fields=["letters"]),
    seed=0,
)
out = transform(image=page, bboxes=boxes, letters=letters)

# The synthetic glyphs' boxes come after the page's own, with their letters in `letters`.
new_boxes, new_letters = out["bboxes"][len(boxes) :], out["letters"][len(boxes) :]
print(f"{len(boxes)} boxes on the page, {len(new_boxes)} added: {', '.join(new_letters)}")

drawn = out["image"].copy()
for i, (x0, y0, x1, y1) in enumerate(np.round(out["bboxes"]).astype(int)):
    colour = (40, 60, 220) if i < len(boxes) else (220, 30, 30)  # RGB: old blue, new red
    cv2.rectangle(drawn, (x0, y0), (x1, y1), colour, 1)
    if i >= len(boxes):
        cv2.putText(drawn, out["letters"][i], (x0, y0 - 2), cv2.FONT_HERSHEY_PLAIN, 0.8, colour)
print(f"page with boxes: {write_image(OUT / 'detection_boxes.png', drawn)}")
