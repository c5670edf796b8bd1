"""Training one letter's VAE: :func:`fit_letter`, the engine behind ``glyphvae fit``.

What a run writes to its output folder::

    config.json, model.weights.h5, metadata.json   the trained model (plain files)
    history.json                                    per-epoch losses and timings
    samples.png                                     64 new glyphs after training
    reconstructions.png                             held-out crops (top) and their reconstructions
    loss.png                                        training and validation loss per epoch
    samples/epoch_XXXX.png                          grids every N epochs (``sample_every``)
    checkpoints/last.keras, checkpoints/state.json  the last good epoch, for ``resume``
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import time
import warnings
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from glyphvae.data.dataset import GlyphSet, load_glyphs
from glyphvae.data.pipeline import AugmentConfig
from glyphvae.data.preprocess import validate_image_size
from glyphvae.datasets import describe_data, resolve_data_dir
from glyphvae.files import atomic_write_json
from glyphvae.letters import resolve_letter

__all__ = ["FitResult", "NonFiniteLossError", "TrainConfig", "fit_letter", "train_vae"]

logger = logging.getLogger("glyphvae")


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss; the last good checkpoint was kept."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run, stored in ``metadata.json`` and checkpoints.

    Attributes:
        image_size: Side of the square crops, a multiple of 16 from 32 to 256.
        latent_dim: Size of the latent code.
        channels: Convolution widths per resolution level (``None``: the default for
            ``image_size``, see :func:`~glyphvae.models.architecture.default_architecture`).
        res_blocks: Residual blocks per level (``None``: the default for ``image_size``).
        epochs: Passes over the training crops.
        batch_size: Crops per optimizer step.
        learning_rate: Adam learning rate.
        kl_weight: Weight (beta) of the KL term.
        kl_warmup_epochs: Epochs over which the KL weight ramps up from 0.
        free_bits: Nats per latent dimension not penalised (0 = off).
        decoder_sigma: ``"learned"``, ``"optimal"`` or ``"fixed"`` (see ``GlyphVAE``).
        prior_components: Components of the mixture prior fitted to the training codes at
            the end of training (0: sample a standard normal).
        adversarial_weight: Weight of the patch-adversarial term (0: off).
        adversarial_start_epochs: Epoch at which the adversarial term starts.
        val_fraction: Share of crops held out for validation, by papyrus when known.
        min_side: Crops with a shorter side below this many pixels are dropped.
        seed: Seed of the split, the shuffle, the jitter, weight initialisation and samples.
        augment: Random affine jitter ranges for training batches.
        sample_every: Write a sample grid every N epochs (0 = only at the end).
        mixed_precision: Train in ``mixed_float16`` (GPU only; slower on CPU).
        group_column: ``metadata.csv`` column with the papyrus id (auto-detected if ``None``).
    """

    image_size: int = 64
    latent_dim: int = 32
    channels: tuple[int, ...] | None = None
    res_blocks: tuple[int, ...] | None = None
    epochs: int = 60
    batch_size: int = 32
    learning_rate: float = 2e-3
    kl_weight: float = 1.0
    kl_warmup_epochs: int = 10
    free_bits: float = 0.0
    decoder_sigma: str = "learned"
    prior_components: int = 0
    adversarial_weight: float = 0.0
    adversarial_start_epochs: int = 0
    val_fraction: float = 0.15
    min_side: int = 16
    seed: int = 0
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    sample_every: int = 0
    mixed_precision: bool = False
    group_column: str | None = None

    def __post_init__(self) -> None:
        validate_image_size(self.image_size)
        for name in ("epochs", "batch_size", "latent_dim"):
            if getattr(self, name) < 1:
                raise ValueError(f"Expected `{name}` >= 1. Received: {getattr(self, name)}")
        if not (self.learning_rate > 0 and math.isfinite(self.learning_rate)):
            raise ValueError(f"Expected `learning_rate` > 0. Received: {self.learning_rate}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists)."""
        d = asdict(self)
        for key in ("channels", "res_blocks"):
            if d[key] is not None:
                d[key] = list(d[key])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """Inverse of :meth:`to_dict`; unknown keys are rejected."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(
                f"Expected TrainConfig fields {sorted(names)}. Received unknown {unknown}"
            )
        d = dict(d)
        if "augment" in d and isinstance(d["augment"], dict):
            d["augment"] = AugmentConfig(**d["augment"])
        for key in ("channels", "res_blocks"):
            if d.get(key) is not None:
                d[key] = tuple(d[key])
        return cls(**d)


@dataclass
class FitResult:
    """What :func:`fit_letter` returns.

    Attributes:
        model: The trained :class:`~glyphvae.models.GlyphVAE`.
        out_dir: Folder holding the model files, grids and history.
        history: Per-epoch metrics (``loss``, ``val_loss``, ``mse``, ``kl``, ``sigma``...).
        epochs: Epochs completed in total (including resumed ones).
        images_per_second: Training throughput of this run (training steps only).
        train_seconds: Wall time of this run's ``fit`` call.
    """

    model: Any
    out_dir: Path
    history: dict[str, list[float]]
    epochs: int
    images_per_second: float
    train_seconds: float


def _split_info(train: GlyphSet, val: GlyphSet) -> dict[str, Any]:
    by_group = all(g is not None for g in train.groups + val.groups)
    info: dict[str, Any] = {
        "by": "group" if by_group else "file",
        "n_train": len(train),
        "n_val": len(val),
    }
    if by_group:
        info["train_groups"] = sorted({str(g) for g in train.groups})
        info["val_groups"] = sorted({str(g) for g in val.groups})
    info["val_files"] = sorted(Path(p).name for p in val.paths)
    return info


def _device_summary() -> str:
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return f"{len(gpus)} GPU(s): {', '.join(g.name for g in gpus)}" if gpus else "CPU"


def _build_model(
    cfg: TrainConfig, letter: str, mean_color: list[float], steps_per_epoch: int
) -> Any:
    import keras

    from glyphvae.models import GlyphVAE

    previous = keras.config.dtype_policy()
    if cfg.mixed_precision:
        keras.config.set_dtype_policy("mixed_float16")
    try:
        model = GlyphVAE(
            image_size=cfg.image_size,
            latent_dim=cfg.latent_dim,
            channels=cfg.channels,
            res_blocks=cfg.res_blocks,
            kl_weight=cfg.kl_weight,
            kl_warmup_steps=cfg.kl_warmup_epochs * steps_per_epoch,
            free_bits=cfg.free_bits,
            decoder_sigma=cfg.decoder_sigma,
            mean_color=mean_color,
            prior_components=cfg.prior_components,
            adversarial_weight=cfg.adversarial_weight,
            adversarial_start_steps=cfg.adversarial_start_epochs * steps_per_epoch,
            letter=letter,
            seed=cfg.seed,
        )
    finally:
        keras.config.set_dtype_policy(previous)
    model.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate, global_clipnorm=1.0))
    return model


def _load_checkpoint(ckpt_dir: Path) -> Any:
    """Load ``last.keras`` (model and optimizer state) in Keras safe mode."""
    import keras

    from glyphvae.callbacks import CHECKPOINT_MODEL
    from glyphvae.models import GlyphVAE  # registers the class with Keras

    return keras.saving.load_model(
        ckpt_dir / CHECKPOINT_MODEL,
        custom_objects={"glyphvae>GlyphVAE": GlyphVAE},
        safe_mode=True,
    )


def _write_outputs(
    model: Any, out: Path, val: GlyphSet, history: dict[str, list[float]], metadata: dict[str, Any]
) -> None:
    from glyphvae.hub import save_pretrained
    from glyphvae.visualize import loss_curve, save_grid

    seed = int(metadata["training"]["seed"])
    save_pretrained(model, out, metadata=metadata)
    atomic_write_json(out / "history.json", history)
    save_grid(out / "samples.png", model.generate(64, seed=seed), cols=8)
    if len(val):
        crops = val.images[:16]
        recon = model.reconstruct(crops)
        save_grid(out / "reconstructions.png", np.concatenate([crops / 255.0, recon]), cols=16)
    series: dict[str, list[float]] = {k: history[k] for k in ("loss", "val_loss") if k in history}
    if series:
        loss_curve(out / "loss.png", series, title=f"{model.letter}: loss per epoch (nats/dim)")


def fit_letter(
    letter: str,
    data: str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] | None = None,
    config: TrainConfig | None = None,
    resume: bool = False,
    overwrite: bool = False,
    verbose: int = 1,
    callbacks: list[Any] | None = None,
    **overrides: Any,
) -> FitResult:
    """Train a :class:`~glyphvae.models.GlyphVAE` on the crops of one letter.

    Args:
        letter: The letter (any alias: ``"epsilon"``, ``"ε"``, ``"E"``).
        data: Dataset folder (``<data>/<letter>/*.jpg``, or a flat folder of the letter's
            crops). Defaults to ``$GLYPHVAE_DATA``.
        out: Output folder (default ``runs/<letter>``).
        config: Training settings; ``overrides`` replace single fields, e.g. ``epochs=5``.
        resume: Continue from ``<out>/checkpoints`` if present (same settings; ``epochs``
            may be raised to train longer).
        overwrite: Replace an earlier run in ``out`` instead of refusing to touch it.
        verbose: 0 silent, 1 progress bar per epoch, 2 one line per epoch.
        callbacks: Extra Keras callbacks.
        **overrides: Fields of :class:`TrainConfig`.

    Returns:
        A :class:`FitResult`.

    Raises:
        FileNotFoundError: No dataset found, or no crops for the letter.
        FileExistsError: ``out`` holds an earlier run and neither ``resume`` nor
            ``overwrite`` was given.
        NonFiniteLossError: The loss became NaN/inf; the last good checkpoint is kept in
            ``<out>/checkpoints`` and the model files hold its weights.
    """
    import keras

    from glyphvae.callbacks import (
        CheckpointSaver,
        NonFiniteGuard,
        SampleGrids,
        Stopwatch,
        read_checkpoint_state,
    )
    from glyphvae.data.pipeline import make_dataset

    name = resolve_letter(letter)
    out_dir = Path(out) if out is not None else Path("runs") / name
    ckpt_dir = out_dir / "checkpoints"
    state = read_checkpoint_state(ckpt_dir)
    cfg = replace(config or TrainConfig(), **overrides)

    if state is not None and not resume:
        if not overwrite:
            raise FileExistsError(
                f"{out_dir} already holds a training run "
                f"(checkpoint at epoch {state.get('epoch')}). "
                "Pass resume=True (--resume) to continue it, overwrite=True (--overwrite) to "
                "replace it, or choose another output folder."
            )
        shutil.rmtree(ckpt_dir)
        state = None
    if resume and state is not None:
        saved = TrainConfig.from_dict(state["config"])
        if state.get("letter") != name:
            raise ValueError(
                f"Expected to resume a run for {name!r}. Received a checkpoint for "
                f"{state.get('letter')!r} in {ckpt_dir}"
            )
        changed = {
            k: v for k, v in cfg.to_dict().items() if k != "epochs" and saved.to_dict()[k] != v
        }
        if changed and (config is not None or set(overrides) - {"epochs"}):
            warnings.warn(
                f"Resuming with the checkpoint's settings; ignoring changed {sorted(changed)}",
                UserWarning,
                stacklevel=2,
            )
        cfg = replace(saved, epochs=cfg.epochs)
    elif resume:
        logger.info("No checkpoint in %s; starting from scratch", ckpt_dir)

    data_dir = resolve_data_dir(data)
    keras.utils.set_random_seed(cfg.seed)
    glyphs = load_glyphs(
        data_dir,
        name,
        image_size=cfg.image_size,
        min_side=cfg.min_side,
        group_column=cfg.group_column,
        progress=verbose > 0,
    )
    train, val = glyphs.split(cfg.val_fraction, seed=cfg.seed)
    split = _split_info(train, val)
    if verbose:
        print(
            f"glyphvae: {name}: {glyphs.report.summary()} from {data_dir}; "
            f"train {len(train)} / validation {len(val)} (split by {split['by']}); "
            f"training on {_device_summary()}",
            flush=True,
        )
    steps_per_epoch = math.ceil(len(train) / cfg.batch_size)

    if resume and state is not None:
        if state.get("split", {}).get("val_files") != split["val_files"]:
            warnings.warn(
                "The data changed since the checkpoint: the validation split differs.",
                UserWarning,
                stacklevel=2,
            )
        model = _load_checkpoint(ckpt_dir)
        initial_epoch = int(state["epoch"])
        history: dict[str, list[float]] = {k: list(v) for k, v in state["history"].items()}
        if verbose:
            print(f"glyphvae: resuming from epoch {initial_epoch} in {ckpt_dir}", flush=True)
    else:
        model = _build_model(cfg, name, train.mean_color(), steps_per_epoch)
        initial_epoch, history = 0, {}

    metadata: dict[str, Any] = {
        "letter": name,
        "training": cfg.to_dict(),
        "data": {**describe_data(data_dir), "split": split, "loaded": glyphs.report.summary()},
    }
    guard, stopwatch = NonFiniteGuard(), Stopwatch()
    saver = CheckpointSaver(
        ckpt_dir,
        state={"letter": name, "config": cfg.to_dict(), "split": split},
        history=history,
        guard=guard,
        stopwatch=stopwatch,
    )
    cbs = [guard, stopwatch, saver, *(callbacks or [])]
    if cfg.sample_every > 0:
        cbs.append(SampleGrids(out_dir / "samples", cfg.sample_every, seed=cfg.seed))

    train_ds = make_dataset(
        train.images, batch_size=cfg.batch_size, training=True, seed=cfg.seed, augment=cfg.augment
    )
    val_ds = (
        make_dataset(val.images, batch_size=cfg.batch_size, training=False) if len(val) else None
    )
    start = time.perf_counter()
    interrupted = False
    try:
        if initial_epoch < cfg.epochs:
            model.fit(
                train_ds,
                validation_data=val_ds,
                epochs=cfg.epochs,
                initial_epoch=initial_epoch,
                callbacks=cbs,
                shuffle=False,  # the tf.data pipeline shuffles (seeded)
                verbose=verbose,
            )
    except KeyboardInterrupt:
        interrupted = True
    seconds = time.perf_counter() - start
    epochs_done = initial_epoch + len(stopwatch.epoch_seconds)
    train_time = sum(stopwatch.epoch_seconds)
    ips = len(train) * len(stopwatch.epoch_seconds) / train_time if train_time > 0 else 0.0

    if guard.failed_at is not None:
        epoch, batch = guard.failed_at
        kept = read_checkpoint_state(ckpt_dir)
        if kept is not None:
            model = _load_checkpoint(ckpt_dir)
            if model.prior_components:
                model.fit_prior(train.images, seed=cfg.seed)
            metadata["training_status"] = f"stopped: non-finite loss at epoch {epoch}"
            _write_outputs(model, out_dir, val, dict(kept["history"]), metadata)
            where = (
                f"the last good checkpoint (epoch {kept['epoch']}) is kept in {ckpt_dir} "
                f"and the model files in {out_dir} hold its weights"
            )
        else:
            where = "no epoch had completed, so there is no checkpoint"
        raise NonFiniteLossError(
            f"Training stopped: the loss became {guard.bad_value} at epoch {epoch}, batch {batch}; "
            f"{where}. Try a lower learning rate (now {cfg.learning_rate}) or a smaller image size."
        )

    if model.prior_components:
        model.fit_prior(train.images, seed=cfg.seed)
    metadata["training_status"] = "interrupted" if interrupted else "complete"
    metadata["epochs_completed"] = epochs_done
    metadata["images_per_second"] = round(ips, 1)
    metadata["final_metrics"] = {k: v[-1] for k, v in history.items() if v}
    _write_outputs(model, out_dir, val, history, metadata)
    if verbose:
        print(
            f"glyphvae: {epochs_done} epochs in {seconds:.1f} s ({ips:.0f} images/s training); "
            f"model, samples.png, loss.png and history.json written to {out_dir}",
            flush=True,
        )
    if interrupted:
        raise KeyboardInterrupt(f"Training interrupted; progress saved in {out_dir}")
    return FitResult(
        model=model,
        out_dir=out_dir,
        history=history,
        epochs=epochs_done,
        images_per_second=ips,
        train_seconds=seconds,
    )


def train_vae(
    images: np.ndarray,
    letter: str,
    config: TrainConfig | None = None,
    init_from: Any | None = None,
    min_steps: int = 0,
    verbose: int = 0,
    **overrides: Any,
) -> Any:
    """Train a :class:`~glyphvae.models.GlyphVAE` on in-memory crops; no files, no split.

    The building block for experiments (e.g. the low-data setting of
    :mod:`glyphvae.downstream`); :func:`fit_letter` is the full, resumable, file-writing run.

    Args:
        images: ``uint8`` RGB crops ``(n, s, s, 3)`` with ``s == config.image_size``.
        letter: The letter (any alias), recorded in the model.
        config: Training settings (``val_fraction`` and output options are ignored).
        init_from: A trained model of the same architecture to start from (fine-tuning);
            its weights are copied, the optimizer starts fresh.
        min_steps: Train for at least this many optimizer steps (raises the epoch count
            for small sets).
        verbose: Keras verbosity.
        **overrides: Fields of :class:`TrainConfig`.

    Returns:
        The trained model (mixture prior fitted if ``prior_components > 0``).
    """
    import keras

    from glyphvae.data.pipeline import make_dataset

    cfg = replace(config or TrainConfig(), **overrides)
    name = resolve_letter(letter)
    arr = np.asarray(images)
    if arr.ndim != 4 or arr.shape[1:] != (cfg.image_size, cfg.image_size, 3) or not len(arr):
        raise ValueError(
            f"Expected uint8 crops (n, {cfg.image_size}, {cfg.image_size}, 3). Received {arr.shape}"
        )
    keras.utils.set_random_seed(cfg.seed)
    steps_per_epoch = math.ceil(len(arr) / cfg.batch_size)
    epochs = max(cfg.epochs, math.ceil(min_steps / steps_per_epoch))
    mean_color = [float(v) for v in arr.reshape(-1, 3).mean(axis=0) / 255.0]
    model = _build_model(cfg, name, mean_color, steps_per_epoch)
    if init_from is not None:
        if init_from.get_config()["channels"] != model.get_config()["channels"]:
            raise ValueError("Expected `init_from` to have the same architecture as `config`.")
        model.set_weights(init_from.get_weights())
    ds = make_dataset(
        arr, batch_size=cfg.batch_size, training=True, seed=cfg.seed, augment=cfg.augment
    )
    model.fit(ds, epochs=epochs, shuffle=False, verbose=verbose)
    if model.prior_components:
        model.fit_prior(arr, seed=cfg.seed)
    return model
