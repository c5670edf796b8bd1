"""Training one letter's VAE: :func:`fit_letter`, the engine behind ``glyphvae fit``.

What a run writes to its output folder::

    config.json, model.weights.h5, metadata.json   the trained model (plain files)
    history.json                                    per-epoch losses and timings
    samples.png                                     64 new glyphs after training
    reconstructions.png                             held-out crops (top) and their reconstructions
    loss.png                                        training and validation loss per epoch
    samples/epoch_XXXX.png                          grids every N epochs (``sample_every``)
    checkpoints/state.json, checkpoints/epoch-XXXX.keras
                                                    the last good epoch, for ``resume``
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import shutil
import signal
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from glyphvae.data.dataset import GlyphSet, load_glyphs
from glyphvae.datasets import describe_data, resolve_data_dir
from glyphvae.files import atomic_write_json
from glyphvae.letters import resolve_letter
from glyphvae.train_config import RUNTIME_FIELDS, TrainConfig  # TrainConfig: also from here

__all__ = ["FitResult", "NonFiniteLossError", "fit_letter", "train_vae"]

logger = logging.getLogger("glyphvae")


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss; the last good checkpoint was kept.

    >>> try:
    ...     raise NonFiniteLossError("the loss became nan at epoch 3, batch 7")
    ... except FloatingPointError as e:  # a subclass: catch either
    ...     print(type(e).__name__, "-", e)
    NonFiniteLossError - the loss became nan at epoch 3, batch 7
    """


@dataclass
class FitResult:
    """What :func:`fit_letter` returns.

    Attributes:
        model: The trained :class:`~glyphvae.models.GlyphVAE` (after a distributed run, a
            plain single-device copy with the same weights, without optimizer state).
        out_dir: Folder holding the model files, grids and history.
        history: Per-epoch metrics (``loss``, ``val_loss``, ``mse``, ``kl``, ``sigma``...).
        epochs: Epochs completed in total (including resumed ones).
        images_per_second: Training throughput of this run (training steps only; all
            replicas together).
        train_seconds: Wall time of this run's ``fit`` call.

    >>> result = FitResult(
    ...     model=None, out_dir=Path("runs/epsilon"), history={"loss": [0.2, -0.4]},
    ...     epochs=2, images_per_second=150.0, train_seconds=6.5,
    ... )
    >>> result.history["loss"][-1], result.out_dir.name
    (-0.4, 'epsilon')
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
    cfg: TrainConfig, letter: str | None, mean_color: list[float], steps_per_epoch: int
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
            texture=cfg.texture,
            adversarial_weight=cfg.adversarial_weight,
            adversarial_start_steps=cfg.adversarial_start_epochs * steps_per_epoch,
            letter=letter,
            seed=cfg.seed,
        )
    finally:
        keras.config.set_dtype_policy(previous)
    _compile(model, cfg, keras.optimizers.Adam(cfg.learning_rate, global_clipnorm=1.0))
    # Create the optimizer's slots now: made lazily inside the first step, they force
    # TensorFlow to trace the whole training step twice (seconds on a CPU).
    model.optimizer.build(model.trainable_variables)
    return model


def _fit_sampling(model: Any, images: np.ndarray, seed: int = 0) -> None:
    """Fit what sampling needs after training: the mixture prior and the residual texture,
    each if the model was built with one."""
    if model.prior_components:
        model.fit_prior(images, seed=seed)
    if model.texture:
        model.fit_texture(images)


def _resolve_init(init_from: Any) -> Any:
    """A model to start from: a model as is, else a source for ``from_pretrained``."""
    if hasattr(init_from, "get_weights"):
        return init_from
    from glyphvae.hub import from_pretrained

    return from_pretrained(init_from, expected_class="GlyphVAE")


def _copy_weights(source: Any, model: Any) -> None:
    """Copy ``source``'s weights into ``model`` (fine-tuning), refusing another architecture."""
    keys = ("image_size", "latent_dim", "channels", "res_blocks", "decoder_sigma", "texture")
    ours, theirs = model.get_config(), source.get_config()
    differ = {k: (theirs.get(k), ours.get(k)) for k in keys if theirs.get(k) != ours.get(k)}
    shapes = [tuple(w.shape) for w in model.weights]
    if differ or shapes != [tuple(w.shape) for w in source.weights]:
        raise ValueError(
            "Expected `init_from` to have the architecture of the training settings. "
            f"Received differences (init_from, settings): {differ or 'in weight shapes'}"
        )
    model.set_weights(source.get_weights())


def _compile(model: Any, cfg: TrainConfig, optimizer: Any) -> None:
    """Compile with the run's speed options (mixed_float16 wraps ``optimizer`` for loss scaling)."""
    model.compile(
        optimizer=optimizer,
        jit_compile="auto" if cfg.jit_compile is None else cfg.jit_compile,
        steps_per_execution=cfg.steps_per_execution,
    )


def _load_checkpoint(ckpt_dir: Path, mixed_precision: bool = False) -> Any:
    """Load the checkpoint's archive (model and optimizer state) in Keras safe mode."""
    import keras

    from glyphvae.callbacks import checkpoint_model_path
    from glyphvae.models import GlyphVAE  # registers the class with Keras

    path = checkpoint_model_path(ckpt_dir)
    previous = keras.config.dtype_policy()
    if mixed_precision:  # the sub-networks are rebuilt under the global policy
        keras.config.set_dtype_policy("mixed_float16")
    try:
        model = keras.saving.load_model(
            path, custom_objects={"glyphvae>GlyphVAE": GlyphVAE}, safe_mode=True
        )
    except Exception as e:  # Keras raises many types for a foreign or damaged archive
        raise ValueError(
            f"Expected a glyphvae training checkpoint in {path}. Loading it (in Keras safe "
            f"mode, which runs no code from the file) failed: {str(e).splitlines()[0]}"
        ) from e
    finally:
        keras.config.set_dtype_policy(previous)
    if not isinstance(model, GlyphVAE) or getattr(model, "optimizer", None) is None:
        raise ValueError(
            f"Expected a glyphvae training checkpoint (a GlyphVAE with its optimizer) in {path}. "
            f"Received a {type(model).__name__}"
        )
    return model


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """While training, SIGTERM (a scheduler pre-empting the job) stops it like Ctrl-C.

    Both then end the same way: the last complete epoch stays checkpointed, the model files
    are written, and ``resume`` continues. Only the main thread can install handlers; in
    other threads this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"stopped by signal {signal.Signals(signum).name}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _remove_stale_temporaries(*folders: Path) -> None:
    """Delete temporary files that a killed run left behind (never trusted, only litter)."""
    for folder in folders:
        for tmp in folder.glob(".tmp-*") if folder.is_dir() else ():
            with contextlib.suppress(OSError):
                tmp.unlink()


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
    init_from: Any | None = None,
    **overrides: Any,
) -> FitResult:
    """Train a :class:`~glyphvae.models.GlyphVAE` on the crops of one letter.

    An epoch is ``len(train) // batch_size`` whole batches of the reshuffled training crops
    (the few left over sit out that epoch, different ones each time), so the training step
    is compiled once, for one batch shape.

    **Distributed training.** ``strategy="mirrored"`` trains on every GPU of this machine;
    ``"multiworker"`` runs one process per machine (each on all its GPUs), the cluster read
    from ``TF_CONFIG`` or, when that is unset, from the Slurm job step. ``batch_size`` is the
    global batch, split evenly over the replicas (it must divide evenly); every worker runs
    the in-memory input pipeline with the same seed and keeps its share of each global batch
    (``AutoShardPolicy.DATA``), and losses and gradient clipping are computed over the global
    batch, so N replicas take the same optimizer steps on the same crops as one process.
    Only the reparameterisation noise differs.
    The chief (task ``chief``, else worker 0) writes checkpoints and files; ``out`` must be on
    a filesystem all workers share, and every worker must find the same checkpoint to
    ``resume``. On Slurm, one task per node:

    ```bash
    #SBATCH --nodes=4 --ntasks-per-node=1 --gpus-per-node=4
    srun glyphvae fit --letter epsilon --data /shared/hellchar \\
        --out /shared/runs/epsilon --strategy multiworker
    ```

    Elsewhere, start the same command on each machine with ``TF_CONFIG`` set, e.g. on the
    second of two: ``TF_CONFIG='{"cluster": {"worker": ["node1:23456", "node2:23456"]},
    "task": {"type": "worker", "index": 1}}'``.

    Args:
        letter: The letter (any alias: ``"epsilon"``, ``"ε"``, ``"E"``).
        data: Dataset folder (``<data>/<letter>/*.jpg``, or a flat folder of the letter's
            crops). Defaults to ``$GLYPHVAE_DATA``.
        out: Output folder (default ``runs/<letter>``).
        config: Training settings; ``overrides`` replace single fields, e.g. ``epochs=5``.
        resume: Continue from ``<out>/checkpoints`` if present (same settings; ``epochs``
            may be raised to train longer, and ``jit_compile``, ``steps_per_execution`` and
            ``strategy`` may change, e.g. to continue on another machine).
        overwrite: Replace an earlier run in ``out`` instead of refusing to touch it.
        verbose: 0 silent, 1 progress bar per epoch, 2 one line per epoch.
        callbacks: Extra Keras callbacks.
        init_from: Start from this model's weights instead of a random initialisation
            (fine-tuning; the optimizer starts fresh): a :class:`~glyphvae.models.GlyphVAE`
            or a source for :func:`~glyphvae.hub.from_pretrained` (a folder, preset or
            ``hf://`` repo), of the architecture ``config`` asks for. Recorded in
            ``metadata.json``; a resumed run continues from its checkpoint instead.
        **overrides: Fields of :class:`TrainConfig`.

    Returns:
        A :class:`FitResult`.

    Raises:
        ValueError: ``batch_size`` not divisible by the number of replicas.
        RuntimeError: The workers of a multi-worker run found different checkpoints, or the
            multi-worker strategy could not start.
        FileNotFoundError: No dataset found, or no crops for the letter.
        FileExistsError: ``out`` holds an earlier run and neither ``resume`` nor
            ``overwrite`` was given.
        ValueError: ``init_from`` has another architecture than ``config``.
        NonFiniteLossError: The loss became NaN/inf; the last good checkpoint is kept in
            ``<out>/checkpoints`` and the model files hold its weights.
        KeyboardInterrupt: Ctrl-C or SIGTERM (e.g. a pre-empted job) stopped training; the
            last complete epoch is checkpointed, the model files hold the current weights
            (``metadata.json`` says ``"training_status": "interrupted"``), and ``resume``
            continues. A kill (SIGKILL, power loss) loses at most the epoch in progress:
            every file is written atomically and the checkpoint is committed last.

    >>> import tempfile, numpy as np
    >>> from glyphvae.data.io import write_image
    >>> root = Path(tempfile.mkdtemp())
    >>> for i in range(8):  # a letter folder of (here: flat grey) crops
    ...     _ = write_image(root / "epsilon" / f"e{i}.png", np.full((40, 30, 3), 0.7))
    >>> result = fit_letter(
    ...     "ε", data=root, out=root / "run", image_size=32, channels=(8, 16), latent_dim=4,
    ...     epochs=1, batch_size=4, verbose=0,
    ... )
    >>> result.epochs, (root / "run" / "model.weights.h5").is_file()
    (1, True)
    >>> result.model.generate(2, seed=0).shape
    (2, 32, 32, 3)
    """
    import keras

    from glyphvae import _distribute as dist
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
    try:
        state = read_checkpoint_state(ckpt_dir)
    except ValueError:
        if resume or not overwrite:
            raise
        state = {}  # a damaged checkpoint folder that `overwrite` replaces
    cfg = replace(config or TrainConfig(), **overrides)

    refuse = state is not None and not resume and not overwrite
    if resume and state is not None:
        saved = TrainConfig.from_dict(state["config"])
        if state.get("letter") != name:
            raise ValueError(
                f"Expected to resume a run for {name!r}. Received a checkpoint for "
                f"{state.get('letter')!r} in {ckpt_dir}"
            )
        changed = {
            k: v
            for k, v in cfg.to_dict().items()
            if k not in RUNTIME_FIELDS and saved.to_dict()[k] != v
        }
        if changed and (config is not None or set(overrides) - set(RUNTIME_FIELDS)):
            warnings.warn(
                f"Resuming with the checkpoint's settings; ignoring changed {sorted(changed)}",
                UserWarning,
                stacklevel=2,
            )
        cfg = replace(saved, **{k: getattr(cfg, k) for k in RUNTIME_FIELDS})
    elif resume:
        logger.info("No checkpoint in %s; starting from scratch", ckpt_dir)

    # The strategy comes first: a multi-worker strategy must exist before TensorFlow runs.
    strategy_name = dist.resolve_strategy_name(cfg.strategy)
    strategy = dist.get_strategy(strategy_name)
    distributed = dist.is_distributed(strategy)
    chief = dist.is_chief(strategy)
    replicas = int(strategy.num_replicas_in_sync)
    if cfg.batch_size % replicas:
        raise ValueError(
            f"Expected `batch_size` divisible by the {replicas} replicas of strategy "
            f"{strategy_name!r} (it is the global batch). Received: {cfg.batch_size}"
        )
    # Every worker must take the same decision (on a shared `out` folder they do).
    start_epoch = int(state["epoch"]) if resume and state is not None else 0
    refusals, epochs_sum, epochs_sq, n_workers = dist.all_workers_sum(
        strategy, [float(refuse), start_epoch, start_epoch**2, 1.0]
    )
    if refusals:
        found = f" (checkpoint at epoch {state.get('epoch')})" if state is not None else ""
        raise FileExistsError(
            f"{out_dir} already holds a training run{found}. "
            "Pass resume=True (--resume) to continue it, overwrite=True (--overwrite) to "
            "replace it, or choose another output folder."
        )
    if epochs_sq * n_workers != epochs_sum**2:
        raise RuntimeError(
            f"Expected every worker to find the same checkpoint in {ckpt_dir}. Received "
            f"epoch {start_epoch} on {dist.task_name(strategy)}, another on other workers: "
            "put `out` on a filesystem that all workers share."
        )
    if state is not None and not resume:  # overwrite
        if chief:
            shutil.rmtree(ckpt_dir, ignore_errors=True)
        state = None
    if chief:
        _remove_stale_temporaries(out_dir, ckpt_dir)

    data_dir = resolve_data_dir(data)
    resuming = resume and state is not None
    base = None
    init_note = (state or {}).get("init_from") if resuming else None
    if init_from is not None and not resuming:  # a resumed run continues its checkpoint
        base = _resolve_init(init_from)
        init_note = (
            str(init_from)
            if isinstance(init_from, (str, os.PathLike))
            else f"a {type(init_from).__name__} in memory"
        )
    keras.utils.set_random_seed(cfg.seed)
    glyphs = load_glyphs(
        data_dir,
        name,
        image_size=cfg.image_size,
        min_side=cfg.min_side,
        group_column=cfg.group_column,
        progress=verbose > 0 and chief,
    )
    train, val = glyphs.split(cfg.val_fraction, seed=cfg.seed)
    split = _split_info(train, val)
    where_run = _device_summary()
    if distributed:
        where_run += (
            f"; strategy {strategy_name}: {replicas} replica(s) on {int(n_workers)} "
            f"worker(s), {cfg.batch_size // replicas} crops per replica per step; "
            f"this is {dist.task_name(strategy)}{' (chief)' if chief else ''}"
        )
    if verbose:
        print(
            f"glyphvae: {name}: {glyphs.report.summary()} from {data_dir}; "
            f"train {len(train)} / validation {len(val)} (split by {split['by']}); "
            f"training on {where_run}",
            flush=True,
        )
    # Whole batches only (the shuffled remainder sits out, a different one each epoch): the
    # training step is traced once, for one batch shape, and no replica gets an empty batch.
    steps_per_epoch = len(train) // cfg.batch_size
    if steps_per_epoch == 0:
        if replicas > 1:
            raise ValueError(
                f"Expected at least `batch_size` ({cfg.batch_size}) training crops to train on "
                f"{replicas} replicas. Received {len(train)}"
            )
        steps_per_epoch = 1  # fewer crops than one batch: one smaller batch per epoch
    crops_per_epoch = min(len(train), steps_per_epoch * cfg.batch_size)

    with strategy.scope():  # variables, optimizer state and compile under the strategy
        if resume and state is not None:
            if state.get("split", {}).get("val_files") != split["val_files"]:
                warnings.warn(
                    "The data changed since the checkpoint: the validation split differs.",
                    UserWarning,
                    stacklevel=2,
                )
            model = _load_checkpoint(ckpt_dir, cfg.mixed_precision)
            _compile(model, cfg, model.optimizer)  # this run's speed options, same state
            initial_epoch = int(state["epoch"])
            history: dict[str, list[float]] = {k: list(v) for k, v in state["history"].items()}
            if verbose:
                print(f"glyphvae: resuming from epoch {initial_epoch} in {ckpt_dir}", flush=True)
        else:
            model = _build_model(cfg, name, train.mean_color(), steps_per_epoch)
            if base is not None:
                _copy_weights(base, model)
            initial_epoch, history = 0, {}
    dist.scale_loss_per_replica(model, strategy)
    dist.clip_after_all_reduce(model.optimizer, strategy)

    metadata: dict[str, Any] = {
        "letter": name,
        "training": cfg.to_dict(),
        "data": {**describe_data(data_dir), "split": split, "loaded": glyphs.report.summary()},
    }
    if init_note is not None:
        metadata["init_from"] = init_note
    if distributed:
        metadata["distribution"] = {
            "strategy": strategy_name,
            "replicas": replicas,
            "workers": int(n_workers),
        }
    guard, stopwatch = NonFiniteGuard(), Stopwatch()
    # non-chief workers save too (saving may read synchronised variables), but to scratch
    scratch = None if chief else Path(tempfile.mkdtemp(prefix="glyphvae-worker-"))
    saver = CheckpointSaver(
        scratch or ckpt_dir,
        state={"letter": name, "config": cfg.to_dict(), "split": split, "init_from": init_note},
        history=history,
        guard=guard,
        stopwatch=stopwatch,
    )
    cbs = [guard, stopwatch, saver, *(callbacks or [])]
    if cfg.sample_every > 0 and chief:
        cbs.append(
            SampleGrids(out_dir / "samples", cfg.sample_every, seed=cfg.seed, local=distributed)
        )

    train_ds = make_dataset(
        train.images, batch_size=cfg.batch_size, training=True, seed=cfg.seed, augment=cfg.augment
    ).take(steps_per_epoch)
    val_images = val.images
    if 0 < len(val_images) % cfg.batch_size < replicas:  # would leave a replica empty
        val_images = val_images[: len(val_images) - len(val_images) % cfg.batch_size]
    val_ds = (
        make_dataset(val_images, batch_size=cfg.batch_size, training=False)
        if len(val_images)
        else None
    )
    if distributed:
        train_ds = dist.shard_by_data(train_ds)
        val_ds = dist.shard_by_data(val_ds) if val_ds is not None else None
    start = time.perf_counter()
    interrupted = False
    try:
        if initial_epoch < cfg.epochs:
            dist.match_distributed_data_order(train_ds, strategy)  # same batches on 1 or N
            with dist.keras_multi_worker_fix(strategy), _sigterm_as_interrupt():
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
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    seconds = time.perf_counter() - start
    epochs_done = initial_epoch + len(stopwatch.epoch_seconds)
    train_time = sum(stopwatch.epoch_seconds)
    ips = crops_per_epoch * len(stopwatch.epoch_seconds) / train_time if train_time > 0 else 0.0

    if guard.failed_at is not None:
        epoch, batch = guard.failed_at
        kept = read_checkpoint_state(ckpt_dir)
        if kept is not None:
            if chief:
                model = _load_checkpoint(ckpt_dir, cfg.mixed_precision)
                _fit_sampling(model, train.images, seed=cfg.seed)
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

    final = dist.local_copy(model) if distributed else model
    _fit_sampling(final, train.images, seed=cfg.seed)
    metadata["training_status"] = "interrupted" if interrupted else "complete"
    metadata["epochs_completed"] = epochs_done
    metadata["images_per_second"] = round(ips, 1)
    metadata["final_metrics"] = {k: v[-1] for k, v in history.items() if v}
    if chief:
        _write_outputs(final, out_dir, val, history, metadata)
    if verbose:
        wrote = (
            f"model, samples.png, loss.png and history.json written to {out_dir}"
            if chief
            else f"the chief wrote the files to {out_dir}"
        )
        print(
            f"glyphvae: {epochs_done} epochs in {seconds:.1f} s ({ips:.0f} images/s training); "
            f"{wrote}",
            flush=True,
        )
    if interrupted:
        raise KeyboardInterrupt(f"Training interrupted; progress saved in {out_dir}")
    return FitResult(
        model=final,
        out_dir=out_dir,
        history=history,
        epochs=epochs_done,
        images_per_second=ips,
        train_seconds=seconds,
    )


def train_vae(
    images: np.ndarray,
    letter: str | None,
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
        letter: The letter (any alias), recorded in the model; ``None`` for a base model
            trained on crops of several letters (a starting point for ``init_from``).
        config: Training settings (``val_fraction`` and output options are ignored).
        init_from: A trained model of the same architecture to start from (fine-tuning;
            its weights are copied, the optimizer starts fresh), or a source for
            :func:`~glyphvae.hub.from_pretrained`.
        min_steps: Train for at least this many optimizer steps (raises the epoch count
            for small sets).
        verbose: Keras verbosity.
        **overrides: Fields of :class:`TrainConfig`.

    Returns:
        The trained model (mixture prior and texture fitted if it has them).
    """
    import keras

    from glyphvae.data.pipeline import make_dataset

    cfg = replace(config or TrainConfig(), **overrides)
    name = None if letter is None else resolve_letter(letter)
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
        _copy_weights(_resolve_init(init_from), model)
    ds = make_dataset(
        arr, batch_size=cfg.batch_size, training=True, seed=cfg.seed, augment=cfg.augment
    )
    model.fit(ds, epochs=epochs, shuffle=False, verbose=verbose)
    _fit_sampling(model, arr, seed=cfg.seed)
    return model
