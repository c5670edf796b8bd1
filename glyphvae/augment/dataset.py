"""Expanding a dataset on disk with synthetic glyphs: the work behind ``glyphvae augment``.

Two kinds of dataset, each copied to a new folder with synthetic material added (the input
is never modified):

* **crop datasets** (classification), :func:`augment_crop_tree`: a letter tree
  ``<src>/<letter>/*.jpg`` in; the same tree out, plus ``per_letter`` synthetic glyphs for
  every letter the bank holds, as PNG crops ``<letter>/synthetic_<letter>_<seed>_<n>.png``.
  A root ``metadata.csv`` is copied with one row per synthetic crop (group ``synthetic``), so
  papyrus-aware splits keep working and synthetic crops are easy to filter out.
* **page datasets** (detection), :func:`augment_coco`: a COCO annotation file and its image
  folder in; the images and annotations out, plus ``copies`` augmented copies of every page
  (``<stem>_synth<k><ext>``) with glyphs pasted into free space. The new annotations get
  fresh ids, COCO ``[x, y, width, height]`` boxes, a rectangular segmentation and
  ``"synthetic": true``; their categories are matched to the existing ones by letter name
  (``"epsilon"``, ``"Epsilon"``, ``"ε"`` all match), and letters with no category get a new one.

Every file is written atomically (:mod:`glyphvae.files`): an interrupted run leaves only
complete files. Randomness is seeded per glyph or per page copy from ``seed``, so a run is
reproducible and does not depend on the order files are listed in.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from glyphvae.augment.boxes import convert_boxes
from glyphvae.augment.functional import replace_with_glyph
from glyphvae.augment.glyph_synthesizer import GlyphSynthesizer
from glyphvae.bank import GlyphBank
from glyphvae.data.dataset import GROUP_COLUMNS, find_crops
from glyphvae.data.io import IMAGE_EXTENSIONS, read_image, to_uint8, write_image
from glyphvae.files import atomic_path, atomic_write_json, atomic_write_text
from glyphvae.letters import resolve_letter

__all__ = [
    "SYNTHETIC_GROUP",
    "AugmentReport",
    "augment_coco",
    "augment_crop_tree",
    "check_out",
    "make_bank",
]

logger = logging.getLogger("glyphvae")

SYNTHETIC_GROUP = "synthetic"
"""Group id written to ``metadata.csv`` for synthetic crops."""

_FILE_COLUMNS = ("filename", "file", "path", "image")


@dataclass
class AugmentReport:
    """What an augmentation run wrote.

    Attributes:
        out: The output folder.
        copied: Input files copied (crops or page images; metadata files not counted).
        synthetic: Synthetic glyphs written, per letter.
        new_images: Augmented page copies written (page datasets only).
        annotations: The COCO file written (page datasets only).
    """

    out: Path
    copied: int = 0
    synthetic: dict[str, int] = field(default_factory=dict)
    new_images: int = 0
    annotations: Path | None = None

    def summary(self) -> str:
        """One line saying what was written and where."""
        glyphs = sum(self.synthetic.values())
        per = ", ".join(f"{k}: {v}" for k, v in sorted(self.synthetic.items()))
        what = f"{glyphs} synthetic glyphs" + (f" ({per})" if per else "")
        if self.annotations is not None:
            return (
                f"Copied {self.copied} pages and wrote {self.new_images} augmented copies with "
                f"{what} to {self.out}; annotations: {self.annotations}"
            )
        return f"Copied {self.copied} crops and wrote {what} to {self.out}"


# ---------------------------------------------------------------------- banks
def make_bank(
    bank: str | os.PathLike[str] | None = None,
    letters: Sequence[str] = (),
    models: Sequence[str | os.PathLike[str]] = (),
    n_per_letter: int = 256,
    seed: int = 0,
) -> GlyphBank:
    """The bank from exactly one source: a saved ``.npz``, letter names, or model sources.

    Args:
        bank: A bank saved with :meth:`GlyphBank.save`.
        letters: Letters whose shipped (or Hub) models decode the bank.
        models: Model folders, presets or ``hf://`` sources (one letter each).
        n_per_letter: Glyphs decoded per model (``letters`` and ``models`` only).
        seed: Seed of the decoding.

    Raises:
        ValueError: If no source or more than one is given.
    """
    given = [name for name, v in (("bank", bank), ("letters", letters), ("models", models)) if v]
    if len(given) != 1:
        raise ValueError(
            "Expected exactly one glyph source: a bank file, letters or models. "
            f"Received {', '.join(given) or 'none'}"
        )
    if bank:
        return GlyphBank.load(bank)
    if letters:
        return GlyphBank.from_pretrained(
            [resolve_letter(x) for x in letters], n_per_letter=n_per_letter, seed=seed
        )
    return GlyphBank.from_models([str(m) for m in models], n_per_letter=n_per_letter, seed=seed)


# ---------------------------------------------------------------------- helpers
def check_out(
    out: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str]], overwrite: bool = False
) -> Path:
    """The resolved output folder; refuses one inside an input, or one that holds files.

    Raises:
        ValueError: If ``out`` is an input folder or inside one.
        FileExistsError: If ``out`` holds files and ``overwrite`` is false.
    """
    out = Path(out).expanduser().resolve()
    for item in inputs:
        src = Path(item).expanduser().resolve()
        if out == src or src in out.parents:
            raise ValueError(
                f"Expected an output folder outside the input. Received {out}, inside {src}"
            )
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"Expected an output folder. Received a file: {out}")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(
            f"Expected a new or empty output folder. Received {out}, which holds files "
            "(pass overwrite=True / --overwrite to write into it)"
        )
    return out


def _copy(src: Path, dst: Path) -> None:
    with atomic_path(dst) as tmp:
        shutil.copyfile(src, tmp)


def _progress(total: int, desc: str, unit: str, progress: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=not progress, dynamic_ncols=True)


def _ratio_matte(bank: GlyphBank, index: int) -> tuple[np.ndarray, np.ndarray]:
    """A bank glyph's ink ratio and matte, recovered from its cached paste layers."""
    layers = bank.layers(index)
    matte = layers[:, :, 3]
    ratio = 1.0 - layers[:, :, :3] / np.maximum(matte[:, :, None], 1e-6)
    return np.where(matte[:, :, None] > 1e-6, ratio, 1.0).astype(np.float32), matte


def _metadata_with_synthetic(meta: Path, rows: list[tuple[str, str]]) -> str:
    """``meta`` (a ``metadata.csv``) with a row per synthetic ``(file name, letter)``."""
    with meta.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        columns = list(reader.fieldnames or [])
        existing = list(reader)
    lower = {c.lower(): c for c in columns}
    file_col = next((lower[c] for c in _FILE_COLUMNS if c in lower), None)
    if file_col is None:
        logger.info("%s has no file-name column; synthetic crops are not listed in it", meta)
        return meta.read_text(encoding="utf-8-sig")
    group_col = next((lower[c.lower()] for c in GROUP_COLUMNS if c.lower() in lower), None)
    letter_col = lower.get("letter")
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(existing)
    for name, letter in rows:
        row = dict.fromkeys(columns, "")
        row[file_col] = name
        if group_col is not None:
            row[group_col] = SYNTHETIC_GROUP
        if letter_col is not None:
            row[letter_col] = letter
        writer.writerow(row)
    return buf.getvalue()


# ---------------------------------------------------------------------- crops
def augment_crop_tree(
    src: str | os.PathLike[str],
    out: str | os.PathLike[str],
    bank: GlyphBank,
    per_letter: int,
    seed: int = 0,
    real_paper: bool = False,
    fill: float = 0.8,
    overwrite: bool = False,
    progress: bool = True,
) -> AugmentReport:
    """Copy a letter tree and add ``per_letter`` synthetic glyphs per letter of ``bank``.

    Args:
        src: A letter tree ``<src>/<letter>/*.jpg`` (folder names: any letter alias).
        out: Output folder (new or empty, unless ``overwrite``).
        bank: Where the glyphs come from. Letters it holds but ``src`` lacks get a new
            folder named after the letter.
        per_letter: Synthetic glyphs written per letter; drawn from the bank without
            replacement while it has enough glyphs of that letter.
        seed: Seed of the draws.
        real_paper: Composite each glyph onto the paper of a random input crop (its size,
            colour and texture; the crop's own letter is removed) instead of writing the
            bank glyph as it is.
        fill: With ``real_paper``: glyph height as a fraction of the crop height.
        overwrite: Allow an output folder that already holds files.
        progress: Show a progress bar.

    Returns:
        An :class:`AugmentReport`.

    >>> import tempfile, numpy as np
    >>> from glyphvae.data.io import write_image
    >>> src, out = tempfile.mkdtemp(), tempfile.mkdtemp()
    >>> _ = write_image(f"{src}/Alpha/a.png", np.full((40, 30, 3), 0.7))
    >>> bank = GlyphBank(np.full((2, 32, 32, 3), 200, np.uint8), ["alpha", "epsilon"])
    >>> augment_crop_tree(src, out, bank, per_letter=3, progress=False).summary().split(" to ")[0]
    'Copied 1 crops and wrote 6 synthetic glyphs (alpha: 3, epsilon: 3)'
    """
    if per_letter < 0:
        raise ValueError(f"Expected per_letter >= 0. Received {per_letter}")
    root = Path(src).expanduser()
    records = find_crops(root)  # also validates the tree (letter folders with images)
    out_dir = check_out(Path(out), [root], overwrite)
    folders = {r.letter: r.path.parent.relative_to(root) for r in records}
    files = sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".tmp-"))
    meta = root / "metadata.csv"
    letters = bank.letter_names
    report = AugmentReport(out=out_dir)
    rows: list[tuple[str, str]] = []
    seeds = np.random.SeedSequence(seed).spawn(len(letters))
    with _progress(len(files) + per_letter * len(letters), "Augmenting", "file", progress) as bar:
        for path in files:
            if path != meta:
                _copy(path, out_dir / path.relative_to(root))
                report.copied += path.suffix.lower() in IMAGE_EXTENSIONS
            bar.update()
        for letter, letter_seed in zip(letters, seeds, strict=True):
            rng = np.random.default_rng(letter_seed)
            pool = bank.indices([letter])
            picks = rng.choice(pool, per_letter, replace=len(pool) < per_letter)
            folder = out_dir / folders.get(letter, Path(letter))
            for n, index in enumerate(picks):
                if real_paper:
                    paper = read_image(records[int(rng.integers(len(records)))].path)
                    ratio, matte = _ratio_matte(bank, int(index))
                    image, _ = replace_with_glyph(paper, ratio, matte, rng=rng, fill=fill)
                else:
                    image = bank.images[int(index)]
                name = f"synthetic_{letter}_{seed}_{n:05d}.png"
                write_image(folder / name, image)
                rows.append((name, letter))
                bar.update()
            report.synthetic[letter] = len(picks)
    if meta.is_file():
        atomic_write_text(out_dir / meta.name, _metadata_with_synthetic(meta, rows))
    return report


# ---------------------------------------------------------------------- COCO pages
def _load_coco(path: Path) -> dict[str, Any]:
    """Read a COCO file and check the fields this module uses."""
    if not path.is_file():
        raise FileNotFoundError(f"Expected a COCO annotation file. Received a missing path: {path}")
    try:
        coco = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"Expected COCO annotations as JSON in {path}. Reading failed: {e}") from e
    if not isinstance(coco, dict) or not isinstance(coco.get("images"), list):
        raise ValueError(f"Expected a COCO object with an `images` list in {path}")
    for key in ("annotations", "categories"):
        if not isinstance(coco.setdefault(key, []), list):
            raise ValueError(f"Expected `{key}` as a list in {path}. Received {coco[key]!r:.60}")
    for image in coco["images"]:
        if not isinstance(image, dict) or "id" not in image or "file_name" not in image:
            raise ValueError(
                f"Expected images with `id` and `file_name` in {path}. Received {image!r:.80}"
            )
    for ann in coco["annotations"]:
        box = ann.get("bbox") if isinstance(ann, dict) else None
        if not isinstance(box, list) or len(box) != 4 or "image_id" not in ann:
            raise ValueError(
                f"Expected annotations with `image_id` and a `bbox` [x, y, width, height] in "
                f"{path}. Received {ann!r:.80}"
            )
    return coco


def _category_ids(categories: list[dict[str, Any]], letters: Sequence[str]) -> dict[str, int]:
    """Letter -> category id, matching names by letter alias; missing letters are appended."""
    by_letter: dict[str, int] = {}
    for cat in categories:
        try:
            by_letter.setdefault(resolve_letter(str(cat.get("name", ""))), int(cat["id"]))
        except (ValueError, TypeError, KeyError):
            continue  # not a letter category
    next_id = max((int(c["id"]) for c in categories if "id" in c), default=0) + 1
    for letter in letters:
        if letter not in by_letter:
            categories.append({"id": next_id, "name": letter, "supercategory": "letter"})
            by_letter[letter] = next_id
            next_id += 1
    return by_letter


def _out_name(file_name: str) -> Path:
    """The image's path inside the output's image folder (absolute inputs keep their name)."""
    p = Path(file_name)
    return Path(p.name) if p.is_absolute() or ".." in p.parts else p


def augment_coco(
    annotations: str | os.PathLike[str],
    images: str | os.PathLike[str],
    out: str | os.PathLike[str],
    bank: GlyphBank,
    copies: int = 1,
    count_range: tuple[int, int] = (4, 16),
    seed: int = 0,
    max_iou: float = 0.0,
    overwrite: bool = False,
    progress: bool = True,
    **synth_kwargs: Any,
) -> AugmentReport:
    """Copy a COCO page dataset and add ``copies`` augmented copies of every page.

    Glyphs are pasted into free space (no overlap with the page's annotated boxes or each
    other beyond ``max_iou``) at the height of the page's own letters (the median annotated
    box height; a fraction of the page height on pages without boxes), see
    :meth:`GlyphSynthesizer.paste_into`.

    Args:
        annotations: COCO JSON (``images``, ``annotations``, ``categories``).
        images: Folder the images' ``file_name`` paths are relative to.
        out: Output folder: ``images/`` (originals and copies, same relative paths) and the
            annotation file under its input name.
        bank: Where the glyphs come from.
        copies: Augmented copies per page.
        count_range: Glyphs pasted per copy, inclusive (fewer where a page is full).
        seed: Seed; copy ``k`` of page ``i`` (in file order) uses ``(seed, i, k)``.
        max_iou: Largest IoU of a pasted box with any other box.
        overwrite: Allow an output folder that already holds files.
        progress: Show a progress bar.
        **synth_kwargs: Other :class:`GlyphSynthesizer` page-mode arguments
            (``scale_range``, ``rotation_range``, ``letter_height_range``...).

    Returns:
        An :class:`AugmentReport` (``annotations`` is the JSON written).
    """
    if copies < 1:
        raise ValueError(f"Expected copies >= 1. Received {copies}")
    if not 0 <= count_range[0] <= count_range[1]:
        raise ValueError(f"Expected count_range 0 <= low <= high. Received {count_range}")
    ann_path, img_root = Path(annotations).expanduser(), Path(images).expanduser()
    if not img_root.is_dir():
        raise FileNotFoundError(f"Expected the folder of the COCO images. Received {img_root}")
    coco = _load_coco(ann_path)
    out_dir = check_out(Path(out), [img_root], overwrite)
    synth = GlyphSynthesizer.from_bank(
        bank, count_range=count_range, max_iou=max_iou, p=1.0, **synth_kwargs
    )
    categories = [dict(c) for c in coco["categories"]]
    cat_of = _category_ids(categories, bank.letter_names)
    by_image: dict[Any, list[dict[str, Any]]] = {}
    for ann in coco["annotations"]:
        by_image.setdefault(ann.get("image_id"), []).append(ann)
    next_image = max((int(im["id"]) for im in coco["images"]), default=0) + 1
    next_ann = max((int(a["id"]) for a in coco["annotations"] if "id" in a), default=0) + 1
    new_images: list[dict[str, Any]] = []
    new_anns: list[dict[str, Any]] = []
    report = AugmentReport(out=out_dir)
    with _progress(len(coco["images"]) * (1 + copies), "Augmenting", "image", progress) as bar:
        for i, entry in enumerate(coco["images"]):
            src = img_root / entry["file_name"]
            if not src.is_file():
                raise FileNotFoundError(
                    f"Expected the image of COCO image id {entry['id']}. Received a missing "
                    f"file: {src}"
                )
            rel = _out_name(entry["file_name"])
            _copy(src, out_dir / "images" / rel)
            report.copied += 1
            bar.update()
            page = to_uint8(read_image(src))
            anns = by_image.get(entry["id"], [])
            existing = np.array([a["bbox"] for a in anns], np.float64).reshape(-1, 4)
            existing = convert_boxes(existing, "coco", "pascal_voc", page.shape)
            for k in range(copies):
                rng = np.random.default_rng([seed, i, k])
                new_page, boxes, letters = synth.paste_into(page, existing, rng)
                name = rel.with_name(f"{rel.stem}_synth{k}{rel.suffix}")
                write_image(out_dir / "images" / name, new_page)
                image_id, next_image = next_image, next_image + 1
                new_images.append(
                    {
                        **entry,
                        "id": image_id,
                        "file_name": name.as_posix(),
                        "height": int(page.shape[0]),
                        "width": int(page.shape[1]),
                        "source_image_id": entry["id"],
                    }
                )
                for ann in anns:
                    new_anns.append({**ann, "id": next_ann, "image_id": image_id})
                    next_ann += 1
                for box, letter in zip(boxes.tolist(), letters, strict=True):
                    x0, y0, x1, y1 = (round(float(v), 2) for v in box)
                    w, h = round(x1 - x0, 2), round(y1 - y0, 2)
                    new_anns.append(
                        {
                            "id": next_ann,
                            "image_id": image_id,
                            "category_id": cat_of[letter],
                            "bbox": [x0, y0, w, h],
                            "area": round(w * h, 2),
                            "iscrowd": 0,
                            "segmentation": [[x0, y0, x1, y0, x1, y1, x0, y1]],
                            "synthetic": True,
                        }
                    )
                    next_ann += 1
                    report.synthetic[letter] = report.synthetic.get(letter, 0) + 1
                report.new_images += 1
                bar.update()
    images_out = [
        {**im, "file_name": _out_name(im["file_name"]).as_posix()} for im in coco["images"]
    ]
    result = {
        **coco,
        "images": images_out + new_images,
        "annotations": list(coco["annotations"]) + new_anns,
        "categories": categories,
    }
    report.annotations = atomic_write_json(out_dir / ann_path.name, result)
    return report
