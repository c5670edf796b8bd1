"""``GlyphBank``: many glyphs decoded once, in big batches, and kept for pasting.

An augmentation pipeline pastes thousands of glyphs per second; calling a VAE once per
augmented image would be slow and would need TensorFlow in every data-loader worker. A bank
decodes all glyphs up front (or on first use) in large batches, estimates each glyph's ink
matte once, and is then pure numpy: it pickles, it can be saved as ``.npz`` and loaded by any
process, and it is bounded in memory (``max_bytes``).

A bank can also hold real crops (:meth:`GlyphBank.from_crops`), for copy-paste augmentation of
real glyphs through the same API.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from glyphvae.data.io import to_uint8
from glyphvae.files import atomic_write_bytes
from glyphvae.letters import resolve_letter

__all__ = ["DEFAULT_MAX_BYTES", "GlyphBank"]

DEFAULT_MAX_BYTES = 1 << 30
"""Default memory bound of a bank: 1 GiB (images, mattes and paste layers together)."""

BANK_FORMAT_VERSION = 1
_MATTE_BATCH = 256  # glyphs matted at once (float32 scratch: about 20 MB at 64 px)


def _bytes_per_glyph(size: int) -> int:
    # uint8 image (3) + uint8 matte (1) + float32 paste layers (4 x 4), cached when used
    return size * size * (3 + 1 + 16)


class GlyphBank:
    """A fixed set of glyph images with their letters and ink mattes.

    Args:
        images: ``uint8`` RGB glyphs ``(n, s, s, 3)``.
        letters: Letter per glyph (any alias; stored as canonical names).
        mattes: Optional precomputed ``uint8`` ink mattes ``(n, s, s)`` (0-255); estimated
            with :func:`~glyphvae.augment.functional.ink_matte` when omitted.
        metadata: JSON-ready description (source, seed, ...), saved with the bank.
        max_bytes: Refuse banks that would need more memory than this.

    >>> bank = GlyphBank(np.full((2, 32, 32, 3), 200, np.uint8), ["ε", "alpha"])
    >>> len(bank), bank.letter_names
    (2, ['alpha', 'epsilon'])
    """

    def __init__(
        self,
        images: np.ndarray,
        letters: Sequence[str],
        mattes: np.ndarray | None = None,
        metadata: Mapping[str, Any] | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        arr = np.asarray(images)
        if arr.ndim != 4 or arr.shape[-1] != 3 or arr.shape[1] != arr.shape[2] or not len(arr):
            raise ValueError(
                "Expected a non-empty batch of square RGB glyphs (n, s, s, 3). "
                f"Received {arr.shape}"
            )
        if arr.dtype != np.uint8:
            arr = to_uint8(arr)
        if len(letters) != len(arr):
            raise ValueError(f"Expected one letter per glyph ({len(arr)}). Received {len(letters)}")
        need = len(arr) * _bytes_per_glyph(arr.shape[1])
        if need > max_bytes:
            raise MemoryError(
                f"Expected a bank within max_bytes={max_bytes:,}. Received {len(arr)} glyphs of "
                f"{arr.shape[1]} px needing about {need:,} bytes; use fewer glyphs or raise "
                "max_bytes."
            )
        self.images = arr
        self.letters = np.asarray([resolve_letter(x) for x in letters])
        if mattes is None:
            # imported here: glyphvae.augment imports this module (a cycle at import time)
            from glyphvae.augment.functional import ink_mattes

            mattes = np.empty(arr.shape[:3], np.uint8)
            for start in range(0, len(arr), _MATTE_BATCH):  # batched: bounded scratch memory
                part = slice(start, start + _MATTE_BATCH)
                mattes[part] = to_uint8(ink_mattes(arr[part]))
        mattes = np.asarray(mattes)
        if mattes.shape != arr.shape[:3] or mattes.dtype != np.uint8:
            raise ValueError(
                f"Expected uint8 mattes of shape {arr.shape[:3]}. "
                f"Received {mattes.dtype} {mattes.shape}"
            )
        self.mattes = mattes
        self.metadata = dict(metadata or {})
        self.max_bytes = int(max_bytes)
        self._layers: dict[int, np.ndarray] = {}

    # ------------------------------------------------------------------ basics
    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}: {v}" for k, v in self.counts().items())
        return f"GlyphBank({len(self)} glyphs of {self.image_size} px; {counts})"

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_layers"] = {}  # a cache: rebuilt on demand in the receiving process
        return state

    @property
    def image_size(self) -> int:
        """Side of the glyphs in pixels."""
        return int(self.images.shape[1])

    @property
    def letter_names(self) -> list[str]:
        """Letters present, sorted."""
        return sorted({str(x) for x in self.letters})

    def counts(self) -> dict[str, int]:
        """Glyphs per letter."""
        names, counts = np.unique(self.letters, return_counts=True)
        return {str(n): int(c) for n, c in zip(names, counts, strict=True)}

    def indices(self, letters: Sequence[str] | None = None) -> np.ndarray:
        """Indices of the glyphs of the given letters (all glyphs for ``None``)."""
        if letters is None:
            return np.arange(len(self))
        wanted = {resolve_letter(x) for x in letters}
        missing = wanted - set(self.letter_names)
        if missing:
            raise ValueError(
                f"Expected letters present in the bank ({', '.join(self.letter_names)}). "
                f"Received {sorted(missing)}"
            )
        return np.flatnonzero(np.isin(self.letters, sorted(wanted)))

    def layers(self, index: int) -> np.ndarray:
        """Paste layers of glyph ``index`` (see :func:`~glyphvae.augment.functional.paste_layers`).

        Computed on first use and cached.
        """
        cached = self._layers.get(index)
        if cached is None:
            from glyphvae.augment.functional import ink_ratio, paste_layers

            glyph = self.images[index].astype(np.float32) / 255.0
            cached = paste_layers(ink_ratio(glyph), self.mattes[index].astype(np.float32) / 255.0)
            self._layers[index] = cached
        return cached

    # ------------------------------------------------------------------ building
    @classmethod
    def from_models(
        cls,
        models: Sequence[Any] | Mapping[str, Any],
        n_per_letter: int = 512,
        seed: int = 0,
        temperature: float | None = None,
        batch_size: int = 256,
        max_bytes: int = DEFAULT_MAX_BYTES,
        texture: bool = False,
    ) -> GlyphBank:
        """Decode ``n_per_letter`` glyphs from each letter model, in large batches.

        Args:
            models: :class:`~glyphvae.models.GlyphVAE` models or sources for
                :func:`glyphvae.hub.from_pretrained` (folders, presets such as ``"epsilon"``),
                as a list or a letter -> model mapping. All must share one image size.
            n_per_letter: Glyphs per model.
            seed: Seed; model ``i`` uses ``seed + i``.
            temperature: Prior temperature (default: each model's ``sample_temperature``).
            batch_size: Latent codes per decoder call.
            max_bytes: Memory bound, checked before anything is decoded.
            texture: Add each model's residual texture (see ``GlyphVAE.generate``). Off by
                default: a bank's glyphs are pasted through their ink mattes onto pages that
                bring their own grain, and grain drawn into a glyph would punch holes in
                its matte (broken, speckled strokes).
        """
        from glyphvae.hub import from_pretrained

        items = list(models.values()) if isinstance(models, Mapping) else list(models)
        keys = [str(k) for k in models] if isinstance(models, Mapping) else [None] * len(items)
        if not items:
            raise ValueError("Expected at least one model. Received none")
        if n_per_letter < 1:
            raise ValueError(f"Expected n_per_letter >= 1. Received {n_per_letter}")
        loaded = [
            from_pretrained(m, expected_class="GlyphVAE") if isinstance(m, str | os.PathLike) else m
            for m in items
        ]
        sizes = {m.image_size for m in loaded}
        if len(sizes) != 1:
            raise ValueError(f"Expected models of one image size. Received {sorted(sizes)}")
        size = sizes.pop()
        need = len(loaded) * n_per_letter * _bytes_per_glyph(size)
        if need > max_bytes:
            raise MemoryError(
                f"Expected a bank within max_bytes={max_bytes:,}. Received a request for "
                f"{len(loaded) * n_per_letter} glyphs of {size} px (about {need:,} bytes)."
            )
        images, letters = [], []
        # a mapping's key names the letter; otherwise the model records it
        names = [key or model.letter for key, model in zip(keys, loaded, strict=True)]
        if not all(names):
            raise ValueError("Expected models that record their letter. Received one without")
        names = [resolve_letter(x) for x in names]
        for i, (model, letter) in enumerate(zip(loaded, names, strict=True)):
            images.append(
                to_uint8(
                    model.generate(
                        n_per_letter,
                        seed=seed + i,
                        temperature=temperature,
                        batch_size=batch_size,
                        texture=texture,
                    )
                )
            )
            letters += [letter] * n_per_letter
        meta = {
            "source": "models",
            "letters": sorted(set(letters)),
            "seed": seed,
            "temperature": temperature,
            "texture": texture,
            "n_per_letter": n_per_letter,
        }
        return cls(np.concatenate(images), letters, metadata=meta, max_bytes=max_bytes)

    @classmethod
    def from_pretrained(
        cls, letters: Sequence[str], n_per_letter: int = 512, seed: int = 0, **kwargs: Any
    ) -> GlyphBank:
        """A bank from the shipped (or Hub) model of each letter, e.g. ``["epsilon", "alpha"]``."""
        return cls.from_models([resolve_letter(x) for x in letters], n_per_letter, seed, **kwargs)

    @classmethod
    def from_crops(
        cls,
        data: str | os.PathLike[str],
        letters: Sequence[str],
        image_size: int = 64,
        n_per_letter: int | None = None,
        seed: int = 0,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> GlyphBank:
        """A bank of real crops (copy-paste augmentation), ``n_per_letter`` drawn at random."""
        from glyphvae.data.dataset import load_glyphs

        rng = np.random.default_rng(seed)
        images, names = [], []
        for letter in letters:
            glyphs = load_glyphs(data, letter, image_size=image_size, progress=False)
            idx = np.arange(len(glyphs))
            if n_per_letter is not None and n_per_letter < len(idx):
                idx = np.sort(rng.choice(idx, n_per_letter, replace=False))
            images.append(glyphs.images[idx])
            names += [glyphs.letters[i] for i in idx]
        meta = {"source": "crops", "data": str(data), "seed": seed}
        return cls(np.concatenate(images), names, metadata=meta, max_bytes=max_bytes)

    # ------------------------------------------------------------------ files
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Save as a compressed ``.npz`` (images, letters, mattes, metadata), atomically."""
        buf = io.BytesIO()
        np.savez_compressed(
            buf,
            images=self.images,
            letters=self.letters.astype("U16"),
            mattes=self.mattes,
            metadata=np.asarray(
                json.dumps({**self.metadata, "format_version": BANK_FORMAT_VERSION})
            ),
        )
        return atomic_write_bytes(path, buf.getvalue())

    @classmethod
    def load(cls, path: str | os.PathLike[str], max_bytes: int = DEFAULT_MAX_BYTES) -> GlyphBank:
        """Load a bank written by :meth:`save` (never unpickles).

        Raises:
            FileNotFoundError: If the file does not exist.
            ValueError: If it is not a glyph bank.
        """
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"Expected a glyph bank (.npz). Received a missing path: {p}")
        try:
            with np.load(p, allow_pickle=False) as f:
                missing = {"images", "letters", "mattes"} - set(f.files)
                if missing:
                    raise ValueError(
                        f"Expected arrays images, letters, mattes. Missing {sorted(missing)}"
                    )
                images, letters, mattes = f["images"], f["letters"], f["mattes"]
                meta = json.loads(str(f["metadata"])) if "metadata" in f.files else {}
        except (OSError, EOFError, ValueError, zipfile.BadZipFile) as e:
            raise ValueError(f"Expected a glyph bank .npz at {p}. Reading failed: {e}") from e
        if int(meta.get("format_version", 1)) > BANK_FORMAT_VERSION:
            raise ValueError(
                f"Expected bank format <= {BANK_FORMAT_VERSION}. Received {meta['format_version']}"
            )
        return cls(
            images, [str(x) for x in letters], mattes=mattes, metadata=meta, max_bytes=max_bytes
        )
