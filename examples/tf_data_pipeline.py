"""Inject synthetic glyphs into a ``tf.data`` pipeline and train a classifier on it.

``ds.map(synth.tf_map)`` takes ``(image, label)`` elements in crop mode (``(image, boxes,
labels)`` in page mode) and returns the same structure, with static shapes kept. The label
may be a string or, with ``label_map``, an integer class id.

Real setting: glyphs from the shipped epsilon and alpha models (edit ``MODELS`` to use your
own ``glyphvae fit`` folders), crops of all letters from ``$GLYPHVAE_DATA``, 5 epochs. With
``GLYPHVAE_EXAMPLE_SMALL=1``: generated look-alike crops, one epoch.
"""

import os

import keras
import numpy as np
import tensorflow as tf
from example_data import OUT, SMALL, make_crop_tree

from glyphvae import LETTER_NAMES, LETTERS, load_glyphs
from glyphvae.augment import GlyphSynthesizer
from glyphvae.bank import GlyphBank

MODELS = ["epsilon", "alpha"]  # shipped presets, or folders written by `glyphvae fit`

if SMALL:
    data = make_crop_tree(OUT / "tiny-crops")
    crops = load_glyphs(data, image_size=32, progress=False)
    bank, epochs = GlyphBank.from_crops(data, MODELS, image_size=32), 1
else:
    data = os.environ["GLYPHVAE_DATA"]
    crops = load_glyphs(data, image_size=64)
    bank, epochs = GlyphBank.from_models(MODELS, n_per_letter=512), 5
bank_path = bank.save(OUT / "bank.npz")

class_id = {name: letter.index for name, letter in LETTERS.items()}
synth = GlyphSynthesizer(bank=str(bank_path), mode="crop", label_map=class_id, p=0.3)

labels = np.array([class_id[name] for name in crops.letters], np.int64)
ds = (
    tf.data.Dataset.from_tensor_slices((crops.images, labels))
    .shuffle(len(labels), seed=0)
    .map(synth.tf_map, num_parallel_calls=tf.data.AUTOTUNE)  # uint8 image, int64 label
    .map(lambda image, label: (tf.cast(image, tf.float32) / 255.0, label))
    .batch(32)
    .prefetch(tf.data.AUTOTUNE)
)
print(ds.element_spec)

size = crops.image_size
classifier = keras.Sequential(
    [
        keras.Input((size, size, 3)),
        keras.layers.Conv2D(16, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(32, 3, activation="relu"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(len(LETTER_NAMES), activation="softmax"),
    ]
)
classifier.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
history = classifier.fit(ds, epochs=epochs, shuffle=False, verbose=2)  # ds shuffles
print(f"trained {epochs} epoch(s) on the augmented stream; loss {history.history['loss'][-1]:.3f}")
