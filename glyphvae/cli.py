"""The ``glyphvae`` command line: one click group, one command per job.

TensorFlow and Keras are imported inside command bodies only, so ``glyphvae --help`` and
``glyphvae <command> --help`` answer instantly. Errors become one line on stderr and exit
code 1; ``glyphvae --debug <command>`` shows the full traceback instead.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

import click

from glyphvae.training import TrainConfig

_DEFAULTS = TrainConfig()


class _Group(click.Group):
    """A click group that turns any exception into one clean line (unless ``--debug``)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt as e:
            click.echo(f"Interrupted. {e}".strip(), err=True)
            sys.exit(130)
        except Exception as e:
            if ctx.params.get("debug"):
                raise
            message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise click.ClickException(f"{message} (run with --debug for the traceback)") from e


def _import_tensorflow_quietly() -> None:
    """Import TensorFlow with C++ start-up chatter (CUDA probing on CPU machines) silenced.

    TensorFlow's native logging writes to file descriptor 2 before Python can filter it,
    so the descriptor is pointed at /dev/null for the import and the device probe only.
    Python exceptions still propagate normally.
    """
    if "tensorflow" in sys.modules:
        return
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # no real stderr (e.g. under a test runner)
        return
    saved, devnull = os.dup(fd), os.open(os.devnull, os.O_WRONLY)
    sys.stderr.flush()
    os.dup2(devnull, fd)
    try:
        import tensorflow as tf

        tf.config.list_physical_devices("GPU")
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="glyphvae")
@click.option("--debug", is_flag=True, help="Show full tracebacks and TensorFlow logs.")
def main(debug: bool) -> None:
    """Train per-letter VAEs on glyph crops and sample new glyphs for OCR training sets."""
    if not debug:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO,
        format="glyphvae: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("absl").setLevel(logging.ERROR)
    if not debug and os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "3":
        ctx = click.get_current_context()
        if ctx.invoked_subcommand is not None and not {"--help", "-h"} & set(sys.argv[1:]):
            _import_tensorflow_quietly()


@main.command()
@click.option("--letter", required=True, help="Letter to train: epsilon, Epsilon, ε, E ...")
@click.option(
    "--data",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Dataset folder (<data>/<letter>/*.jpg). Default: $GLYPHVAE_DATA.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Output folder.  [default: runs/<letter>]",
)
@click.option(
    "--image-size",
    type=click.IntRange(32, 256),
    default=_DEFAULTS.image_size,
    show_default=True,
    help="Crop side in pixels (multiple of 16).",
)
@click.option(
    "--latent-dim", type=click.IntRange(1, 1024), default=_DEFAULTS.latent_dim, show_default=True
)
@click.option("--epochs", type=click.IntRange(1), default=_DEFAULTS.epochs, show_default=True)
@click.option(
    "--batch-size", type=click.IntRange(1), default=_DEFAULTS.batch_size, show_default=True
)
@click.option(
    "--learning-rate",
    type=click.FloatRange(0, min_open=True),
    default=_DEFAULTS.learning_rate,
    show_default=True,
)
@click.option(
    "--kl-weight",
    type=click.FloatRange(0),
    default=_DEFAULTS.kl_weight,
    show_default=True,
    help="Beta: weight of the KL term.",
)
@click.option(
    "--kl-warmup-epochs",
    type=click.IntRange(0),
    default=_DEFAULTS.kl_warmup_epochs,
    show_default=True,
)
@click.option(
    "--val-fraction",
    type=click.FloatRange(0, 1, max_open=True),
    default=_DEFAULTS.val_fraction,
    show_default=True,
    help="Share held out for validation (by papyrus when known).",
)
@click.option(
    "--min-side",
    type=click.IntRange(0),
    default=_DEFAULTS.min_side,
    show_default=True,
    help="Drop crops whose shorter side is smaller (pixels).",
)
@click.option("--seed", type=int, default=_DEFAULTS.seed, show_default=True)
@click.option(
    "--sample-every",
    type=click.IntRange(0),
    default=_DEFAULTS.sample_every,
    show_default=True,
    help="Write a sample grid every N epochs (0: only at the end).",
)
@click.option("--no-augment", is_flag=True, help="Disable the random affine jitter.")
@click.option("--mixed-precision", is_flag=True, help="Train in mixed_float16 (GPU only).")
@click.option("--resume", is_flag=True, help="Continue from the checkpoint in --out.")
@click.option("--overwrite", is_flag=True, help="Replace an earlier run in --out.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def fit(
    letter: str,
    data: Path | None,
    out: Path | None,
    image_size: int,
    latent_dim: int,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    kl_weight: float,
    kl_warmup_epochs: int,
    val_fraction: float,
    min_side: int,
    seed: int,
    sample_every: int,
    no_augment: bool,
    mixed_precision: bool,
    resume: bool,
    overwrite: bool,
    quiet: bool,
) -> None:
    """Train a VAE on the crops of one letter (uses the GPU when present)."""
    from glyphvae.data.pipeline import AugmentConfig
    from glyphvae.training import fit_letter

    config = TrainConfig(
        image_size=image_size,
        latent_dim=latent_dim,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        kl_weight=kl_weight,
        kl_warmup_epochs=kl_warmup_epochs,
        val_fraction=val_fraction,
        min_side=min_side,
        seed=seed,
        sample_every=sample_every,
        augment=AugmentConfig.none() if no_augment else AugmentConfig(),
        mixed_precision=mixed_precision,
    )
    fit_letter(
        letter,
        data=data,
        out=out,
        config=config,
        resume=resume,
        overwrite=overwrite,
        verbose=0 if quiet else 1,
    )


@main.command()
@click.option(
    "--model",
    "model_dir",
    required=True,
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    help="A trained model folder (the --out of `glyphvae fit`).",
)
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
    model_dir: Path,
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

    model = from_pretrained(model_dir, expected_class="GlyphVAE")
    images = model.generate(n, seed=seed, temperature=temperature)
    save_grid(out, images, cols=cols)
    if save_individual is not None:
        prefix = model.letter or "glyph"
        for i, img in enumerate(images):
            write_image(save_individual / f"{prefix}_{seed}_{i:05d}.png", img)
        click.echo(f"Wrote {n} glyphs to {save_individual}")
    click.echo(f"Wrote a grid of {n} {model.letter or ''} glyphs to {out}".replace("  ", " "))


if __name__ == "__main__":  # pragma: no cover
    main()
