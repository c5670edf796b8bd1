"""``glyphvae evaluate``: quality figures of a letter model against held-out papyri."""

from __future__ import annotations

from pathlib import Path

import click

from glyphvae.cli._common import MODEL_HELP, resolve_source


@click.command()
@click.option("--model", "source", default=None, help=MODEL_HELP)
@click.option("--letter", default=None, help="Shortcut for --model <preset of this letter>.")
@click.option(
    "--data",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Dataset with the real crops. Default: $GLYPHVAE_DATA.",
)
@click.option(
    "--classifier",
    default="classifier",
    show_default=True,
    help="Judge: a folder from `glyphvae fit-classifier` or the shipped preset.",
)
@click.option(
    "-n",
    "--num",
    "n",
    type=click.IntRange(10),
    default=500,
    show_default=True,
    help="Glyphs to generate.",
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
    "--report",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the report as JSON here.",
)
@click.option(
    "--sheet",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write a PNG: real vs generated, nearest-neighbour pairs.",
)
def evaluate(
    source: str | None,
    letter: str | None,
    data: Path | None,
    classifier: str,
    n: int,
    seed: int,
    temperature: float | None,
    no_texture: bool,
    report: Path | None,
    sheet: Path | None,
) -> None:
    """Compare generated glyphs with real crops of held-out papyri."""
    from glyphvae.datasets import resolve_data_dir
    from glyphvae.evaluation import evaluate_generator, format_report, heldout_split, save_sheet
    from glyphvae.files import atomic_write_json
    from glyphvae.hub import from_pretrained, read_metadata_of

    src = resolve_source(source, letter)
    model = from_pretrained(src, expected_class="GlyphVAE")
    judge = from_pretrained(classifier, expected_class="LetterClassifier")
    root = resolve_data_dir(data)
    name = model.letter or letter
    if name is None:
        raise click.UsageError("The model does not record its letter; pass --letter.")
    train, held = heldout_split(root, name, model.image_size, metadata=read_metadata_of(src))
    texture = False if no_texture else None
    result = evaluate_generator(
        model, judge, train, held, n=n, seed=seed, temperature=temperature, texture=texture
    )
    click.echo(format_report(result))
    if report is not None:
        atomic_write_json(report, result)
        click.echo(f"Report written to {report}")
    if sheet is not None:
        save_sheet(sheet, model, train, held, seed=seed, temperature=temperature, texture=texture)
        click.echo(f"Sheet written to {sheet}")


COMMANDS = [evaluate]
