"""The tf.data adapter of :class:`~glyphvae.augment.GlyphSynthesizer`.

``ds.map(synth.tf_map)`` works on two kinds of elements:

* ``(image, label)`` in crop mode: ``label`` a scalar string (letter names) or integer
  (then ``label_map`` must map letters to integers);
* ``(image, boxes, labels)`` in page mode: ``boxes`` float ``(n, 4)`` in ``box_format``
  (``"pascal_voc"`` by default, see :func:`make_tf_map`), ``labels`` ``(n,)``.

Each call runs the numpy implementation through ``tf.numpy_function`` and restores the static
shapes (image shape unchanged, boxes ``(None, 4)``). The randomness of an element comes from
an optional ``seed`` argument or, if absent, from ``tf.random`` (set ``tf.random.set_seed``
for a reproducible stream): :func:`numpy_map` with the same seed gives the same output.

Parallelism: ``ds.map(synth.tf_map, num_parallel_calls=tf.data.AUTOTUNE)`` runs several
calls at once, but ``tf.numpy_function`` holds the Python GIL while pasting, so pasting
scales with threads only where OpenCV releases the GIL (resizing, warping). For heavy
pipelines, pre-generate an augmented dataset with ``glyphvae augment`` instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from glyphvae.augment.boxes import convert_boxes

if TYPE_CHECKING:
    import tensorflow as tf

    from glyphvae.augment.glyph_synthesizer import GlyphSynthesizer

__all__ = ["make_tf_map", "numpy_map"]


def _labels_like(values: list[Any], like: np.ndarray) -> np.ndarray:
    """New labels in the kind of ``like``: its integer dtype, ``str``, or ``bytes`` objects.

    Strings never take ``like``'s fixed width (``"beta"`` is ``<U4``), which would cut them.
    """
    if like.dtype.kind in "iu":
        if not all(isinstance(v, int | np.integer) for v in values):
            raise ValueError(
                "Expected integer labels for an integer label tensor: pass label_map={letter: "
                f"class id}} to GlyphSynthesizer. Received {values}"
            )
        return np.asarray(values, dtype=like.dtype)
    if like.dtype.kind == "U":
        return np.asarray([str(v) for v in values])
    return np.asarray([str(v).encode() for v in values], dtype=object)


def numpy_map(
    synth: GlyphSynthesizer, *element: Any, seed: int, box_format: str = "pascal_voc"
) -> tuple[Any, ...]:
    """The numpy path of :func:`make_tf_map`: same element in, same element out."""
    rng = np.random.default_rng(int(seed))
    if rng.random() >= synth.p:
        return element
    if synth.mode == "crop":
        image, label = element
        new_image, letter = synth.replace_crop(np.asarray(image), rng)
        label_arr = np.asarray(label)
        new_label = _labels_like([synth._label(letter)], label_arr.reshape(1))
        return new_image, new_label.reshape(label_arr.shape)
    image, boxes, labels = element
    page = np.asarray(image)
    box_arr = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    label_arr = np.asarray(labels)
    px = convert_boxes(box_arr, box_format, "pascal_voc", page.shape) if len(box_arr) else None
    new_page, new_px, letters = synth.paste_into(page, px, rng)
    if not letters:
        return page, box_arr, label_arr
    new_boxes = convert_boxes(new_px, "pascal_voc", box_format, page.shape).astype(np.float32)
    new_labels = _labels_like([synth._label(x) for x in letters], label_arr)
    if new_labels.dtype == object:  # bytes labels (as tf.string arrives): no fixed width
        label_arr = label_arr.astype(object)
    out_labels = np.concatenate([label_arr, new_labels])
    return new_page, np.concatenate([box_arr, new_boxes]), out_labels


def make_tf_map(
    synth: GlyphSynthesizer, box_format: str = "pascal_voc"
) -> Callable[..., tuple[tf.Tensor, ...]]:
    """A function for ``tf.data.Dataset.map`` applying ``synth`` (see the module docstring).

    Args:
        synth: The synthesizer (its bank is loaded on first call in this process).
        box_format: Page mode: format of the ``boxes`` tensor (``pascal_voc``, ``coco``,
            ``yolo`` or ``albumentations``).
    """
    import tensorflow as tf

    def tf_map(*element: tf.Tensor, seed: tf.Tensor | None = None) -> tuple[tf.Tensor, ...]:
        expected = 2 if synth.mode == "crop" else 3
        if len(element) != expected:
            raise ValueError(
                f"Expected ({'image, label' if expected == 2 else 'image, boxes, labels'}) "
                f"elements in {synth.mode} mode. Received {len(element)} components"
            )
        if seed is None:
            seed = tf.random.uniform((), 0, 2**31 - 1, dtype=tf.int64)
        tensors = [tf.convert_to_tensor(x) for x in element]

        def run(*args: np.ndarray) -> list[np.ndarray]:
            *values, s = args
            out = numpy_map(synth, *values, seed=int(s), box_format=box_format)
            return [
                np.asarray(o, dtype=t.dtype.as_numpy_dtype)
                for o, t in zip(out, tensors, strict=True)
            ]

        outputs = tf.numpy_function(
            run, [*tensors, tf.cast(seed, tf.int64)], [t.dtype for t in tensors], stateful=False
        )
        outputs[0].set_shape(tensors[0].shape)
        if synth.mode == "crop":
            outputs[1].set_shape(tensors[1].shape)
        else:
            outputs[1].set_shape([None, 4])
            outputs[2].set_shape([None])
        return tuple(outputs)

    return tf_map
