"""Is a letter model any good? :func:`evaluate_generator` answers with numbers.

Generated glyphs are compared with **real crops of held-out papyri** (never training crops):
the papyri the model's own training run held out, which the letter classifier (trained with
the same seed) never saw either.

========================  ===============================================================
figure                    meaning
========================  ===============================================================
recognised                share of generated glyphs the letter classifier assigns to the
                          letter, next to its accuracy on the real held-out crops
KID                       kernel inception distance in the classifier's feature space
                          (x 1000; 0 = same distribution)
precision / recall        improved precision and recall (Kynkäänniemi et al. 2019), k = 3
sharpness ratio           mean variance of the Laplacian, generated / real held-out, next to
                          real training / real held-out (papyri differ in scan sharpness)
colour                    mean RGB; CIE76 ΔE of generated vs held-out next to training vs
                          held-out (the natural shift between papyri)
memorisation              median distance of each generated glyph to its nearest training
                          crop vs the same for real held-out crops; "copies" are generated
                          glyphs much closer to one training crop than to any other
                          (nearest / second-nearest distance < 0.6, see ``copy_ratio``)
========================  ===============================================================
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from glyphvae.data.dataset import GlyphSet, load_glyphs
from glyphvae.letters import LETTERS, resolve_letter
from glyphvae.metrics import (
    COPY_RATIO_THRESHOLD,
    copy_ratio,
    delta_e,
    kernel_inception_distance,
    laplacian_variance,
    mean_lab,
    nearest_neighbour_distances,
    precision_recall,
)

__all__ = ["evaluate_generator", "format_report", "heldout_split", "save_sheet"]


def heldout_split(
    data: str | os.PathLike[str],
    letter: str,
    image_size: int,
    metadata: dict[str, Any] | None = None,
    seed: int = 0,
    val_fraction: float = 0.15,
    min_side: int = 16,
) -> tuple[GlyphSet, GlyphSet]:
    """Load a letter's crops and split them into (training, held-out) as the model's run did.

    The seed, validation fraction and minimum side come from the model's ``metadata.json``
    (``metadata["training"]``) when given, so the held-out papyri are exactly the ones the
    model never saw; the recorded held-out papyri are checked against the recomputed ones.
    """
    training = (metadata or {}).get("training", {})
    seed = int(training.get("seed", seed))
    val_fraction = float(training.get("val_fraction", val_fraction))
    min_side = int(training.get("min_side", min_side))
    glyphs = load_glyphs(data, letter, image_size=image_size, min_side=min_side, progress=False)
    train, held = glyphs.split(val_fraction, seed=seed)
    recorded = (metadata or {}).get("data", {}).get("split", {}).get("val_groups")
    if recorded is not None and sorted({str(g) for g in held.groups}) != sorted(recorded):
        warnings.warn(
            "The held-out papyri recomputed from the data differ from those recorded with "
            "the model (the data changed?); figures may include papyri the model saw.",
            UserWarning,
            stacklevel=2,
        )
    if len(held) < 4:
        raise ValueError(
            f"Expected at least 4 held-out crops of {letter!r} to evaluate against. "
            f"Received {len(held)}; use a larger dataset or val_fraction."
        )
    return train, held


def evaluate_generator(
    model: Any,
    classifier: Any,
    train: GlyphSet,
    heldout: GlyphSet,
    n: int = 500,
    seed: int = 0,
    temperature: float | None = None,
    prior: str = "auto",
    texture: bool | None = None,
) -> dict[str, Any]:
    """Compute every quality figure of a letter model against real held-out crops.

    Args:
        model: A trained :class:`~glyphvae.models.GlyphVAE`.
        classifier: A trained :class:`~glyphvae.classifier.LetterClassifier`.
        train: The model's training crops (for the memorisation check).
        heldout: Real crops of the same letter from held-out papyri.
        n: Number of glyphs to generate.
        seed: Seed of the generated glyphs.
        temperature: Prior temperature (default: the model's ``sample_temperature``).
        prior: ``"auto"``, ``"mixture"`` or ``"standard"`` (see ``GlyphVAE.sample_latents``).
        texture: Add the model's residual texture (``None``: if it has one; ``False``: the
            plain decoder means, see ``GlyphVAE.generate``).

    Returns:
        A JSON-ready report (see the module docstring for the figures).
    """
    letter = resolve_letter(model.letter or heldout.letters[0])
    if temperature is None:
        temperature = float(getattr(model, "sample_temperature", 1.0))
    index = LETTERS[letter].index
    options = {} if texture is None else {"texture": texture}
    generated = model.generate(n, seed=seed, temperature=temperature, prior=prior, **options)
    textured = bool(getattr(model, "texture_fitted", False)) and texture is not False
    real = heldout.images.astype(np.float32) / 255.0
    train_images = train.images.astype(np.float32) / 255.0

    gen_pred = classifier.predict_proba(generated).argmax(axis=1)
    real_pred = classifier.predict_proba(real).argmax(axis=1)
    gen_feat, real_feat = classifier.embed(generated), classifier.embed(real)
    kid_mean, kid_std = kernel_inception_distance(real_feat, gen_feat, seed=seed)
    precision, recall = precision_recall(real_feat, gen_feat, k=3, seed=seed)

    sharp_gen = float(laplacian_variance(generated).mean())
    sharp_real = float(laplacian_variance(real).mean())
    sharp_train = float(laplacian_variance(train_images).mean())

    lab_gen, lab_held, lab_train = mean_lab(generated), mean_lab(real), mean_lab(train_images)
    de_gen_held = delta_e(lab_gen, lab_held)
    de_train_held = delta_e(lab_train, lab_held)

    gen_nn, _ = nearest_neighbour_distances(generated, train_images)
    held_nn, _ = nearest_neighbour_distances(real, train_images)
    gen_ratio = copy_ratio(generated, train_images)
    held_ratio = copy_ratio(real, train_images)

    return {
        "letter": letter,
        "n_generated": int(n),
        "n_heldout": len(heldout),
        "n_train": len(train),
        "heldout_papyri": sorted({str(g) for g in heldout.groups if g is not None}),
        "seed": seed,
        "temperature": temperature,
        "prior": "mixture" if prior != "standard" and model.prior_fitted else "standard",
        "texture": textured,
        "recognised": {
            "generated": float(np.mean(gen_pred == index)),
            "real_heldout": float(np.mean(real_pred == index)),
        },
        "kid_x1000": {"mean": 1000 * kid_mean, "std": 1000 * kid_std},
        "precision": precision,
        "recall": recall,
        "sharpness": {
            "generated": sharp_gen,
            "real_heldout": sharp_real,
            "real_train": sharp_train,
            "ratio": sharp_gen / sharp_real if sharp_real > 0 else float("nan"),
            "ratio_train_to_heldout": sharp_train / sharp_real if sharp_real > 0 else float("nan"),
        },
        "colour": {
            "rgb_generated": [float(v) for v in generated.reshape(-1, 3).mean(0)],
            "rgb_heldout": [float(v) for v in real.reshape(-1, 3).mean(0)],
            "rgb_train": [float(v) for v in train_images.reshape(-1, 3).mean(0)],
            "delta_e_generated_heldout": de_gen_held,
            "delta_e_train_heldout": de_train_held,
            "delta_e_generated_train": delta_e(lab_gen, lab_train),
            "ratio": de_gen_held / de_train_held if de_train_held > 0 else float("nan"),
        },
        "memorisation": {
            "median_nn_generated": float(np.median(gen_nn)),
            "median_nn_heldout": float(np.median(held_nn)),
            "min_copy_ratio_generated": float(gen_ratio.min()),
            "min_copy_ratio_heldout": float(held_ratio.min()),
            "copy_ratio_threshold": COPY_RATIO_THRESHOLD,
            "copies": int(np.sum(gen_ratio < COPY_RATIO_THRESHOLD)),
            "copies_heldout": int(np.sum(held_ratio < COPY_RATIO_THRESHOLD)),
        },
    }


def format_report(report: dict[str, Any]) -> str:
    """A readable table of a report from :func:`evaluate_generator`."""
    r = report
    rec, sh, col, mem = r["recognised"], r["sharpness"], r["colour"], r["memorisation"]

    def rgb(v: list[float]) -> str:
        return "(" + ", ".join(f"{x:.3f}" for x in v) + ")"

    rows = [
        (
            "recognised as " + r["letter"],
            f"{rec['generated']:.1%}",
            f"real held-out: {rec['real_heldout']:.1%}",
        ),
        (
            "KID x 1000",
            f"{r['kid_x1000']['mean']:.2f} ± {r['kid_x1000']['std']:.2f}",
            "0 = same distribution",
        ),
        ("precision", f"{r['precision']:.3f}", "share of generated inside the real manifold"),
        ("recall", f"{r['recall']:.3f}", "share of real inside the generated manifold"),
        (
            "sharpness ratio",
            f"{sh['ratio']:.2f}",
            f"Laplacian var {sh['generated']:.1f} vs real {sh['real_heldout']:.1f} "
            f"(real training / held-out: {sh.get('ratio_train_to_heldout', float('nan')):.2f})",
        ),
        (
            "colour ΔE gen/held-out",
            f"{col['delta_e_generated_heldout']:.2f}",
            f"train/held-out: {col['delta_e_train_heldout']:.2f} (ratio {col['ratio']:.2f})",
        ),
        ("mean RGB generated", rgb(col["rgb_generated"]), f"train {rgb(col['rgb_train'])}"),
        (
            "nearest training crop",
            f"{mem['median_nn_generated']:.3f}",
            f"real held-out: {mem['median_nn_heldout']:.3f} (median RMS)",
        ),
        (
            "memorised copies",
            f"{mem['copies']} of {r['n_generated']}",
            f"nearest/2nd-nearest < {mem['copy_ratio_threshold']}; "
            f"lowest {mem['min_copy_ratio_generated']:.2f} (held-out real: "
            f"{mem['min_copy_ratio_heldout']:.2f})",
        ),
    ]
    width = max(len(a) for a, _, _ in rows)
    vwidth = max(len(b) for _, b, _ in rows)
    head = (
        f"{r['letter']}: {r['n_generated']} generated vs {r['n_heldout']} real crops from "
        f"{len(r['heldout_papyri'])} held-out papyri ({r['n_train']} training crops)"
    )
    lines = [head, "-" * len(head)]
    lines += [f"{a:<{width}}  {b:>{vwidth}}  {c}" for a, b, c in rows]
    return "\n".join(lines)


def save_sheet(
    path: str | os.PathLike[str],
    model: Any,
    train: GlyphSet,
    heldout: GlyphSet,
    n: int = 16,
    seed: int = 0,
    temperature: float | None = None,
    texture: bool | None = None,
) -> Path:
    """Write a PNG: real held-out crops, generated glyphs, and generated/nearest-training pairs.

    Rows 1-2: real held-out crops; rows 3-4: generated glyphs; rows 5-6: generated glyphs
    (row 5) above their nearest training crops (row 6). ``texture`` is passed to
    ``model.generate`` when given.
    """
    from glyphvae.data.io import write_image
    from glyphvae.visualize import image_grid

    options = {} if texture is None else {"texture": texture}
    generated = model.generate(2 * n, seed=seed, temperature=temperature, **options)
    real = heldout.images[: 2 * n].astype(np.float32) / 255.0
    _, nn_idx = nearest_neighbour_distances(generated[:n], train.images)
    nearest = train.images[nn_idx].astype(np.float32) / 255.0
    pad = np.ones((2 * n - len(real), *real.shape[1:]), np.float32)
    tiles = np.concatenate([real, pad, generated, generated[:n], nearest])
    return write_image(path, image_grid(tiles, cols=n))
