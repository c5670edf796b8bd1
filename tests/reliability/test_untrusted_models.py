"""Models from strangers: loading runs no code from the files, and files that lie are refused.

The threat model is in docs/guides/security.md. Each test plants code that would leave a marker
file if it ever ran, and checks both the clear error and that the marker is absent.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import keras
import numpy as np
import pytest

from glyphvae.callbacks import CHECKPOINT_STATE
from glyphvae.hub import from_pretrained, save_pretrained
from glyphvae.hub.push import _entry, _manifest
from glyphvae.hub.sources import MANIFEST_FILE
from glyphvae.models import GlyphVAE
from glyphvae.saving import load_model
from glyphvae.training import fit_letter
from tests.conftest import TINY


def _marker_lambda(marker: Path) -> keras.layers.Lambda:
    """A layer whose code (a Python lambda, stored as bytecode) writes ``marker`` if it runs."""
    path = str(marker)
    return keras.layers.Lambda(lambda x: (Path(path).write_text("ran"), x)[1], name="payload")


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    model = GlyphVAE(letter="epsilon", adversarial_weight=0.0, **TINY)
    return save_pretrained(model, tmp_path / "epsilon")


def _rewrite_config(folder: Path, **changes) -> None:
    doc = json.loads((folder / "config.json").read_text())
    doc.update(changes)
    (folder / "config.json").write_text(json.dumps(doc))


@pytest.mark.parametrize("class_name", ["Lambda", "Functional", "os.system", "builtins.eval"])
def test_a_config_naming_any_other_class_is_refused(model_dir, class_name):
    _rewrite_config(model_dir, class_name=class_name)
    with pytest.raises(ValueError, match=r"Expected class_name in \['GlyphVAE', 'LetterClass"):
        from_pretrained(model_dir)


def test_serialised_code_inside_a_hyperparameter_is_never_deserialised(model_dir, tmp_path):
    marker = tmp_path / "marker"
    payload = keras.saving.serialize_keras_object(_marker_lambda(marker))
    assert "code" in json.dumps(payload)  # Keras stores the function's bytecode
    doc = json.loads((model_dir / "config.json").read_text())
    doc["config"]["mean_color"] = payload
    (model_dir / "config.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="Invalid model configuration"):
        from_pretrained(model_dir)
    doc["config"]["payload"] = payload  # an extra key is refused by name, before building
    (model_dir / "config.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=r"unknown keys: \['payload'\]"):
        from_pretrained(model_dir)
    assert not marker.exists()


def test_a_checkpoint_archive_with_a_lambda_layer_is_refused_on_resume(crop_tree, tmp_path):
    marker, out = tmp_path / "marker", tmp_path / "run"
    inputs = keras.Input((32, 32, 3))
    evil = keras.Model(inputs, _marker_lambda(marker)(inputs))
    (out / "checkpoints").mkdir(parents=True)
    evil.save(out / "checkpoints" / "epoch-0001.keras")
    marker.unlink()  # building the model here ran the lambda once
    state = {"letter": "epsilon", "epoch": 1, "model": "epoch-0001.keras", "history": {}}
    state["config"] = {"epochs": 2, "image_size": 32}
    (out / "checkpoints" / CHECKPOINT_STATE).write_text(json.dumps(state))
    with pytest.raises(ValueError, match=r"(?i)lambda"):
        fit_letter("epsilon", data=crop_tree, out=out, epochs=2, resume=True, verbose=0)
    assert not marker.exists()


def test_hyperparameters_asking_for_a_huge_model_are_refused_before_allocating(model_dir):
    doc = json.loads((model_dir / "config.json").read_text())
    doc["config"].update(latent_dim=1024, channels=[4096, 4096], res_blocks=[8, 8])
    (model_dir / "config.json").write_text(json.dumps(doc))
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"at most 200,000,000 weights.*about 10,888,720,384"):
        load_model(model_dir)
    assert time.perf_counter() - start < 5  # nothing was built
    doc = {"format_version": 1, "class_name": "LetterClassifier", "config": {"width": 10**5}}
    (model_dir / "config.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=r"classifier of at most 200,000,000 weights"):
        load_model(model_dir)


def _lying_repo(tmp_path: Path, epsilon: Path, alpha: Path, swap: bool, **lies) -> Path:
    """A repo folder whose manifest lies, its checksums all right: with ``swap`` the alpha
    model is filed as epsilon and the reverse; ``lies`` overwrite fields of the epsilon entry.
    """
    repo = tmp_path / "repo"
    shutil.rmtree(repo, ignore_errors=True)
    for folder in (epsilon, alpha):
        shutil.copytree(folder, repo / folder.name)
    eps, alp = ("alpha", "epsilon") if swap else ("epsilon", "alpha")
    entries = {
        "epsilon": _entry(repo / eps, eps, {"letter": "epsilon", "image_size": 32}),
        "alpha": _entry(repo / alp, alp, {"letter": "alpha", "image_size": 32}),
    }
    entries["epsilon"].update(lies)
    (repo / MANIFEST_FILE).write_text(json.dumps(_manifest(entries)))
    return repo


def test_a_manifest_that_lies_is_refused(model_dir, tmp_path):
    alpha = save_pretrained(
        GlyphVAE(letter="alpha", adversarial_weight=0.0, **TINY), tmp_path / "alpha"
    )
    repo = _lying_repo(tmp_path, model_dir, alpha, swap=True)
    for letter in ("epsilon", "ε", "alpha"):
        with pytest.raises(ValueError, match=r"to be letter '(epsilon|alpha)'.*do not match"):
            from_pretrained(repo, letter=letter)
    # a manifest that claims another image size or class for a folder
    for lie, message in (({"image_size": 64}, "image_size 64"), ({"class_name": "X"}, "'X'")):
        repo = _lying_repo(tmp_path, model_dir, alpha, swap=False, **lie)
        with pytest.raises(ValueError, match=message):
            from_pretrained(repo, letter="epsilon")
    # a manifest that points outside its folder
    doc = json.loads((repo / MANIFEST_FILE).read_text())
    doc["models"]["epsilon"]["path"] = "../../etc"
    (repo / MANIFEST_FILE).write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="plain file names"):
        from_pretrained(repo, letter="epsilon")
    # and the honest copy loads
    honest = from_pretrained(model_dir)
    assert honest.letter == "epsilon" and np.isfinite(honest.generate(2, seed=0)).all()
