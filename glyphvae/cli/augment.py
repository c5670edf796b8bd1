"""``glyphvae augment``: expand a crop dataset or a COCO page dataset with synthetic glyphs."""

from __future__ import annotations

import re
from pathlib import Path

import click

SOURCE_HELP = "Exactly one of --bank, --letters, --model says where the glyphs come from."


def _split_letters(values: tuple[str, ...]) -> list[str]:
    """``--letters epsilon,alpha`` or ``--letters "epsilon alpha"`` or the option repeated."""
    return [x for v in values for x in re.split(r"[,\s]+", v.strip()) if x]


@click.command()
@click.option(
    "--crops",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    default=None,
    help="Crop dataset to expand: a letter tree <crops>/<letter>/*.jpg.",
)
@click.option(
    "--coco",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="Page dataset to expand: a COCO annotation JSON (images in --images).",
)
@click.option(
    "--images",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    default=None,
    help="Folder the COCO file_name paths are relative to (default: the JSON's folder).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Output folder (new or empty): the input copied plus the synthetic material.",
)
@click.option(
    "--bank",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="Glyph bank .npz (from --save-bank or GlyphBank.save).",
)
@click.option(
    "--letters",
    multiple=True,
    help="Letters to decode a bank for from the shipped or Hub models: "
    "--letters epsilon,alpha (or repeat the option).",
)
@click.option(
    "--model",
    "models",
    multiple=True,
    help="Model to decode glyphs from: a folder, preset or hf:// source (repeat the option).",
)
@click.option(
    "--glyphs-per-letter",
    type=click.IntRange(1),
    default=None,
    help="Bank size per letter when decoding [default: --per-letter for crops, 256 for pages].",
)
@click.option(
    "--per-letter",
    type=click.IntRange(0),
    default=100,
    show_default=True,
    help="Crops: synthetic glyphs written per letter of the bank.",
)
@click.option(
    "--real-paper",
    is_flag=True,
    help="Crops: composite each glyph onto the paper of a random input crop.",
)
@click.option(
    "--copies",
    type=click.IntRange(1),
    default=1,
    show_default=True,
    help="Pages: augmented copies per page.",
)
@click.option(
    "--glyphs-per-page",
    type=click.IntRange(0),
    nargs=2,
    default=(4, 16),
    show_default=True,
    help="Pages: glyphs pasted per copy, MIN MAX (fewer where a page is full).",
)
@click.option(
    "--max-iou",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Pages: largest overlap (IoU) of a pasted glyph with any box.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--save-bank",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Also write the bank used as .npz (reuse it with --bank).",
)
@click.option("--overwrite", is_flag=True, help="Write into an output folder that holds files.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def augment(
    crops: Path | None,
    coco: Path | None,
    images: Path | None,
    out: Path,
    bank: Path | None,
    letters: tuple[str, ...],
    models: tuple[str, ...],
    glyphs_per_letter: int | None,
    per_letter: int,
    real_paper: bool,
    copies: int,
    glyphs_per_page: tuple[int, int],
    max_iou: float,
    seed: int,
    save_bank: Path | None,
    overwrite: bool,
    quiet: bool,
) -> None:
    """Expand a dataset on disk with synthetic glyphs.

    Crop datasets (--crops DIR): the letter tree is copied to --out and --per-letter
    synthetic glyphs are added for every letter of the bank, as PNG crops
    <letter>/synthetic_<letter>_<seed>_<n>.png (metadata.csv gets a row per crop, group
    "synthetic").

    Page datasets (--coco FILE --images DIR): the images and annotations are copied to
    --out and --copies augmented copies of every page are added, with glyphs pasted into
    free space and their boxes added to the COCO file (categories matched by letter name).

    The glyphs come from a saved bank (--bank), or are decoded from the shipped or Hub
    models of --letters, or from --model sources. Every file is written atomically.
    """
    if (crops is None) == (coco is None):
        raise click.UsageError("Give either --crops DIR or --coco FILE (with --images DIR).")
    if crops is not None and images is not None:
        raise click.UsageError("--images goes with --coco, not with --crops.")
    letter_list = _split_letters(letters)
    if sum(bool(x) for x in (bank, letter_list, models)) != 1:
        raise click.UsageError(SOURCE_HELP)

    lo, hi = glyphs_per_page
    if lo > hi:
        raise click.BadParameter(
            f"Expected MIN <= MAX. Received {lo} {hi}", param_hint="--glyphs-per-page"
        )

    from glyphvae.augment.dataset import augment_coco, augment_crop_tree, check_out, make_bank

    if coco is not None and images is None:
        images = coco.parent
    src = crops if crops is not None else images
    check_out(out, [] if src is None else [src], overwrite)  # before any bank is decoded
    n_decode = glyphs_per_letter or (max(per_letter, 1) if crops is not None else 256)
    glyphs = make_bank(bank, letter_list, models, n_per_letter=n_decode, seed=seed)
    if save_bank is not None:
        glyphs.save(save_bank)
        click.echo(f"Saved the bank ({glyphs!r}) to {save_bank}")
    if crops is not None:
        report = augment_crop_tree(
            crops,
            out,
            glyphs,
            per_letter,
            seed=seed,
            real_paper=real_paper,
            overwrite=overwrite,
            progress=not quiet,
        )
    elif coco is not None:
        report = augment_coco(
            coco,
            images or coco.parent,
            out,
            glyphs,
            copies=copies,
            count_range=glyphs_per_page,
            seed=seed,
            max_iou=max_iou,
            overwrite=overwrite,
            progress=not quiet,
        )
    click.echo(report.summary())


COMMANDS = [augment]
