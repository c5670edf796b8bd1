"""``TrainConfig``: everything that defines a training run of :func:`glyphvae.fit_letter`.

It is stored in each run's ``metadata.json`` and checkpoint, so a run can be resumed with the
same settings and reproduced from its files. Importing it loads no TensorFlow.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from glyphvae._distribute import STRATEGIES
from glyphvae.data.pipeline import AugmentConfig
from glyphvae.data.preprocess import validate_image_size

__all__ = ["RUNTIME_FIELDS", "TrainConfig"]

RUNTIME_FIELDS = ("epochs", "jit_compile", "steps_per_execution", "strategy")
"""Settings that may change when a run is resumed (how long, and how fast, not what)."""


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
        batch_size: Crops per optimizer step: the *global* batch, split evenly across the
            replicas (GPUs, machines) of a distributed run, so the same ``batch_size`` trains
            the same way on 1 or 8 GPUs. It must be divisible by the number of replicas.
        learning_rate: Adam learning rate.
        kl_weight: Weight (beta) of the KL term.
        kl_warmup_epochs: Epochs over which the KL weight ramps up from 0.
        free_bits: Nats per latent dimension not penalised (0 = off).
        decoder_sigma: ``"learned"``, ``"optimal"`` or ``"fixed"`` (see ``GlyphVAE``).
        texture: Fit the paper and ink texture the decoder leaves out after training, and
            add it to generated glyphs (see :meth:`~glyphvae.models.GlyphVAE.fit_texture`).
        prior_components: Components of the mixture prior fitted to the training codes at
            the end of training (0: sample a standard normal).
        adversarial_weight: Weight of the patch-adversarial term (0: off).
        adversarial_start_epochs: Epoch at which the adversarial term starts.
        val_fraction: Share of crops held out for validation, by papyrus when known.
        min_side: Crops with a shorter side below this many pixels are dropped.
        seed: Seed of the split, the shuffle, the jitter, weight initialisation and samples.
        augment: Random affine jitter ranges for training batches.
        sample_every: Write a sample grid every N epochs (0 = only at the end).
        mixed_precision: Train in ``mixed_float16`` (GPU only; slower on CPU). The optimizer
            is wrapped in a dynamic ``LossScaleOptimizer``; sampling, losses and outputs
            stay ``float32``.
        group_column: ``metadata.csv`` column with the papyrus id (auto-detected if ``None``).
        jit_compile: Compile the training step with XLA: ``None`` is Keras' ``"auto"`` (on
            with a GPU, off on CPU, where XLA is slower for this model).
        steps_per_execution: Training steps per call into the compiled graph; raise it
            (e.g. 8-32) on a fast GPU where per-step Python overhead shows. Callbacks then
            see every ``steps_per_execution``-th batch.
        strategy: ``"auto"``, ``"default"``, ``"mirrored"`` (all GPUs of this machine) or
            ``"multiworker"`` (several machines, from ``TF_CONFIG`` or Slurm); ``"auto"`` picks
            multi-worker when ``TF_CONFIG`` is set, mirrored with more than one GPU, else
            the default single device. See "Distributed training" in :func:`fit_letter`.

    >>> cfg = TrainConfig(image_size=32, epochs=5)
    >>> cfg.epochs, cfg.to_dict()["image_size"], cfg.kl_weight
    (5, 32, 1.0)
    >>> TrainConfig.from_dict(cfg.to_dict()) == cfg  # as stored in metadata.json
    True
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
    prior_components: int = 10
    texture: bool = True
    adversarial_weight: float = 1.0
    adversarial_start_epochs: int = 10
    val_fraction: float = 0.15
    min_side: int = 16
    seed: int = 0
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    sample_every: int = 0
    mixed_precision: bool = False
    group_column: str | None = None
    jit_compile: bool | None = None
    steps_per_execution: int = 1
    strategy: str = "auto"

    def __post_init__(self) -> None:
        validate_image_size(self.image_size)
        if self.strategy not in STRATEGIES:
            raise ValueError(f"Expected `strategy` in {STRATEGIES}. Received: {self.strategy!r}")
        for name in ("epochs", "batch_size", "latent_dim", "steps_per_execution"):
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
