"""A small CNN that tells the 24 letters apart: the judge of generated glyphs.

:class:`LetterClassifier` is trained on real crops of all 24 letters (papyri held out by the
same hashed split as the VAEs). :mod:`glyphvae.evaluation` uses it three ways: its
predictions say whether generated glyphs are recognisable, its penultimate layer is the
feature space for KID and precision/recall, and it is the downstream model whose accuracy
synthetic glyphs should improve.

Images of any size are resized (area averaging) to the classifier's ``image_size`` first.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import keras
import numpy as np
from keras import layers

from glyphvae.data.pipeline import AugmentConfig
from glyphvae.letters import LETTER_NAMES
from glyphvae.models.architecture import MAX_PARAMETERS

__all__ = ["LetterClassifier", "train_classifier"]


def _backbone(image_size: int, width: int, feature_dim: int) -> keras.Model:
    x_in = keras.Input((image_size, image_size, 3), name="image")
    h = layers.Rescaling(2.0, offset=-1.0, name="to_signed")(x_in)
    for k, mult in enumerate((1, 2, 4)):
        for j in range(2):
            h = layers.Conv2D(
                width * mult, 3, padding="same", use_bias=False, name=f"b{k}_conv{j}"
            )(h)
            h = layers.BatchNormalization(momentum=0.9, name=f"b{k}_bn{j}")(h)
            h = layers.Activation("relu", name=f"b{k}_relu{j}")(h)
        h = layers.MaxPooling2D(2, name=f"b{k}_pool")(h)
    h = layers.GlobalAveragePooling2D(name="gap")(h)
    features = layers.Dense(feature_dim, activation="relu", name="features")(h)
    return keras.Model(x_in, features, name="backbone")


@keras.saving.register_keras_serializable(package="glyphvae")
class LetterClassifier(keras.Model):
    """A 24-way letter classifier (three VGG-style blocks, global pooling, a feature layer).

    Args:
        image_size: Input side in pixels (images of other sizes are resized to it).
        width: Channels of the first block (doubled in each of the next two).
        feature_dim: Size of the feature layer used for KID and precision/recall.
        dropout: Dropout before the output layer.
        num_classes: Number of classes (the 24 letters, in ``LETTER_NAMES`` order).
        **kwargs: Passed to ``keras.Model``.

    >>> clf = LetterClassifier(image_size=32, width=8, feature_dim=16)
    >>> clf.embed(np.zeros((2, 64, 64, 3), np.uint8)).shape
    (2, 16)
    """

    def __init__(
        self,
        image_size: int = 32,
        width: int = 16,
        feature_dim: int = 128,
        dropout: float = 0.3,
        num_classes: int = len(LETTER_NAMES),
        **kwargs: Any,
    ) -> None:
        if image_size < 8 or image_size % 8:
            raise ValueError(f"Expected `image_size` a multiple of 8. Received: {image_size}")
        if width < 1 or feature_dim < 1 or num_classes < 2 or not 0 <= dropout < 1:
            raise ValueError(
                "Expected width >= 1, feature_dim >= 1, num_classes >= 2, 0 <= dropout < 1. "
                f"Received {width}, {feature_dim}, {num_classes}, {dropout}"
            )
        weights = 280 * width * width + 4 * width * feature_dim + feature_dim * num_classes
        if weights > MAX_PARAMETERS or image_size > 1024:
            raise ValueError(
                f"Expected a classifier of at most {MAX_PARAMETERS:,} weights and an image_size "
                f"<= 1024. Received width={width}, feature_dim={feature_dim}, "
                f"num_classes={num_classes} (about {weights:,} weights), image_size={image_size}"
            )
        super().__init__(**kwargs)
        self.image_size = int(image_size)
        self.width = int(width)
        self.feature_dim = int(feature_dim)
        self.dropout = float(dropout)
        self.num_classes = int(num_classes)
        self.backbone = _backbone(self.image_size, self.width, self.feature_dim)
        self.drop = layers.Dropout(self.dropout, name="dropout")
        self.head = layers.Dense(self.num_classes, name="logits")
        self.head.build((None, self.feature_dim))
        self.built = True

    def call(self, inputs: Any, training: bool = False) -> Any:
        """Letter logits ``(b, num_classes)`` for images ``(b, image_size, image_size, 3)``."""
        return self.head(self.drop(self.backbone(inputs, training=training), training=training))

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "image_size": self.image_size,
                "width": self.width,
                "feature_dim": self.feature_dim,
                "dropout": self.dropout,
                "num_classes": self.num_classes,
            }
        )
        return config

    # ------------------------------------------------------------------ inference helpers
    def prepare(self, images: Any) -> np.ndarray:
        """Resize images of any square size to ``image_size``; returns ``float32`` in ``[0, 1]``."""
        arr = np.asarray(images)
        if arr.ndim == 3:
            arr = arr[None]
        if arr.ndim != 4 or arr.shape[-1] != 3:
            raise ValueError(f"Expected RGB images (n, h, w, 3). Received {arr.shape}")
        x = arr.astype(np.float32) / 255.0 if arr.dtype == np.uint8 else arr.astype(np.float32)
        if not np.all(np.isfinite(x)):
            raise ValueError("Expected finite pixel values. Received NaN or inf")
        if x.shape[1:3] != (self.image_size, self.image_size):
            size = (self.image_size, self.image_size)
            x = np.stack([cv2.resize(im, size, interpolation=cv2.INTER_AREA) for im in x])
        return np.clip(x, 0.0, 1.0)

    def predict_proba(self, images: Any, batch_size: int = 512) -> np.ndarray:
        """Class probabilities ``(n, num_classes)``."""
        logits = self.predict(self.prepare(images), batch_size=batch_size, verbose=0)
        return np.asarray(keras.ops.softmax(logits, axis=-1))

    def predict_letters(self, images: Any, batch_size: int = 512) -> list[str]:
        """The most likely letter name for each image."""
        return [LETTER_NAMES[i] for i in self.predict_proba(images, batch_size).argmax(axis=1)]

    def embed(self, images: Any, batch_size: int = 512) -> np.ndarray:
        """Feature-layer activations ``(n, feature_dim)``: the KID and precision/recall space."""
        return np.asarray(
            self.backbone.predict(self.prepare(images), batch_size=batch_size, verbose=0),
            dtype=np.float32,
        )

    @classmethod
    def from_pretrained(cls, source: str | os.PathLike[str]) -> LetterClassifier:
        """Load a saved classifier (see :func:`glyphvae.hub.from_pretrained`)."""
        from glyphvae.hub import from_pretrained

        model: LetterClassifier = from_pretrained(source, expected_class="LetterClassifier")
        return model

    def save_pretrained(
        self, directory: str | os.PathLike[str], metadata: dict[str, Any] | None = None
    ) -> Path:
        """Save as plain files (see :func:`glyphvae.hub.save_pretrained`)."""
        from glyphvae.hub import save_pretrained

        return save_pretrained(self, directory, metadata=metadata)


def train_classifier(
    images: np.ndarray,
    labels: Sequence[int] | np.ndarray,
    epochs: int = 20,
    batch_size: int = 64,
    learning_rate: float = 2e-3,
    seed: int = 0,
    image_size: int = 32,
    width: int = 16,
    augment: AugmentConfig | None = None,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    verbose: int = 0,
) -> LetterClassifier:
    """Train a :class:`LetterClassifier` on ``uint8`` crops and integer letter labels.

    Args:
        images: ``uint8`` RGB crops ``(n, s, s, 3)`` of any square size.
        labels: Letter index per crop (``LETTERS[name].index``).
        epochs: Passes over the data (cosine-decayed learning rate).
        batch_size: Crops per step.
        learning_rate: Peak Adam learning rate.
        seed: Seed of initialisation, shuffling and jitter.
        image_size: Classifier input side.
        width: First-block channels.
        augment: Jitter for training batches (default: the VAE's defaults).
        validation: Optional ``(images, labels)`` evaluated after each epoch.
        verbose: Keras verbosity.

    Returns:
        The trained classifier.
    """
    from glyphvae.data.pipeline import make_dataset

    keras.utils.set_random_seed(seed)
    model = LetterClassifier(image_size=image_size, width=width)
    x = (model.prepare(images) * 255.0 + 0.5).astype(np.uint8)
    y = np.asarray(labels, dtype=np.int32)
    steps = int(np.ceil(len(x) / batch_size)) * epochs
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=max(1, steps))
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    ds = make_dataset(x, y, batch_size=batch_size, training=True, seed=seed, augment=augment)
    val_ds = None
    if validation is not None:
        vx = (model.prepare(validation[0]) * 255.0 + 0.5).astype(np.uint8)
        val_ds = make_dataset(vx, np.asarray(validation[1]), batch_size=256, training=False)
    model.fit(ds, validation_data=val_ds, epochs=epochs, shuffle=False, verbose=verbose)
    return model


def fit_classifier(
    data: str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] | None = None,
    image_size: int = 32,
    width: int = 16,
    epochs: int = 20,
    seed: int = 0,
    val_fraction: float = 0.15,
    min_side: int = 16,
    verbose: int = 1,
) -> tuple[LetterClassifier, dict[str, Any]]:
    """Train the letter classifier on all letters of a dataset, held-out papyri excluded.

    The papyri held out are the ones every letter model trained with the same ``seed`` and
    ``val_fraction`` holds out (see :mod:`glyphvae.data.split`), so the classifier never
    sees the crops that evaluation compares against.

    Args:
        data: A letter tree (default ``$GLYPHVAE_DATA``).
        out: Folder to save the classifier in (plain files), or ``None``.
        image_size: Classifier input side.
        width: First-block channels.
        epochs: Training epochs.
        seed: Seed of the split and of training.
        val_fraction: Expected share of papyri held out.
        min_side: Crops with a shorter side below this are dropped.
        verbose: Keras verbosity.

    Returns:
        ``(classifier, report)`` where the report holds the held-out accuracy, per letter too.
    """
    from glyphvae.data.dataset import load_glyphs
    from glyphvae.datasets import describe_data, resolve_data_dir
    from glyphvae.letters import LETTERS

    root = resolve_data_dir(data)
    glyphs = load_glyphs(root, None, image_size=64, min_side=min_side, progress=verbose > 0)
    train, held = glyphs.split(val_fraction, seed=seed)
    y_train = np.array([LETTERS[name].index for name in train.letters])
    y_held = np.array([LETTERS[name].index for name in held.letters])
    model = train_classifier(
        train.images,
        y_train,
        epochs=epochs,
        seed=seed,
        image_size=image_size,
        width=width,
        validation=(held.images, y_held) if verbose else None,
        verbose=2 if verbose else 0,
    )
    pred = model.predict_proba(held.images).argmax(axis=1)
    per_letter = {
        name: float(np.mean(pred[y_held == LETTERS[name].index] == LETTERS[name].index))
        for name in LETTER_NAMES
        if np.any(y_held == LETTERS[name].index)
    }
    report = {
        "heldout_accuracy": float(np.mean(pred == y_held)),
        "heldout_accuracy_per_letter": per_letter,
        "n_train": len(train),
        "n_heldout": len(held),
        "training": {
            "epochs": epochs,
            "seed": seed,
            "val_fraction": val_fraction,
            "min_side": min_side,
            "image_size": image_size,
            "width": width,
        },
        "data": {
            **describe_data(root),
            "split": {
                "by": "group",
                "train_groups": sorted({str(g) for g in train.groups}),
                "val_groups": sorted({str(g) for g in held.groups}),
            },
        },
    }
    if out is not None:
        model.save_pretrained(out, metadata=report)
    return model, report
