"""``GlyphVAE``: a small convolutional VAE for one letter's glyph crops.

Design choices that make the failures of fully-connected VAEs impossible:

* **Convolutions, not dense layers, at every resolution**, with nearest-neighbour upsampling
  followed by a 3×3 convolution (no checkerboard), residual blocks whose last convolution
  starts at zero (each block is the identity at initialisation) and group normalisation,
  which behaves the same at batch 2 and batch 256.
* **Mean-reduced losses**: the reconstruction term is a per-dimension Gaussian negative
  log-likelihood and the KL term is divided by the number of image dimensions, so the loss
  scale does not grow with the image size (the old project's sum-reduced BCE × 12288 did).
* **Clamped log-variances**: the encoder's log-variance is soft-clamped to ``[-10, 4]`` and
  the decoder's noise scale to ``[min_sigma, 1]``; ``exp`` can never overflow.
* **Colour from the data**: the output layer's bias starts at the logit of the training
  crops' mean colour, and the model works in RGB end to end (see :mod:`glyphvae.data.io`).
* **Texture from the likelihood**: the decoder's mean has no paper grain, so a model built
  with ``texture=True`` fits the fine detail of its residuals after training
  (:meth:`GlyphVAE.fit_texture`, :mod:`glyphvae.models.texture`) and :meth:`generate`
  adds a fresh draw of it to each glyph: samples as sharp as the crops, not blurred means.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
from keras import ops

from glyphvae.data.preprocess import validate_image_size
from glyphvae.models.architecture import (
    MAX_PARAMETERS,
    approximate_parameters,
    default_architecture,
)
from glyphvae.models.latent_prior import DiagonalGMM, fit_diagonal_gmm
from glyphvae.models.losses import gaussian_nll, kl_per_dim, soft_clamp
from glyphvae.models.networks import build_decoder, build_discriminator, build_encoder
from glyphvae.models.texture import TEXTURE_CUTOFF, ResidualTexture, fit_residual_texture

__all__ = ["GlyphVAE"]

LOGVAR_RANGE = (-10.0, 4.0)
SIGMA_MODES = ("learned", "optimal", "fixed")


@keras.saving.register_keras_serializable(package="glyphvae")
class GlyphVAE(keras.Model):
    """Convolutional variational autoencoder for square RGB glyph crops.

    Train it with ``model.compile(optimizer)`` and ``model.fit(images)`` (the losses live in
    :meth:`compute_loss`), or with :func:`glyphvae.fit_letter` / ``glyphvae fit``.

    Args:
        image_size: Side of the square RGB input in pixels: a multiple of 16 from 32 to 256.
        latent_dim: Size of the latent code.
        channels: Convolution widths, one per resolution level; each level halves the side,
            so ``image_size`` must be divisible by ``2 ** len(channels)``. ``None`` picks
            :func:`~glyphvae.models.architecture.default_architecture` for the image size.
        res_blocks: Residual blocks per level (one int for all levels, or one per level),
            in the encoder and the decoder. Level ``k`` works at side ``image_size / 2**(k+1)``;
            blocks at low resolution are cheap, at full resolution expensive. ``None``: the
            default for the image size when ``channels`` is ``None``, else 0.
        kl_weight: Weight (beta) of the KL term. ``1`` is the true ELBO.
        kl_warmup_steps: Ramp the KL weight linearly from 0 over this many optimizer steps.
        free_bits: Minimum KL (nats, batch-averaged) per latent dimension before it is
            penalised; ``0`` turns it off.
        decoder_sigma: How the decoder's Gaussian noise scale is set: ``"learned"`` (one
            trainable scalar, calibrated to the data), ``"optimal"`` (the closed-form
            maximum-likelihood value, the batch RMSE) or ``"fixed"`` (``sigma``).
        sigma: Initial (``"learned"``) or constant (``"fixed"``) noise scale, in ``(0, 1]``.
        min_sigma: Lower bound of the noise scale; keeps the reconstruction term finite.
        mean_color: RGB mean of the training crops in ``[0, 1]``; the output bias starts
            there so that early samples already have the right paper colour.
        prior_components: Components of the Gaussian-mixture prior fitted to the training
            codes after training (:meth:`fit_prior`); ``0`` samples a standard normal.
        adversarial_weight: Weight of a patch-adversarial term (a small critic judges
            reconstructions and samples against real crops); sharper texture, slower
            training. ``0`` turns it off.
        adversarial_start_steps: Optimizer step at which the adversarial term starts.
        sample_temperature: Default prior temperature of :meth:`generate` (used when no
            temperature is given): below 1 trades variety for typical, recognisable glyphs.
        texture: Hold a residual texture model (fitted after training with
            :meth:`fit_texture`) that :meth:`generate` adds to the decoded means.
        letter: Canonical name of the letter this model draws (metadata, optional).
        seed: Seed of the reparameterisation noise during training.
        **kwargs: Passed to ``keras.Model`` (``name``, ``dtype``, ...).

    >>> model = GlyphVAE(image_size=32, latent_dim=4, channels=(8, 16))
    >>> model.generate(3, seed=0).shape
    (3, 32, 32, 3)
    """

    def __init__(
        self,
        image_size: int = 64,
        latent_dim: int = 32,
        channels: Sequence[int] | None = None,
        res_blocks: int | Sequence[int] | None = None,
        kl_weight: float = 1.0,
        kl_warmup_steps: int = 0,
        free_bits: float = 0.0,
        decoder_sigma: str = "learned",
        sigma: float = 0.1,
        min_sigma: float = 0.01,
        mean_color: Sequence[float] | None = None,
        prior_components: int = 0,
        adversarial_weight: float = 0.0,
        adversarial_start_steps: int = 0,
        sample_temperature: float = 1.0,
        texture: bool = False,
        letter: str | None = None,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        image_size = validate_image_size(image_size)
        default_channels, default_res = default_architecture(image_size)
        if channels is None:
            channels = default_channels
            res_blocks = default_res if res_blocks is None else res_blocks
        elif res_blocks is None:
            res_blocks = 0
        channels = tuple(int(c) for c in channels)
        if isinstance(res_blocks, int | np.integer):
            res_blocks = (int(res_blocks),) * len(channels)
        res_blocks = tuple(int(r) for r in res_blocks)
        if len(res_blocks) != len(channels) or any(r < 0 for r in res_blocks):
            raise ValueError(
                f"Expected `res_blocks` to be a non-negative int or one count per channel level "
                f"({len(channels)}). Received: {res_blocks}"
            )
        if not channels or any(c < 1 for c in channels):
            raise ValueError(f"Expected `channels` to be positive widths. Received: {channels}")
        if image_size % 2 ** len(channels):
            raise ValueError(
                f"Expected `image_size` divisible by 2**len(channels) = {2 ** len(channels)} "
                f"(one halving per channel level). Received image_size={image_size}, "
                f"channels={channels}"
            )
        if latent_dim < 1:
            raise ValueError(f"Expected `latent_dim` >= 1. Received: {latent_dim}")
        weights = approximate_parameters(image_size, int(latent_dim), channels, res_blocks)
        if weights > MAX_PARAMETERS:
            raise ValueError(
                f"Expected a model of at most {MAX_PARAMETERS:,} weights. Received "
                f"hyperparameters that ask for about {weights:,} (latent_dim={latent_dim}, "
                f"channels={channels}, res_blocks={res_blocks})"
            )
        if decoder_sigma not in SIGMA_MODES:
            raise ValueError(
                f"Expected `decoder_sigma` in {SIGMA_MODES}. Received: {decoder_sigma!r}"
            )
        if not 0.0 < min_sigma <= sigma <= 1.0:
            raise ValueError(
                f"Expected 0 < min_sigma <= sigma <= 1. Received min_sigma={min_sigma}, "
                f"sigma={sigma}"
            )
        non_negative = {
            "kl_weight": kl_weight,
            "kl_warmup_steps": kl_warmup_steps,
            "free_bits": free_bits,
            "prior_components": prior_components,
            "adversarial_weight": adversarial_weight,
            "adversarial_start_steps": adversarial_start_steps,
            "sample_temperature": sample_temperature,
        }
        negative = {k: v for k, v in non_negative.items() if not v >= 0}
        if negative:
            raise ValueError(f"Expected non-negative values. Received {negative}")
        if mean_color is not None:
            mean_color = [float(v) for v in mean_color]
            if len(mean_color) != 3 or not all(0.0 <= v <= 1.0 for v in mean_color):
                raise ValueError(
                    f"Expected `mean_color` to be 3 RGB values in [0, 1]. Received: {mean_color}"
                )
        super().__init__(**kwargs)
        self.image_size = image_size
        self.latent_dim = int(latent_dim)
        self.channels = channels
        self.res_blocks = res_blocks
        self.kl_weight = float(kl_weight)
        self.kl_warmup_steps = int(kl_warmup_steps)
        self.free_bits = float(free_bits)
        self.decoder_sigma = decoder_sigma
        self.sigma = float(sigma)
        self.min_sigma = float(min_sigma)
        self.mean_color = mean_color
        self.prior_components = int(prior_components)
        self.adversarial_weight = float(adversarial_weight)
        self.adversarial_start_steps = int(adversarial_start_steps)
        self.sample_temperature = float(sample_temperature)
        self.texture = bool(texture)
        self.letter = letter
        self.seed = seed

        self.encoder = build_encoder(image_size, self.latent_dim, channels, self.res_blocks)
        self.decoder = build_decoder(
            image_size, self.latent_dim, channels, self.res_blocks, mean_color
        )
        self.log_sigma = self.add_weight(
            shape=(),
            initializer=keras.initializers.Constant(math.log(self.sigma)),
            trainable=decoder_sigma == "learned",
            dtype="float32",
            name="log_sigma",
        )
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.recon_tracker = keras.metrics.Mean(name="mse")
        self.kl_tracker = keras.metrics.Mean(name="kl")
        self.sigma_tracker = keras.metrics.Mean(name="sigma")
        if self.prior_components:
            k, d = self.prior_components, self.latent_dim
            self.prior_weights = self.add_weight((k,), "zeros", trainable=False, name="prior_w")
            self.prior_means = self.add_weight((k, d), "zeros", trainable=False, name="prior_mu")
            self.prior_vars = self.add_weight((k, d), "ones", trainable=False, name="prior_var")
        if self.texture:
            half = image_size // 2 + 1
            self.texture_mix = self.add_weight((3, 3), "zeros", trainable=False, name="texture_mix")
            self.texture_amp = self.add_weight(
                (image_size, half, 3), "zeros", trainable=False, name="texture_amp"
            )
        if self.adversarial_weight:
            self.discriminator = build_discriminator(image_size)
            self.d_tracker = keras.metrics.Mean(name="d_loss")
            self.g_tracker = keras.metrics.Mean(name="g_adv")
        self.built = True

    # ------------------------------------------------------------------ Keras plumbing
    def call(self, inputs: Any, training: bool = False) -> dict[str, Any]:
        """Encode, sample ``z`` with the reparameterisation trick, decode.

        Returns:
            A dict with ``reconstruction`` ``(b, s, s, 3)`` and the float32 posterior
            parameters ``z_mean`` and ``z_log_var`` ``(b, latent_dim)``.
        """
        z_mean, z_log_var = self.encoder(inputs, training=training)
        z_mean = ops.cast(z_mean, "float32")
        z_log_var = soft_clamp(ops.cast(z_log_var, "float32"), *LOGVAR_RANGE)
        eps = keras.random.normal(ops.shape(z_mean), dtype="float32", seed=self.seed_generator)
        z = z_mean + ops.exp(0.5 * z_log_var) * eps
        reconstruction = ops.cast(self.decoder(z, training=training), "float32")
        return {"reconstruction": reconstruction, "z_mean": z_mean, "z_log_var": z_log_var}

    def current_kl_weight(self) -> Any:
        """The KL weight at the current optimizer step (after warm-up: ``kl_weight``)."""
        if self.kl_warmup_steps <= 0 or getattr(self, "optimizer", None) is None:
            return ops.convert_to_tensor(self.kl_weight, dtype="float32")
        step = ops.cast(self.optimizer.iterations, "float32")
        return self.kl_weight * ops.minimum(1.0, step / float(self.kl_warmup_steps))

    def compute_loss(
        self,
        x: Any = None,
        y: Any = None,
        y_pred: Any = None,
        sample_weight: Any = None,
        training: bool = True,
    ) -> Any:
        """Negative ELBO per image dimension: Gaussian NLL + beta * KL / (s * s * 3)."""
        target = ops.cast(x, "float32")
        recon = y_pred["reconstruction"]
        mse = ops.mean(ops.square(target - recon), axis=(1, 2, 3))
        log_min = math.log(self.min_sigma)
        if self.decoder_sigma == "optimal":
            log_sigma = 0.5 * ops.log(ops.maximum(ops.mean(mse), self.min_sigma**2))
        else:
            log_sigma = ops.clip(ops.cast(self.log_sigma, "float32"), log_min, 0.0)
        nll = gaussian_nll(target, recon, log_sigma)
        kl_dims = kl_per_dim(y_pred["z_mean"], y_pred["z_log_var"])
        kl = ops.sum(kl_dims, axis=1)
        if self.free_bits > 0:
            kl_term = ops.sum(ops.maximum(ops.mean(kl_dims, axis=0), self.free_bits))
        else:
            kl_term = ops.mean(kl)
        dims = float(self.image_size * self.image_size * 3)
        loss = ops.mean(nll) + self.current_kl_weight() * kl_term / dims
        if self.adversarial_weight and training:
            loss = loss + self._adversarial_loss(target, recon)
        self.recon_tracker.update_state(mse)
        self.kl_tracker.update_state(kl)
        self.sigma_tracker.update_state(ops.exp(log_sigma))
        return loss

    def _adversarial_loss(self, real: Any, recon: Any) -> Any:
        """Patch-adversarial term: hinge loss for the critic, -D(fake) for the generator.

        Both players share one loss and one optimizer. The generator's term is written as
        ``-D(fake) + D(stop_gradient(fake))``: its value is zero and its gradient with
        respect to the critic's weights cancels exactly, so the critic is trained only by
        its own hinge loss, while the generator receives ``-dD(fake)/dfake``.
        The fakes are the reconstructions (as in VQGAN and latent-diffusion autoencoders):
        the reconstruction term anchors them, whereas decoded prior samples, judged by the
        critic alone, collapsed in our tests.
        """
        fake = recon
        d_real = self.discriminator(real, training=True)
        d_fake = self.discriminator(fake, training=True)
        d_fake_fixed = self.discriminator(ops.stop_gradient(fake), training=True)
        d_loss = ops.mean(ops.relu(1.0 - d_real)) + ops.mean(ops.relu(1.0 + d_fake_fixed))
        g_adv = -ops.mean(d_fake)
        g_term = g_adv + ops.mean(d_fake_fixed)
        on = ops.cast(self.optimizer.iterations >= self.adversarial_start_steps, "float32")
        self.d_tracker.update_state(d_loss)
        self.g_tracker.update_state(g_adv)
        return on * (d_loss + self.adversarial_weight * g_term)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "image_size": self.image_size,
                "latent_dim": self.latent_dim,
                "channels": list(self.channels),
                "res_blocks": list(self.res_blocks),
                "kl_weight": self.kl_weight,
                "kl_warmup_steps": self.kl_warmup_steps,
                "free_bits": self.free_bits,
                "decoder_sigma": self.decoder_sigma,
                "sigma": self.sigma,
                "min_sigma": self.min_sigma,
                "mean_color": self.mean_color,
                "prior_components": self.prior_components,
                "adversarial_weight": self.adversarial_weight,
                "adversarial_start_steps": self.adversarial_start_steps,
                "sample_temperature": self.sample_temperature,
                "texture": self.texture,
                "letter": self.letter,
                "seed": self.seed,
            }
        )
        return config

    # ------------------------------------------------------------------ files
    @classmethod
    def from_pretrained(cls, source: str | os.PathLike[str]) -> GlyphVAE:
        """Load a saved model (see :func:`glyphvae.hub.from_pretrained` for the sources)."""
        from glyphvae.hub import from_pretrained

        model: GlyphVAE = from_pretrained(source, expected_class="GlyphVAE")
        return model

    def save_pretrained(
        self, directory: str | os.PathLike[str], metadata: dict[str, Any] | None = None
    ) -> Path:
        """Save as plain files (see :func:`glyphvae.hub.save_pretrained`)."""
        from glyphvae.hub import save_pretrained

        return save_pretrained(self, directory, metadata=metadata)

    # ------------------------------------------------------------------ user methods
    def _as_images(self, images: Any) -> np.ndarray:
        arr = np.asarray(images)
        if arr.ndim == 3:
            arr = arr[None]
        expected = (self.image_size, self.image_size, 3)
        if arr.ndim != 4 or arr.shape[1:] != expected:
            raise ValueError(
                f"Expected images of shape (n, {self.image_size}, {self.image_size}, 3). "
                f"Received {arr.shape}"
            )
        if arr.dtype == np.uint8:
            return arr.astype("float32") / 255.0
        arr = arr.astype("float32")
        if not np.all(np.isfinite(arr)):
            raise ValueError("Expected finite pixel values in [0, 1]. Received NaN or inf")
        return np.clip(arr, 0.0, 1.0)

    def encode(self, images: Any, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
        """Posterior parameters of images.

        Args:
            images: ``(n, s, s, 3)`` or one ``(s, s, 3)`` image; ``uint8`` or float in ``[0, 1]``.
            batch_size: Images per forward pass.

        Returns:
            ``(z_mean, z_log_var)``, each ``float32`` ``(n, latent_dim)``.
        """
        x = self._as_images(images)
        mean, log_var = self.encoder.predict(x, batch_size=batch_size, verbose=0)
        log_var = np.asarray(soft_clamp(np.asarray(log_var, "float32"), *LOGVAR_RANGE))
        return np.asarray(mean, "float32"), log_var.astype("float32")

    def decode(self, z: Any, batch_size: int = 256) -> np.ndarray:
        """Decode latent codes ``(n, latent_dim)`` into ``float32`` RGB images in ``[0, 1]``."""
        codes = np.asarray(z, dtype="float32")
        if codes.ndim == 1:
            codes = codes[None]
        if codes.ndim != 2 or codes.shape[1] != self.latent_dim:
            raise ValueError(
                f"Expected latent codes of shape (n, {self.latent_dim}). Received {codes.shape}"
            )
        if not np.all(np.isfinite(codes)):
            raise ValueError("Expected finite latent codes. Received NaN or inf")
        if len(codes) == 0:
            return np.zeros((0, self.image_size, self.image_size, 3), "float32")
        out = self.decoder.predict(codes, batch_size=batch_size, verbose=0)
        return np.asarray(out, dtype="float32")

    @property
    def prior_fitted(self) -> bool:
        """Whether a mixture prior has been fitted with :meth:`fit_prior`."""
        return bool(self.prior_components) and float(np.sum(self.prior_weights.numpy())) > 0

    def latent_prior(self) -> DiagonalGMM | None:
        """The fitted mixture prior, or ``None`` (then samples come from a standard normal)."""
        if not self.prior_fitted:
            return None
        weights = np.asarray(self.prior_weights.numpy(), np.float64)
        return DiagonalGMM(
            weights=weights / weights.sum(),  # stored as float32: renormalise in float64
            means=np.asarray(self.prior_means.numpy(), np.float64),
            variances=np.asarray(self.prior_vars.numpy(), np.float64),
        )

    def fit_prior(self, images: Any, draws: int = 10, seed: int = 0) -> DiagonalGMM:
        """Fit the mixture prior to the latent codes of ``images`` (the training crops).

        Args:
            images: Training crops ``(n, s, s, 3)``.
            draws: Posterior samples per image (the aggregate posterior is a mixture of the
                per-image posteriors; sampling them, not only their means, keeps its spread).
            seed: Seed of the draws and of the mixture fit.

        Returns:
            The fitted mixture (also stored in the model's weights, so it is saved with them).

        Raises:
            ValueError: If the model was built with ``prior_components=0``.
        """
        if not self.prior_components:
            raise ValueError(
                "Expected a model built with prior_components > 0 to fit a mixture prior. "
                "Received prior_components=0"
            )
        mean, log_var = self.encode(images)
        rng = np.random.default_rng(seed)
        eps = rng.standard_normal((draws, *mean.shape))
        codes = (mean[None] + np.exp(0.5 * log_var)[None] * eps).reshape(-1, self.latent_dim)
        gmm = fit_diagonal_gmm(codes, self.prior_components, seed=seed)
        k = len(gmm.weights)  # fewer than prior_components if there were few codes
        pad = self.prior_components - k
        self.prior_weights.assign(np.pad(gmm.weights, (0, pad)).astype("float32"))
        self.prior_means.assign(np.pad(gmm.means, ((0, pad), (0, 0))).astype("float32"))
        self.prior_vars.assign(
            np.pad(gmm.variances, ((0, pad), (0, 0)), constant_values=1.0).astype("float32")
        )
        return gmm

    @property
    def texture_fitted(self) -> bool:
        """Whether a residual texture has been fitted with :meth:`fit_texture`."""
        return self.texture and float(np.abs(self.texture_amp.numpy()).sum()) > 0

    def residual_texture(self) -> ResidualTexture | None:
        """The fitted residual texture, or ``None`` (then samples are the decoder means)."""
        if not self.texture_fitted:
            return None
        return ResidualTexture(
            mixing=np.asarray(self.texture_mix.numpy(), np.float32),
            amplitude=np.asarray(self.texture_amp.numpy(), np.float32),
        )

    def fit_texture(self, images: Any, cutoff: float = TEXTURE_CUTOFF) -> ResidualTexture:
        """Fit the texture the decoder leaves out: the fine detail of ``images - reconstruction``.

        Args:
            images: Training crops ``(n, s, s, 3)``, at least 2.
            cutoff: Lowest spatial frequency counted as texture, in cycles per pixel (see
                :data:`~glyphvae.models.texture.TEXTURE_CUTOFF`).

        Returns:
            The fitted texture (also stored in the model's weights, so it is saved with them).

        Raises:
            ValueError: If the model was built with ``texture=False``.
        """
        if not self.texture:
            raise ValueError(
                "Expected a model built with texture=True to fit a residual texture. "
                "Received texture=False"
            )
        x = self._as_images(images)
        fitted = fit_residual_texture(x - self.reconstruct(x), cutoff=cutoff)
        self.texture_mix.assign(fitted.mixing)
        self.texture_amp.assign(fitted.amplitude)
        return fitted

    def add_texture(self, images: Any, seed: int | np.random.Generator | None = None) -> np.ndarray:
        """Add a fresh draw of the fitted texture to each decoded image (unchanged if none).

        Args:
            images: Decoder outputs ``(n, s, s, 3)`` in ``[0, 1]``.
            seed: Seed or ``numpy`` Generator of the draws.

        Returns:
            ``float32`` images in ``[0, 1]``.
        """
        x = self._as_images(images)
        texture = self.residual_texture()
        return x if texture is None else texture.apply(x, np.random.default_rng(seed))

    def sample_latents(
        self,
        n: int,
        seed: int | np.random.Generator | None = None,
        temperature: float | None = None,
        prior: str = "auto",
    ) -> np.ndarray:
        """Draw ``n`` latent codes from the prior, scaled by ``temperature``.

        Args:
            n: Number of codes.
            seed: Seed or ``numpy`` Generator.
            temperature: Scale of the standard deviations (default ``sample_temperature``).
            prior: ``"auto"`` (the fitted mixture if there is one, else a standard normal),
                ``"mixture"`` or ``"standard"``.
        """
        if n < 0:
            raise ValueError(f"Expected `n` >= 0. Received: {n}")
        if temperature is None:
            temperature = self.sample_temperature
        if temperature < 0:
            raise ValueError(f"Expected `temperature` >= 0. Received: {temperature}")
        if prior not in ("auto", "mixture", "standard"):
            raise ValueError(f"Expected prior 'auto', 'mixture' or 'standard'. Received {prior!r}")
        rng = np.random.default_rng(seed)  # a Generator is returned as it is
        gmm = self.latent_prior() if prior != "standard" else None
        if prior == "mixture" and gmm is None:
            raise ValueError("Expected a fitted mixture prior (call fit_prior). Received none")
        if gmm is not None:
            return gmm.sample(n, rng, temperature)
        return (rng.standard_normal((n, self.latent_dim)) * temperature).astype("float32")

    def generate(
        self,
        n: int,
        seed: int | np.random.Generator | None = None,
        temperature: float | None = None,
        batch_size: int = 256,
        prior: str = "auto",
        texture: bool | None = None,
    ) -> np.ndarray:
        """Generate ``n`` new glyphs.

        Args:
            n: Number of glyphs.
            seed: Seed (or a ``numpy`` Generator); the same seed gives the same glyphs.
            temperature: Scale of the prior samples; below 1 trades variety for typicality
                (default: the model's ``sample_temperature``).
            batch_size: Codes decoded per forward pass.
            prior: ``"auto"``, ``"mixture"`` or ``"standard"`` (see :meth:`sample_latents`).
            texture: Add the fitted residual texture (:meth:`fit_texture`); ``None``: if
                the model has one. ``False`` gives the decoder means.

        Returns:
            ``float32`` RGB array ``(n, image_size, image_size, 3)`` in ``[0, 1]``.

        Raises:
            ValueError: If ``texture=True`` and the model has no fitted texture.
        """
        fitted = None if texture is False else self.residual_texture()
        if texture and fitted is None:
            raise ValueError(
                "Expected a model with a fitted texture for texture=True (see fit_texture). "
                "Received a model without one"
            )
        rng = np.random.default_rng(seed)  # a Generator is returned as it is
        images = self.decode(self.sample_latents(n, rng, temperature, prior=prior), batch_size)
        if fitted is not None:  # in batches: bounded memory for the FFTs
            for lo in range(0, len(images), batch_size):
                images[lo : lo + batch_size] = fitted.apply(images[lo : lo + batch_size], rng)
        return images

    def reconstruct(self, images: Any, batch_size: int = 256) -> np.ndarray:
        """Encode images to their posterior means and decode them again."""
        mean, _ = self.encode(images, batch_size=batch_size)
        return self.decode(mean, batch_size=batch_size)

    def interpolate(self, start: Any, end: Any, steps: int = 8) -> np.ndarray:
        """Decode ``steps`` points on the line between the latent codes of two images.

        Args:
            start: First image ``(s, s, 3)``.
            end: Last image ``(s, s, 3)``.
            steps: Number of images, endpoints included (at least 2).

        Returns:
            ``float32`` array ``(steps, s, s, 3)``.
        """
        if steps < 2:
            raise ValueError(f"Expected `steps` >= 2. Received: {steps}")
        mean, _ = self.encode(np.stack([self._as_images(start)[0], self._as_images(end)[0]]))
        t = np.linspace(0.0, 1.0, steps, dtype="float32")[:, None]
        return self.decode((1.0 - t) * mean[0] + t * mean[1])
