"""``glyphvae sample`` (a PNG grid of new glyphs) and ``glyphvae generate`` (bulk, in shards)."""

from __future__ import annotations

from pathlib import Path

import click

from glyphvae.bulk import FORMATS, MANIFEST_FILE
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
    default=None,
    help="Prior scale: <1 more typical, >1 more varied. Default: the model's own.",
)
@click.option(
    "--no-texture",
    is_flag=True,
    help="Leave out the model's residual texture (paper and ink grain): plain decoder means.",
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
    temperature: float | None,
    no_texture: bool,
    cols: int | None,
    save_individual: Path | None,
) -> None:
    """Generate new glyphs from a trained model and write a PNG grid."""
    from glyphvae.data.io import write_image
    from glyphvae.hub import from_pretrained
    from glyphvae.visualize import save_grid

    model = from_pretrained(resolve_source(source, letter), expected_class="GlyphVAE")
    images = model.generate(
        n, seed=seed, temperature=temperature, texture=False if no_texture else None
    )
    save_grid(out, images, cols=cols)
    if save_individual is not None:
        prefix = model.letter or "glyph"
        for i, img in enumerate(images):
            write_image(save_individual / f"{prefix}_{seed}_{i:05d}.png", img)
        click.echo(f"Wrote {n} glyphs to {save_individual}")
    click.echo(f"Wrote a grid of {n} {model.letter or ''} glyphs to {out}".replace("  ", " "))


@click.command()
@click.option("--model", "source", default=None, help=MODEL_HELP)
@click.option("--letter", default=None, help="Shortcut for --model <preset of this letter>.")
@click.option(
    "-n",
    "--num",
    "n",
    type=click.IntRange(1),
    required=True,
    help="Glyphs in the whole job (all shards together).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Output folder: shards, their sidecars and manifest.json.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="npz",
    show_default=True,
    help="npz: uint8 arrays; png: a folder of PNGs per shard; tfrecord: tf.train.Example.",
)
@click.option(
    "--shards",
    type=click.IntRange(1),
    default=1,
    show_default=True,
    help="Number of shards the glyphs are split into (near-equal sizes).",
)
@click.option(
    "--shard-index",
    "shard_indices",
    type=int,
    multiple=True,
    help="Generate only this shard (0-based; repeat for several). Default: every shard.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the whole job.")
@click.option(
    "--batch-size",
    type=click.IntRange(1),
    default=256,
    show_default=True,
    help="Codes decoded per forward pass (keep it fixed within a job).",
)
@click.option(
    "--temperature",
    type=click.FloatRange(0),
    default=None,
    help="Prior scale: <1 more typical, >1 more varied. Default: the model's own.",
)
@click.option(
    "--no-texture",
    is_flag=True,
    help="Leave out the model's residual texture (paper and ink grain): plain decoder means.",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def generate(
    source: str | None,
    letter: str | None,
    n: int,
    out: Path,
    fmt: str,
    shards: int,
    shard_indices: tuple[int, ...],
    seed: int,
    batch_size: int,
    temperature: float | None,
    no_texture: bool,
    quiet: bool,
) -> None:
    """Generate many glyphs in shards that processes or machines can make in parallel.

    Shard i of a job depends only on the model, --seed, -n, --shards and i, so running
    every shard in one process or each --shard-index in its own process (all writing to
    the same --out) gives identical files. Complete shards are skipped on a re-run, so an
    interrupted job resumes. Each shard is written atomically with a sidecar
    shard-NNNNN.json; manifest.json lists every shard present with its sha256.
    """
    from glyphvae.bulk import generate_shards

    manifest = generate_shards(
        resolve_source(source, letter),
        n,
        out,
        shards=shards,
        shard_indices=shard_indices or None,
        fmt=fmt,
        seed=seed,
        batch_size=batch_size,
        temperature=temperature,
        progress=not quiet,
        texture=not no_texture,
    )
    click.echo(
        f"{manifest['shards_present']} of {shards} shards ({manifest['glyphs_present']} of {n} "
        f"glyphs) in {out}; manifest: {out / MANIFEST_FILE}"
    )


COMMANDS = [sample, generate]
