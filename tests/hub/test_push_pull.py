"""Real HTTP round trips through the stand-in Hub: push, pull, load, cards, offline, damage."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import yaml

from glyphvae.hub import from_pretrained, pull, push_to_hub, read_metadata_of, resolve_model_dir
from glyphvae.model_card import GENERATED_MARKER
from glyphvae.models import GlyphVAE
from tests.conftest import TINY
from tests.hub.conftest import TOKEN, go_offline, latent_batch, manifest_of


def test_push_then_pull_into_an_empty_cache_gives_identical_outputs(
    hf_hub, epsilon_dir, epsilon_model
):
    info = push_to_hub(epsilon_dir, "org/glyphs")
    assert hf_hub.commits_made == 1
    assert info.oid == hf_hub.repos["org/glyphs"].branches["main"]
    files = hf_hub.files("org/glyphs")
    assert sorted(files) == [
        ".gitattributes",
        "README.md",
        "epsilon/config.json",
        "epsilon/metadata.json",
        "epsilon/model.weights.h5",
        "epsilon/samples.png",
        "glyphvae.json",
    ]
    assert json.loads(files["epsilon/metadata.json"])["data"].get("path") is None  # no local paths
    manifest = manifest_of(hf_hub, "org/glyphs")
    assert manifest["letters"] == ["epsilon"] and manifest["image_size"] == TINY["image_size"]
    weights = manifest["models"]["epsilon"]["files"]["model.weights.h5"]
    assert weights["size"] == len(files["epsilon/model.weights.h5"])
    auth = {h.get("Authorization") or h.get("authorization") for _, _, h in hf_hub.requests}
    assert f"Bearer {TOKEN}" in auth  # HF_TOKEN is used

    hf_hub.requests.clear()
    loaded = from_pretrained("hf://org/glyphs", expected_class="GlyphVAE")
    assert any("/resolve/" in path for _, path, _ in hf_hub.requests)  # really downloaded
    z = latent_batch()
    np.testing.assert_array_equal(epsilon_model.decode(z), loaded.decode(z))
    assert loaded.letter == "epsilon"
    assert read_metadata_of("org/glyphs")["report"]["precision"] == 0.8125


def test_the_model_card_has_front_matter_metrics_samples_and_attribution(hub_with_models):
    card = hub_with_models.files("org/glyphs")["README.md"].decode()
    _, front, body = card.split("---", 2)
    meta = yaml.safe_load(front)
    assert meta["library_name"] == "glyphvae"
    assert meta["license"] == "cc-by-4.0"
    assert meta["datasets"] == ["Hell-Char"]
    assert {"glyphvae", "epsilon"} <= set(meta["tags"])
    assert GENERATED_MARKER in body
    assert "| precision | 0.8125 |" in body and "| kid_x1000.mean | 1.5 |" in body
    assert "![epsilon: generated glyphs](epsilon/samples.png)" in body
    assert "Learning Diachronic Representations of Ancient Greek Letterforms" in body
    assert 'from_pretrained("hf://org/glyphs")' in body


def test_offline_mode_loads_from_the_warm_cache_without_any_request(hub_with_models, monkeypatch):
    assert list(pull("org/glyphs")) == ["epsilon"]
    go_offline(monkeypatch)
    hub_with_models.requests.clear()
    assert from_pretrained("org/glyphs").letter == "epsilon"
    assert hub_with_models.requests == []


def test_offline_mode_with_a_cold_cache_says_how_to_fix_it(hub_with_models, monkeypatch, tmp_path):
    monkeypatch.setenv("GLYPHVAE_OFFLINE", "1")
    with pytest.raises(FileNotFoundError, match=r"offline mode is on.*glyphvae pull org/glyphs"):
        resolve_model_dir("org/glyphs", cache_dir=tmp_path / "cold")
    assert hub_with_models.requests == []


@pytest.mark.parametrize("fault", ["corrupt", "truncate"])
def test_a_damaged_download_is_detected_not_loaded_and_not_kept(hub_with_models, fault):
    hub_with_models.faults[("org/glyphs", "epsilon/model.weights.h5")] = fault
    expected = ValueError if fault == "corrupt" else OSError
    with pytest.raises(expected, match=r"corrupted or truncated|truncated file"):
        from_pretrained("org/glyphs")
    hub_with_models.faults.clear()
    assert from_pretrained("org/glyphs").letter == "epsilon"  # downloaded anew, not the bad copy


def test_a_multi_letter_repo_with_a_manifest(hub_with_models):
    hub = hub_with_models
    assert len(hub.repos["org/alphabet"].commits) == 2  # created, then both letters in one commit
    manifest = manifest_of(hub, "org/alphabet")
    assert manifest["letters"] == ["alpha", "epsilon"] and manifest["image_size"] == 32

    assert from_pretrained("org/alphabet", letter="α").letter == "alpha"
    assert resolve_model_dir("hf://org/alphabet/epsilon").name == "epsilon"
    with pytest.raises(
        ValueError,
        match=r"models in hf://org/alphabet: alpha, epsilon \(letter=\.\.\., or the source hf://org/alphabet/<letter>\)",
    ):
        resolve_model_dir("org/alphabet")
    with pytest.raises(
        ValueError, match=r"letters in hf://org/alphabet: alpha, epsilon\. Received 'omega'"
    ):
        resolve_model_dir("org/alphabet", letter="omega")
    assert sorted(pull("org/alphabet")) == ["alpha", "epsilon"]

    # Re-pushing one letter keeps the others, drops the letter's stale files, renews the card.
    retrained = GlyphVAE(**TINY, letter="epsilon", seed=9)
    push_to_hub(retrained, "org/alphabet")
    assert manifest_of(hub, "org/alphabet")["letters"] == ["alpha", "epsilon"]
    files = hub.files("org/alphabet")
    assert "epsilon/samples.png" not in files
    card = files["README.md"].decode()
    assert "| alpha | GlyphVAE |" in card and "| loss | 0.25 |" in card
    assert "(epsilon/samples.png)" not in card
    z = latent_batch()
    np.testing.assert_array_equal(
        retrained.decode(z), from_pretrained("org/alphabet", letter="epsilon").decode(z)
    )


def test_a_single_model_repo_with_files_at_the_root(hf_hub, epsilon_dir):
    files = {n: (epsilon_dir / n).read_bytes() for n in ("config.json", "model.weights.h5")}
    hf_hub.create("org/plain", files)
    assert from_pretrained("org/plain").image_size == TINY["image_size"]
    assert list(pull("org/plain")) == ["epsilon"]  # named by the letter in config.json
    with pytest.raises(ValueError, match="Received 'alpha'"):
        resolve_model_dir("org/plain", letter="alpha")


def test_a_hand_written_card_is_never_overwritten(hf_hub, epsilon_model, alpha_dir, tmp_path):
    hf_hub.create("org/mine", {"README.md": b"# My glyphs\n\nWritten by hand.\n"})
    push_to_hub(epsilon_model, "org/mine")
    assert hf_hub.files("org/mine")["README.md"] == b"# My glyphs\n\nWritten by hand.\n"

    folder = tmp_path / "alpha"
    shutil.copytree(alpha_dir, folder)
    (folder / "README.md").write_text("---\nlicense: mit\n---\n# Alpha, my way\n")
    push_to_hub(folder, "org/other")
    assert hf_hub.files("org/other")["README.md"].decode().endswith("# Alpha, my way\n")
