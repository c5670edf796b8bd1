"""``glyphvae sample``: new glyphs from a model, as a PNG grid and optionally one file each."""

from __future__ import annotations

from pathlib import Path

import click

from glyphvae.cli._common import MODEL_HELP, resolve_source


@click.command()
@click.option("--model", "source", default=None, help=MODEL_HELP)
@click.option("--letter", default=None, help="Shortcut for --model <preset of this letter>.")
@click.option(
    "-n",
    "--num",
    "n",
    type=click.IntRange(1),
    default=64,
    show_default=True,
    help="Number of glyphs.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("samples.png"),
    show_default=True,
    help="PNG grid to write.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--temperature",
    type=click.FloatRange(0),
    default=1.0,
    show_default=True,
    help="Prior scale: <1 more typical, >1 more varied.",
)
@click.option(
    "--cols", type=click.IntRange(1), default=None, help="Glyphs per row (default: square grid)."
)
@click.option(
    "--save-individual",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Also write each glyph as a PNG in this folder.",
)
def sample(
    source: str | None,
    letter: str | None,
    n: int,
    out: Path,
    seed: int,
    temperature: float,
    cols: int | None,
    save_individual: Path | None,
) -> None:
    """Generate new glyphs from a trained model and write a PNG grid."""
    from glyphvae.data.io import write_image
    from glyphvae.hub import from_pretrained
    from glyphvae.visualize import save_grid

    model = from_pretrained(resolve_source(source, letter), expected_class="GlyphVAE")
    images = model.generate(n, seed=seed, temperature=temperature)
    save_grid(out, images, cols=cols)
    if save_individual is not None:
        prefix = model.letter or "glyph"
        for i, img in enumerate(images):
            write_image(save_individual / f"{prefix}_{seed}_{i:05d}.png", img)
        click.echo(f"Wrote {n} glyphs to {save_individual}")
    click.echo(f"Wrote a grid of {n} {model.letter or ''} glyphs to {out}".replace("  ", " "))


COMMANDS = [sample]
