"""Finding glyph crops on disk and loading them into memory as model-ready arrays.

Two layouts are read:

* a **letter tree** ``<root>/<letter>/*.jpg`` where each folder name is any letter alias
  (``epsilon``, ``Epsilon``, ``ε``), as in the Hell-Char dataset;
* a **flat folder** of crops of one letter (the letter is then given by the caller).

An optional ``metadata.csv`` at the root (or in the flat folder) maps file names to a
papyrus/group id (column ``TM``, ``papyrus``, ``group``... or one you name), used to split
train and validation by papyrus.
"""

from __future__ import annotations

import csv
import logging
import os
import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from glyphvae.data.io import IMAGE_EXTENSIONS, UnreadableImageError, read_image, to_uint8
from glyphvae.data.preprocess import prepare_crop, validate_image_size
from glyphvae.data.split import split_indices
from glyphvae.letters import LETTER_NAMES, resolve_letter

__all__ = [
    "DEFAULT_MAX_BYTES",
    "GROUP_COLUMNS",
    "BadImageWarning",
    "CropRecord",
    "GlyphSet",
    "LoadReport",
    "find_crops",
    "load_crops",
    "load_glyphs",
]

logger = logging.getLogger("glyphvae")

GROUP_COLUMNS: tuple[str, ...] = ("TM", "papyrus", "papyrus_id", "group", "document", "doc_id")
"""Column names recognised (case-insensitive) as a papyrus/group id in ``metadata.csv``."""

DEFAULT_MAX_BYTES = 4 << 30
"""Default memory bound of a loaded crop set: 4 GiB of ``uint8`` images (about 340,000
crops at 64 px, or 21,000 at 256 px)."""

_WINDOW_PER_WORKER = 16  # decoded crops in flight per thread: bounds the loader's own memory


class BadImageWarning(UserWarning):
    """Warned once per file that is skipped because it cannot be read."""


@dataclass(frozen=True)
class CropRecord:
    """One crop file on disk: its path, its letter, and its papyrus/group id if known."""

    path: Path
    letter: str
    group: str | None = None


@dataclass
class LoadReport:
    """What happened while loading: how many crops were found, kept, dropped and why."""

    found: int = 0
    loaded: int = 0
    too_small: list[str] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        """One line for logs, e.g. ``"loaded 480 of 521 crops; dropped 38 smaller than..."``."""
        parts = [f"loaded {self.loaded} of {self.found} crops"]
        if self.too_small:
            parts.append(f"dropped {len(self.too_small)} below the minimum side")
        if self.unreadable:
            parts.append(f"skipped {len(self.unreadable)} unreadable files")
        return "; ".join(parts)


@dataclass
class GlyphSet:
    """Glyph crops in memory, ready for training.

    Attributes:
        images: ``uint8`` RGB array ``(n, image_size, image_size, 3)``.
        letters: Canonical letter name per crop.
        groups: Papyrus/group id per crop (``None`` where unknown).
        paths: Source file per crop.
        report: The :class:`LoadReport` of the load that produced this set.

    >>> glyphs = GlyphSet(
    ...     images=np.zeros((4, 32, 32, 3), np.uint8),
    ...     letters=["epsilon"] * 4,
    ...     groups=["TM1", "TM1", "TM2", "TM3"],
    ...     paths=[f"e{i}.png" for i in range(4)],
    ... )
    >>> len(glyphs), glyphs.image_size
    (4, 32)
    >>> train, val = glyphs.split(val_fraction=0.5, seed=0)
    >>> len(train) + len(val), set(train.groups).isdisjoint(val.groups)  # by papyrus
    (4, True)
    """

    images: np.ndarray
    letters: list[str]
    groups: list[str | None]
    paths: list[str]
    report: LoadReport = field(default_factory=LoadReport)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def image_size(self) -> int:
        """Side of the square images in pixels."""
        return int(self.images.shape[1])

    def subset(self, indices: Sequence[int] | np.ndarray) -> GlyphSet:
        """Return the crops at ``indices`` as a new set (the report is shared)."""
        idx = np.asarray(indices, dtype=np.int64)
        return GlyphSet(
            images=self.images[idx],
            letters=[self.letters[i] for i in idx],
            groups=[self.groups[i] for i in idx],
            paths=[self.paths[i] for i in idx],
            report=self.report,
        )

    def split(self, val_fraction: float = 0.15, seed: int = 0) -> tuple[GlyphSet, GlyphSet]:
        """Split into (train, validation) by papyrus when groups are known, else by file."""
        known = all(g is not None for g in self.groups)
        train_idx, val_idx = split_indices(
            len(self), self.groups if known else None, val_fraction=val_fraction, seed=seed
        )
        return self.subset(train_idx), self.subset(val_idx)

    def mean_color(self) -> list[float]:
        """Per-channel (RGB) mean in ``[0, 1]``."""
        if len(self) == 0:
            raise ValueError("Expected a non-empty GlyphSet to compute a mean colour.")
        return [float(v) for v in self.images.reshape(-1, 3).mean(axis=0) / 255.0]


def _list_images(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
    )


def _letter_folders(root: Path) -> dict[str, Path]:
    """Map canonical letter names to sub-folders whose names are letter aliases."""
    found: dict[str, Path] = {}
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        try:
            name = resolve_letter(sub.name)
        except ValueError:
            continue
        if name in found:
            raise ValueError(
                f"Expected one folder per letter under {root}. Received two for {name!r}: "
                f"{found[name].name!r} and {sub.name!r}"
            )
        found[name] = sub
    return found


def _read_groups(meta: Path, group_column: str | None) -> dict[str, str]:
    """Read a ``metadata.csv`` and map file names to group ids (empty if it has none)."""
    with meta.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        columns = list(reader.fieldnames or [])
        lower = {c.lower(): c for c in columns}
        file_col = next(
            (lower[c] for c in ("filename", "file", "path", "image") if c in lower), None
        )
        if group_column is not None:
            if group_column not in columns:
                raise ValueError(
                    f"Expected a {group_column!r} column in {meta}. Received columns: {columns}"
                )
            col: str | None = group_column
        else:
            col = next((lower[c.lower()] for c in GROUP_COLUMNS if c.lower() in lower), None)
        if file_col is None or col is None:
            logger.info("%s has no file/group columns (%s); splitting by file", meta, columns)
            return {}
        return {
            Path(row[file_col]).name: row[col].strip()
            for row in reader
            if row.get(file_col) and (row.get(col) or "").strip()
        }


def _groups_for(root: Path, folder: Path, group_column: str | None) -> dict[str, str]:
    """Group ids from ``metadata.csv`` at the root, else in the letter's own folder."""
    for candidate in dict.fromkeys((root, folder)):
        meta = candidate / "metadata.csv"
        if meta.is_file():
            return _read_groups(meta, group_column)
    if group_column is not None:
        raise FileNotFoundError(
            f"Expected a metadata.csv with a {group_column!r} column in {root}. Received none"
        )
    return {}


def find_crops(
    root: str | os.PathLike[str],
    letter: str | None = None,
    group_column: str | None = None,
) -> list[CropRecord]:
    """List crop files under ``root`` for one letter (or all letters of a letter tree).

    Args:
        root: A letter tree ``<root>/<letter>/*`` or a flat folder of one letter's crops.
        letter: Letter to collect (any alias). Required for a flat folder. ``None`` takes
            every letter folder of a letter tree.
        group_column: Column of ``metadata.csv`` holding the papyrus/group id. ``None``
            picks the first of :data:`GROUP_COLUMNS` present.

    Returns:
        Records sorted by letter, then path.

    Raises:
        FileNotFoundError: If ``root`` does not exist, has no folder for ``letter``, or
            the letter's folder holds no images. The message names the path.
    """
    root_path = Path(root).expanduser()
    if not root_path.is_dir():
        raise FileNotFoundError(
            f"Expected a folder of glyph crops (<root>/<letter>/*.jpg or a flat folder). "
            f"Received a path that is not a folder: {root_path}"
        )
    name = resolve_letter(letter) if letter is not None else None
    folders = _letter_folders(root_path)

    if folders:
        if name is not None and name not in folders:
            raise FileNotFoundError(
                f"Expected a folder for letter {name!r} under {root_path}. "
                f"Received letter folders: {', '.join(sorted(folders)) or 'none'}"
            )
        selected = {name: folders[name]} if name is not None else folders
    else:
        if name is None:
            raise ValueError(
                f"{root_path} has no letter sub-folders ({', '.join(LETTER_NAMES[:3])}, ...); "
                "to read it as a flat folder of one letter, pass `letter`."
            )
        selected = {name: root_path}

    records: list[CropRecord] = []
    for letter_name, folder in sorted(selected.items(), key=lambda kv: LETTER_NAMES.index(kv[0])):
        files = _list_images(folder)
        if not files:
            raise FileNotFoundError(
                f"Expected image files ({', '.join(IMAGE_EXTENSIONS)}) for letter "
                f"{letter_name!r}. Received an empty folder: {folder}"
            )
        groups = _groups_for(root_path, folder, group_column)
        records.extend(CropRecord(p, letter_name, groups.get(p.name)) for p in files)
    return records


def _load_one(record: CropRecord, image_size: int, min_side: int) -> tuple[str, object]:
    try:
        img = read_image(record.path)
    except (UnreadableImageError, OSError) as e:
        return "unreadable", str(e)
    if min(img.shape[:2]) < min_side:
        return "small", img.shape[:2]
    return "ok", to_uint8(prepare_crop(img, image_size))


def load_crops(
    records: Sequence[CropRecord],
    image_size: int = 64,
    min_side: int = 16,
    workers: int | None = None,
    progress: bool = True,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> GlyphSet:
    """Decode, square-pad and resize crops in parallel threads.

    Unreadable files are skipped with a :class:`BadImageWarning` naming each file; crops
    whose shorter side is below ``min_side`` are dropped and counted in the report.

    Memory is bounded: the images need ``len(records) * image_size**2 * 3`` bytes, which
    must not exceed ``max_bytes`` (checked before anything is decoded), and at most a few
    dozen decoded source images are in flight at once, each at most
    :data:`~glyphvae.data.io.MAX_PIXELS` pixels.

    Args:
        records: Crops from :func:`find_crops`.
        image_size: Output side, a multiple of 16 from 32 to 256.
        min_side: Drop crops whose shorter side (in source pixels) is smaller. ``0`` keeps all.
        workers: Decoding threads (default: CPU count).
        progress: Show a progress bar for large sets.
        max_bytes: Refuse sets whose images would need more memory than this.

    Returns:
        A :class:`GlyphSet`.

    Raises:
        ValueError: If no crop is left after skipping and dropping.
        MemoryError: If the images would need more than ``max_bytes``.
    """
    validate_image_size(image_size)
    if min_side < 0:
        raise ValueError(f"Expected `min_side` >= 0. Received: {min_side}")
    need = len(records) * image_size * image_size * 3
    if need > max_bytes:
        raise MemoryError(
            f"Expected crops that fit in max_bytes={max_bytes:,} bytes. Received "
            f"{len(records):,} crops at {image_size} px, which need {need:,} bytes; load fewer "
            "crops (one letter, a subset), a smaller image_size, or pass a larger max_bytes"
        )
    report = LoadReport(found=len(records))
    images = np.empty((len(records), image_size, image_size, 3), dtype=np.uint8)
    keep: list[int] = []
    workers = workers or min(8, os.cpu_count() or 1)
    from tqdm.auto import tqdm

    window = workers * _WINDOW_PER_WORKER

    def decoded(pool: ThreadPoolExecutor) -> Iterator[tuple[str, object]]:
        for start in range(0, len(records), window):  # never more than `window` in flight
            chunk = records[start : start + window]
            yield from pool.map(lambda r: _load_one(r, image_size, min_side), chunk)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = decoded(pool)
        bar = tqdm(
            results,
            total=len(records),
            desc="Loading crops",
            unit="crop",
            disable=not progress or len(records) < 200,
            leave=False,
        )
        for i, (status, value) in enumerate(bar):
            rec = records[i]
            if status == "unreadable":
                report.unreadable.append((str(rec.path), str(value)))
                warnings.warn(
                    f"Skipping unreadable image {rec.path}: {value}", BadImageWarning, stacklevel=2
                )
            elif status == "small":
                report.too_small.append(str(rec.path))
            else:
                images[i] = value  # type: ignore[assignment]
                keep.append(i)
    report.loaded = len(keep)
    if not keep:
        where = str(records[0].path.parent) if records else "(no files)"
        raise ValueError(
            f"Expected at least one usable crop in {where}. Received {report.found} files: "
            f"{len(report.too_small)} smaller than min_side={min_side}, "
            f"{len(report.unreadable)} unreadable"
        )
    logger.info("%s", report.summary())
    return GlyphSet(
        images=images[keep],
        letters=[records[i].letter for i in keep],
        groups=[records[i].group for i in keep],
        paths=[str(records[i].path) for i in keep],
        report=report,
    )


def load_glyphs(
    root: str | os.PathLike[str],
    letter: str | None = None,
    image_size: int = 64,
    min_side: int = 16,
    group_column: str | None = None,
    progress: bool = True,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> GlyphSet:
    """Find and load the crops of one letter (or of all letters) from ``root``.

    Args:
        root: A letter tree or a flat folder (see :func:`find_crops`).
        letter: Letter to load (any alias), or ``None`` for every letter of a tree.
        image_size: Output side, a multiple of 16 from 32 to 256.
        min_side: Drop crops whose shorter side is below this many pixels.
        group_column: ``metadata.csv`` column with the papyrus id (auto-detected if ``None``).
        progress: Show a progress bar for large sets.
        max_bytes: Memory bound of the loaded images (see :func:`load_crops`).

    Returns:
        A :class:`GlyphSet` of ``uint8`` RGB images.

    >>> import tempfile, numpy as np
    >>> from glyphvae.data.io import write_image
    >>> root = tempfile.mkdtemp()
    >>> for i in range(3):
    ...     _ = write_image(f"{root}/epsilon/e{i}.png", np.full((40, 30, 3), 0.7))
    >>> glyphs = load_glyphs(root, "ε", image_size=32)
    >>> glyphs.images.shape, glyphs.letters[0]
    ((3, 32, 32, 3), 'epsilon')
    """
    records = find_crops(root, letter=letter, group_column=group_column)
    return load_crops(
        records, image_size=image_size, min_side=min_side, progress=progress, max_bytes=max_bytes
    )
