"""``GlyphSynthesizer``: an albumentations transform that injects synthetic glyphs.

Two modes:

* **page** (detection): paste ``count_range`` glyphs into free space on a page, at the
  height of the page's letters, append their boxes to the pipeline's ``bboxes`` (any
  albumentations box format) and their letters to every label field. Later transforms in
  the same ``A.Compose`` move the new boxes like the old ones.
* **crop** (classification): with probability ``p``, replace a letter crop by a synthetic
  glyph composited onto the crop's own paper, and replace its label. Pass the label as
  ``label=`` and read it back from the output: ``out = transform(image=img, label="alpha")``;
  ``out["label"]`` is the glyph's letter (or ``label_map[letter]``) when the glyph was
  injected, the input label otherwise.

The transform holds a path to a saved :class:`~glyphvae.bank.GlyphBank` (``bank=``) or letter
names (``letters=``, a bank is then decoded from the shipped or Hub models on first use in
each process), never a model: it pickles, serialises with ``A.to_dict``/``A.from_dict`` and
runs in data-loader worker processes. For multi-process loading, save a bank once
(``glyphvae augment`` or :meth:`GlyphBank.save`) and pass its path: workers then only load a
``.npz`` and never import TensorFlow.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Self

import numpy as np
from albumentations.core.transforms_interface import BaseTransformInitSchema, DualTransform
from pydantic import Field, model_validator

from glyphvae.augment.boxes import convert_boxes, estimate_letter_height
from glyphvae.augment.functional import apply_pastes, plan_pastes, replace_with_glyph
from glyphvae.bank import GlyphBank

__all__ = ["GlyphSynthesizer"]

# A generated crop's height over its ink's height (the crop has a paper margin).
CROP_OVER_INK = 1.25


class _Layers(Sequence[np.ndarray]):
    """Paste layers of a few bank glyphs, looked up (and cached by the bank) lazily."""

    def __init__(self, bank: GlyphBank, indices: Sequence[int] | np.ndarray) -> None:
        self.bank, self.indices = bank, [int(i) for i in indices]

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: Any) -> Any:
        return self.bank.layers(self.indices[i])


class GlyphSynthesizer(DualTransform):
    """Paste synthetic glyphs into pages (with boxes and labels) or replace letter crops.

    Args:
        bank: Path to a glyph bank ``.npz`` (see :class:`~glyphvae.bank.GlyphBank`).
        letters: Or letter names; a bank of ``glyphs_per_letter`` glyphs per letter is then
            decoded from the models on first use (``bank_seed`` seeds it).
        glyphs_per_letter: Bank size per letter when built from ``letters``.
        bank_seed: Seed of that bank.
        mode: ``"page"`` or ``"crop"`` (see the module docstring).
        count_range: Page mode: glyphs pasted per page, inclusive range.
        letter_height_range: Page mode: glyph height as a fraction of the page height, used
            when the page has no boxes to estimate its letter height from.
        scale_range: Factor on the (estimated or drawn) letter height.
        max_iou: Largest IoU of a pasted box with any existing or pasted box.
        rotation_range: Rotation in degrees.
        shear_range: Horizontal shear.
        ink_jitter: Per-channel ink darkness jitter (``1 ± ink_jitter``).
        fill: Crop mode: glyph height as a fraction of the crop height.
        label_map: Letter name -> label value written to label fields (default: the
            letter name). Integer label fields need a map to integers.
        p: Probability of applying the transform.

    >>> import numpy as np
    >>> bank = GlyphBank(np.full((1, 32, 32, 3), 200, np.uint8), ["epsilon"])
    >>> synth = GlyphSynthesizer.from_bank(bank, mode="crop", p=1.0)
    >>> synth(image=np.full((40, 30, 3), 180, np.uint8), label="alpha")["label"]
    'epsilon'
    """

    class InitSchema(BaseTransformInitSchema):
        bank: str | None = None
        letters: list[str] | None = None
        glyphs_per_letter: int = Field(default=256, ge=1)
        bank_seed: int = 0
        mode: Literal["page", "crop"] = "page"
        count_range: tuple[int, int] = (1, 4)
        letter_height_range: tuple[float, float] = (0.04, 0.08)
        scale_range: tuple[float, float] = (0.9, 1.1)
        max_iou: float = Field(default=0.0, ge=0.0, le=1.0)
        rotation_range: tuple[float, float] = (-5.0, 5.0)
        shear_range: tuple[float, float] = (-0.1, 0.1)
        ink_jitter: float = Field(default=0.1, ge=0.0, lt=1.0)
        fill: float = Field(default=0.8, gt=0.0, le=1.0)
        label_map: dict[str, Any] | None = None

        @model_validator(mode="after")
        def _check(self) -> Self:
            if self.bank is not None and self.letters is not None:
                raise ValueError("Expected either `bank` or `letters`. Received both")
            lo, hi = self.count_range
            if not 0 <= lo <= hi:
                raise ValueError(
                    f"Expected count_range 0 <= low <= high. Received {self.count_range}"
                )
            lo_h, hi_h = self.letter_height_range
            if not 0 < lo_h <= hi_h <= 1:
                raise ValueError(
                    "Expected letter_height_range within (0, 1]. "
                    f"Received {self.letter_height_range}"
                )
            if not 0 < self.scale_range[0] <= self.scale_range[1]:
                raise ValueError(
                    f"Expected 0 < scale_range low <= high. Received {self.scale_range}"
                )
            return self

    def __init__(
        self,
        bank: str | None = None,
        letters: Sequence[str] | None = None,
        glyphs_per_letter: int = 256,
        bank_seed: int = 0,
        mode: Literal["page", "crop"] = "page",
        count_range: tuple[int, int] = (1, 4),
        letter_height_range: tuple[float, float] = (0.04, 0.08),
        scale_range: tuple[float, float] = (0.9, 1.1),
        max_iou: float = 0.0,
        rotation_range: tuple[float, float] = (-5.0, 5.0),
        shear_range: tuple[float, float] = (-0.1, 0.1),
        ink_jitter: float = 0.1,
        fill: float = 0.8,
        label_map: dict[str, Any] | None = None,
        p: float = 0.5,
    ) -> None:
        super().__init__(p=p)
        self.bank = None if bank is None else str(bank)
        self.letters = None if letters is None else list(letters)
        self.glyphs_per_letter = glyphs_per_letter
        self.bank_seed = bank_seed
        self.mode = mode
        self.count_range = (int(count_range[0]), int(count_range[1]))
        self.letter_height_range = (float(letter_height_range[0]), float(letter_height_range[1]))
        self.scale_range = (float(scale_range[0]), float(scale_range[1]))
        self.max_iou = max_iou
        self.rotation_range = (float(rotation_range[0]), float(rotation_range[1]))
        self.shear_range = (float(shear_range[0]), float(shear_range[1]))
        self.ink_jitter = ink_jitter
        self.fill = fill
        self.label_map = None if label_map is None else dict(label_map)
        self._bank: GlyphBank | None = None

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_pretrained(
        cls, letters: Sequence[str], glyphs_per_letter: int = 256, **kwargs: Any
    ) -> GlyphSynthesizer:
        """A synthesizer drawing from the shipped (or Hub) model of each letter."""
        return cls(letters=list(letters), glyphs_per_letter=glyphs_per_letter, **kwargs)

    @classmethod
    def from_bank(cls, bank: GlyphBank, **kwargs: Any) -> GlyphSynthesizer:
        """A synthesizer over an in-memory bank (it pickles; to serialise with ``A.to_dict``,
        save the bank and pass ``bank=path`` instead)."""
        synth = cls(**kwargs)
        synth._bank = bank
        return synth

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        if self.bank is not None or self.letters is not None:
            state["_bank"] = None  # reloaded from the path or the models in the new process
        return state

    def get_transform_init_args(self) -> dict[str, Any]:
        if self.bank is None and self.letters is None:
            raise ValueError(
                "Expected a synthesizer built from a bank path or letters to serialise. Received "
                "an in-memory bank: save it with bank.save(path) and pass bank=path."
            )
        return super().get_transform_init_args()

    @property
    def glyph_bank(self) -> GlyphBank:
        """The bank, loaded or decoded on first use in this process."""
        if self._bank is None:
            if self.bank is not None:
                self._bank = GlyphBank.load(self.bank)
            elif self.letters is not None:
                self._bank = GlyphBank.from_pretrained(
                    self.letters, self.glyphs_per_letter, seed=self.bank_seed
                )
            else:
                raise ValueError("Expected `bank` or `letters`. Received neither")
        return self._bank

    def _label(self, letter: str) -> Any:
        return letter if self.label_map is None else self.label_map.get(letter, letter)

    @staticmethod
    def _check_numeric(field: str, new: list[Any], numeric: bool) -> None:
        """Refuse non-numeric new labels for a numeric label field, with a clear message."""
        bad = [v for v in new if not isinstance(v, int | float | np.number) or isinstance(v, bool)]
        if numeric and bad:
            raise ValueError(
                f"Expected numeric labels for the numeric label field {field!r}: pass "
                f"label_map={{letter: class id}} to GlyphSynthesizer. Received {bad[0]!r}"
            )

    # ------------------------------------------------------------------ numpy API
    def paste_into(
        self, page: np.ndarray, boxes: np.ndarray | None, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Page mode without albumentations: paste glyphs into ``page``.

        Args:
            page: RGB page, ``uint8`` or float in ``[0, 1]``.
            boxes: Existing pascal_voc pixel boxes ``(n, 4+)`` (or ``None``).
            rng: Source of randomness.

        Returns:
            ``(new_page, new_boxes, new_letters)``: the new boxes are pascal_voc pixels.
        """
        bank = self.glyph_bank
        existing = np.zeros((0, 4)) if boxes is None else np.asarray(boxes, np.float64)[:, :4]
        k = int(rng.integers(self.count_range[0], self.count_range[1] + 1))
        ink = estimate_letter_height(existing)
        if ink is not None and ink > 0:
            height = ink * CROP_OVER_INK
        else:
            height = float(rng.uniform(*self.letter_height_range)) * page.shape[0]
        candidates = rng.choice(len(bank), size=max(k, 1))
        size = bank.image_size
        plans = plan_pastes(
            rng,
            page.shape,
            [(size, size)] * len(candidates),
            k,
            max(height, 4.0),
            existing_boxes=existing,
            max_iou=self.max_iou,
            scale_range=self.scale_range,
            rotation_range=self.rotation_range,
            shear_range=self.shear_range,
            ink_jitter=self.ink_jitter,
        )
        if not plans:
            return page, np.zeros((0, 4), np.float32), []
        out, new_boxes = apply_pastes(page, None, None, plans, layers=_Layers(bank, candidates))
        letters = [str(bank.letters[candidates[p.glyph_index]]) for p in plans]
        return out, new_boxes, letters

    def replace_crop(self, image: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, str]:
        """Crop mode without albumentations: a synthetic glyph on ``image``'s paper."""
        bank = self.glyph_bank
        index = int(rng.integers(len(bank)))
        layers = bank.layers(index)
        matte = layers[:, :, 3]
        ratio = 1.0 - layers[:, :, :3] / np.maximum(matte[:, :, None], 1e-6)
        ratio = np.where(matte[:, :, None] > 1e-6, ratio, 1.0).astype(np.float32)
        out, _ = replace_with_glyph(image, ratio, matte, rng=rng, fill=self.fill)
        return out, str(bank.letters[index])

    # ------------------------------------------------------------------ tf.data
    @property
    def tf_map(self) -> Any:
        """``ds.map(synth.tf_map)``: the tf.data adapter (see :mod:`glyphvae.augment.tf_data`).

        Elements ``(image, label)`` in crop mode, ``(image, boxes, labels)`` with pascal_voc
        boxes in page mode; use :func:`~glyphvae.augment.tf_data.make_tf_map` for other box
        formats.
        """
        from glyphvae.augment.tf_data import make_tf_map

        return make_tf_map(self)

    # ------------------------------------------------------------------ albumentations
    @property
    def targets_as_params(self) -> list[str]:
        # crop mode reads and replaces the crop's label (passed as label=...)
        return ["image", "label"] if self.mode == "crop" else ["image"]

    def apply_with_params(
        self, params: dict[str, Any], *args: Any, **kwargs: Any
    ) -> dict[str, Any]:
        """Apply to every target, then replace the label in crop mode.

        The label is set here rather than declared as an albumentations target, because
        albumentations walks targets as sequences and a string label would be split.
        """
        result: dict[str, Any] = super().apply_with_params(params, *args, **kwargs)
        if params.get("new_label") is not None:
            result["label"] = params["new_label"]
        return result

    def get_params_dependent_on_data(
        self, params: dict[str, Any], data: dict[str, Any]
    ) -> dict[str, Any]:
        image = data["image"]
        rng = self.random_generator
        if self.mode == "crop":
            new_image, letter = self.replace_crop(image, rng)
            old = data.get("label")
            numeric = isinstance(old, int | float | np.number) and not isinstance(old, bool)
            self._check_numeric("label", [self._label(letter)], numeric)
            return {"new_image": new_image, "new_label": self._label(letter), "new_bboxes": None}
        shape = image.shape
        existing = None
        if "bboxes" in data and len(data["bboxes"]):
            existing = convert_boxes(
                np.asarray(data["bboxes"])[:, :4], "albumentations", "pascal_voc", shape
            )
        new_image, boxes, letters = self.paste_into(image, existing, rng)
        return {
            "new_image": new_image,
            "new_label": None,
            "new_bboxes": self._encode_boxes(boxes, letters, image, data)
            if "bboxes" in data
            else None,
        }

    def _encode_boxes(
        self, boxes: np.ndarray, letters: list[str], image: np.ndarray, data: dict[str, Any]
    ) -> np.ndarray | None:
        """New boxes in the pipeline's internal format, their labels added to every label field.

        Uses the Compose bbox processor the way albumentations' own ``Mosaic`` does, so new
        labels join the label encoder; the processor's record of the input type is restored.
        """
        processor = self.get_processor("bboxes")
        if processor is None:
            return None
        fmt = processor.params.format
        temp: dict[str, Any] = {
            "image": image,
            "bboxes": convert_boxes(boxes, "pascal_voc", fmt, image.shape),
        }
        fields = processor.label_manager.metadata.get("bboxes", {})
        for field in processor.params.label_fields or []:
            temp[field] = [self._label(x) for x in letters]
            # a numeric field (as albumentations recorded it) rejects letter names
            known = fields.get(field)
            self._check_numeric(field, temp[field], known is not None and known.is_numerical)
        saved = dict(processor.is_sequence_input)
        try:
            processor.preprocess(temp)
        finally:
            processor.is_sequence_input.clear()
            processor.is_sequence_input.update(saved)
        return np.asarray(temp["bboxes"])

    def apply(self, img: np.ndarray, new_image: np.ndarray, **params: Any) -> np.ndarray:
        return new_image

    def apply_to_bboxes(
        self, bboxes: np.ndarray, new_bboxes: np.ndarray | None = None, **params: Any
    ) -> np.ndarray:
        if new_bboxes is None or not len(new_bboxes):
            return bboxes
        if len(bboxes) and bboxes.shape[1] != new_bboxes.shape[1]:
            raise ValueError(
                f"Expected new boxes with the pipeline's {bboxes.shape[1]} columns. Received "
                f"{new_bboxes.shape[1]}"
            )
        # the input's dtype: existing boxes pass through exactly (no float32 round trip)
        return (
            np.concatenate([bboxes, new_bboxes.astype(bboxes.dtype, copy=False)])
            if len(bboxes)
            else new_bboxes
        )

    def apply_to_mask(self, mask: np.ndarray, **params: Any) -> np.ndarray:
        return mask

    def apply_to_keypoints(self, keypoints: np.ndarray, **params: Any) -> np.ndarray:
        return keypoints
