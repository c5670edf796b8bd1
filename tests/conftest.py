"""Shared fixtures. Environment set before anything imports albumentations or TensorFlow."""

from __future__ import annotations

import os

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from pathlib import Path

import pytest

from tests.helpers import make_crop_tree

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "hellchar"


@pytest.fixture(scope="session")
def hellchar() -> Path:
    """The real Hell-Char crops beside the checkout; tests using it skip when absent."""
    if not (SHARED_DATA / "epsilon").is_dir():
        pytest.skip(f"real crops not found at {SHARED_DATA} (../shared/data/hellchar)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def crop_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny generated letter tree: epsilon and alpha, 24 crops each, 6 papyri."""
    return make_crop_tree(
        tmp_path_factory.mktemp("crops"), letters=("epsilon", "alpha"), per_letter=24, papyri=6
    )


TINY = {"image_size": 32, "latent_dim": 4, "channels": (8, 16), "res_blocks": (0, 1)}
"""Hyperparameters of the tiny model used across tests."""


def tiny_train_config(**changes: object):
    """The tiny model's training settings (2 epochs, batch 8); ``changes`` replace fields."""
    from dataclasses import replace

    from glyphvae.training import TrainConfig

    base = TrainConfig(
        image_size=TINY["image_size"],
        latent_dim=TINY["latent_dim"],
        channels=TINY["channels"],
        res_blocks=TINY["res_blocks"],
        epochs=2,
        batch_size=8,
        kl_warmup_epochs=1,
        val_fraction=0.25,
    )
    return replace(base, **changes)
