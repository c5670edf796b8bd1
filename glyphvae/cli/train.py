"""``glyphvae fit`` and ``glyphvae fit-classifier``: the training commands."""

from __future__ import annotations

from pathlib import Path

import click

from glyphvae._distribute import STRATEGIES
from glyphvae.train_config import TrainConfig

_DEFAULTS = TrainConfig()
SIGMA_MODES = ("learned", "optimal", "fixed")
"""``GlyphVAE``'s ``decoder_sigma`` modes, written out so that ``--help`` imports no Keras."""


@click.command()
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
    "--free-bits",
    type=click.FloatRange(0),
    default=_DEFAULTS.free_bits,
    show_default=True,
    help="Nats per latent dimension not penalised by the KL term (0: off).",
)
@click.option(
    "--decoder-sigma",
    type=click.Choice(SIGMA_MODES),
    default=_DEFAULTS.decoder_sigma,
    show_default=True,
    help="How the decoder's noise scale is set.",
)
@click.option(
    "--prior-components",
    type=click.IntRange(0),
    default=_DEFAULTS.prior_components,
    show_default=True,
    help="Components of the mixture prior fitted after training (0: standard normal).",
)
@click.option(
    "--texture/--no-texture",
    default=_DEFAULTS.texture,
    show_default=True,
    help="Fit the paper and ink grain the decoder leaves out and add it to samples.",
)
@click.option(
    "--adversarial-weight",
    type=click.FloatRange(0),
    default=_DEFAULTS.adversarial_weight,
    show_default=True,
    help="Weight of the patch-adversarial term (0: off, about twice as fast, blurrier).",
)
@click.option(
    "--adversarial-start-epochs",
    type=click.IntRange(0),
    default=_DEFAULTS.adversarial_start_epochs,
    show_default=True,
    help="Epoch at which the adversarial term starts.",
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
@click.option(
    "--jit-compile",
    type=click.Choice(["auto", "on", "off"]),
    default="auto",
    show_default=True,
    help="Compile the training step with XLA (auto: on with a GPU, off on CPU).",
)
@click.option(
    "--steps-per-execution",
    type=click.IntRange(1),
    default=_DEFAULTS.steps_per_execution,
    show_default=True,
    help="Training steps per call into the compiled graph (raise on a fast GPU).",
)
@click.option(
    "--strategy",
    type=click.Choice(STRATEGIES),
    default=_DEFAULTS.strategy,
    show_default=True,
    help="tf.distribute strategy: mirrored = all GPUs here, multiworker = machines from "
    "TF_CONFIG or Slurm; auto picks them when there are several GPUs or a TF_CONFIG. "
    "--batch-size is the global batch.",
)
@click.option(
    "--init-from",
    default=None,
    metavar="SOURCE",
    help="Fine-tune: start from this model's weights (a folder, preset or hf:// repo of the "
    "same architecture), e.g. a base VAE trained on other letters, for a letter with few crops.",
)
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
    free_bits: float,
    decoder_sigma: str,
    prior_components: int,
    texture: bool,
    adversarial_weight: float,
    adversarial_start_epochs: int,
    val_fraction: float,
    min_side: int,
    seed: int,
    sample_every: int,
    no_augment: bool,
    mixed_precision: bool,
    jit_compile: str,
    steps_per_execution: int,
    strategy: str,
    init_from: str | None,
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
        free_bits=free_bits,
        decoder_sigma=decoder_sigma,
        prior_components=prior_components,
        texture=texture,
        adversarial_weight=adversarial_weight,
        adversarial_start_epochs=adversarial_start_epochs,
        val_fraction=val_fraction,
        min_side=min_side,
        seed=seed,
        sample_every=sample_every,
        augment=AugmentConfig.none() if no_augment else AugmentConfig(),
        mixed_precision=mixed_precision,
        jit_compile={"auto": None, "on": True, "off": False}[jit_compile],
        steps_per_execution=steps_per_execution,
        strategy=strategy,
    )
    result = fit_letter(
        letter,
        data=data,
        out=out,
        config=config,
        resume=resume,
        overwrite=overwrite,
        verbose=0 if quiet else 1,
        init_from=init_from,
    )
    if quiet:  # no progress bars, but still the summary
        click.echo(
            f"glyphvae: {result.epochs} epochs ({result.train_seconds:.1f} s this run, "
            f"{result.images_per_second:.0f} images/s training); written to {result.out_dir}"
        )


@click.command("fit-classifier")
@click.option(
    "--data",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Letter tree of all letters. Default: $GLYPHVAE_DATA.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("runs/classifier"),
    show_default=True,
)
@click.option("--epochs", type=click.IntRange(1), default=20, show_default=True)
@click.option("--image-size", type=click.IntRange(8), default=32, show_default=True)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Must match the letter models' --seed so that the same papyri are held out.",
)
@click.option(
    "--val-fraction",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=_DEFAULTS.val_fraction,
    show_default=True,
)
@click.option("--quiet", is_flag=True, help="No progress output.")
def fit_classifier_command(
    data: Path | None,
    out: Path,
    epochs: int,
    image_size: int,
    seed: int,
    val_fraction: float,
    quiet: bool,
) -> None:
    """Train the 24-letter classifier that `glyphvae evaluate` uses as its judge."""
    from glyphvae.classifier import fit_classifier

    _, report = fit_classifier(
        data,
        out,
        image_size=image_size,
        epochs=epochs,
        seed=seed,
        val_fraction=val_fraction,
        verbose=0 if quiet else 1,
    )
    click.echo(
        f"Held-out accuracy {report['heldout_accuracy']:.1%} on {report['n_heldout']} crops "
        f"of {len(report['data']['split']['val_groups'])} papyri; classifier written to {out}"
    )


COMMANDS = [fit, fit_classifier_command]
