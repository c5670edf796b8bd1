"""Fixtures for the Hub tests: a stand-in Hub on 127.0.0.1 and a tiny saved model.

huggingface_hub reads ``HF_ENDPOINT``, ``HF_HOME``, ``HF_HUB_CACHE`` and ``HF_HUB_OFFLINE``
into ``huggingface_hub.constants`` when it is first imported, which in a full test session
happens before this file can pick a free port. So :func:`hf_hub` sets the environment (for
subprocesses) and patches those constants (for this process); it also patches
``HUGGINGFACE_CO_URL_TEMPLATE``, which ``hf_hub_url`` formats without consulting
``ENDPOINT``.
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import TINY
from tests.hub.hf_server import Hub

TOKEN = "hf_stand_in_token"

REPORT = {"letter": "epsilon", "precision": 0.8125, "recall": 0.5, "kid_x1000": {"mean": 1.5}}


@pytest.fixture(scope="session")
def hub_server() -> Iterator[Hub]:
    """One stand-in Hub for the session."""
    with Hub() as hub:
        yield hub


def point_hf_at(monkeypatch: pytest.MonkeyPatch, url: str, home: Path, offline: bool) -> None:
    """Make huggingface_hub (in this process and in children) use ``url`` and ``home``."""
    from huggingface_hub import constants

    env = {
        "HF_ENDPOINT": url,
        "HF_HOME": str(home),
        "HF_HUB_CACHE": str(home / "hub"),
        "HF_HUB_OFFLINE": "1" if offline else "0",
        "HF_TOKEN": TOKEN,
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("GLYPHVAE_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "ENDPOINT", url)
    template = url + "/{repo_id}/resolve/{revision}/{filename}"
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", template)
    monkeypatch.setattr(constants, "HF_HOME", str(home))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(home / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", offline)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", True)


@pytest.fixture
def hf_hub(hub_server: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Hub:
    """The stand-in Hub, emptied, with huggingface_hub pointed at it and an empty cache."""
    hub_server.reset()
    point_hf_at(monkeypatch, hub_server.url, tmp_path / "hf_home", offline=False)
    return hub_server


def go_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Switch huggingface_hub and glyphvae to offline mode, as HF_HUB_OFFLINE=1 at start-up."""
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)


@pytest.fixture(scope="session")
def epsilon_model():
    """A tiny epsilon GlyphVAE (untrained: loading must reproduce it exactly all the same)."""
    from glyphvae.models import GlyphVAE

    return GlyphVAE(**TINY, letter="epsilon", seed=1)


@pytest.fixture(scope="session")
def epsilon_dir(epsilon_model, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The epsilon model saved with Hell-Char metadata, a report and a samples.png."""
    from glyphvae.datasets import HELLCHAR
    from glyphvae.hub import save_pretrained

    out = tmp_path_factory.mktemp("models") / "epsilon"
    data = {**HELLCHAR.to_dict(), "path": "/home/someone/private/hellchar"}
    save_pretrained(epsilon_model, out, metadata={"data": data, "report": REPORT})
    grid = (np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8)
    cv2.imwrite(str(out / "samples.png"), grid)
    return out


@pytest.fixture(scope="session")
def alpha_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny alpha model folder trained on unnamed data (no licence, no samples)."""
    from glyphvae.hub import save_pretrained
    from glyphvae.models import GlyphVAE

    out = tmp_path_factory.mktemp("models") / "alpha"
    model = GlyphVAE(**TINY, letter="alpha", seed=2)
    save_pretrained(model, out, metadata={"final_metrics": {"loss": 0.25, "kl": 3.0}})
    return out


@pytest.fixture(scope="session")
def published(hub_server: Hub, epsilon_dir: Path, alpha_dir: Path, tmp_path_factory) -> dict:
    """Repos pushed once per session with push_to_hub: org/glyphs (epsilon) and org/alphabet
    (alpha and epsilon, from a folder of letter folders)."""
    from glyphvae.hub import push_to_hub

    alphabet = tmp_path_factory.mktemp("runs")
    for folder in (epsilon_dir, alpha_dir):
        shutil.copytree(folder, alphabet / folder.name)
    with pytest.MonkeyPatch.context() as mp:
        hub_server.reset()
        point_hf_at(mp, hub_server.url, tmp_path_factory.mktemp("hf_home"), offline=False)
        push_to_hub(epsilon_dir, "org/glyphs")
        push_to_hub(alphabet, "org/alphabet")
        repos = copy.deepcopy(hub_server.repos)
        hub_server.reset()
    return repos


@pytest.fixture
def hub_with_models(hf_hub: Hub, published: dict) -> Hub:
    """The stand-in Hub holding fresh copies of the :func:`published` repos."""
    hf_hub.repos.update(copy.deepcopy(published))
    return hf_hub


def latent_batch(n: int = 4) -> np.ndarray:
    return np.random.default_rng(7).standard_normal((n, TINY["latent_dim"])).astype(np.float32)


def manifest_of(hub: Hub, repo_id: str) -> dict:
    return json.loads(hub.files(repo_id)["glyphvae.json"])
