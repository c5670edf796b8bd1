"""The weights shipped in the package load offline and carry their provenance."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from glyphvae.cli import main
from glyphvae.data.io import read_image
from glyphvae.evaluation import evaluate_generator, heldout_split
from glyphvae.hub import from_pretrained, read_metadata_of
from glyphvae.presets import PRESETS, find_preset, preset_path, preset_report


@pytest.mark.parametrize("name", ["epsilon", "alpha"])
def test_letter_presets_load_and_generate(name):
    model = from_pretrained(name, expected_class="GlyphVAE")
    assert model.letter == name and model.image_size == 64
    assert model.prior_fitted
    a, b = model.generate(4, seed=3), model.generate(4, seed=3)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (4, 64, 64, 3) and np.isfinite(a).all() and a.std() > 0.02


def test_aliases_and_classifier():
    assert find_preset("ε").name == "epsilon"
    clf = from_pretrained("classifier", expected_class="LetterClassifier")
    assert clf.predict_proba(np.zeros((1, 64, 64, 3), np.uint8)).shape == (1, 24)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_record_data_attribution_and_are_small(name):
    path = preset_path(PRESETS[name])
    meta = json.loads((path / "metadata.json").read_text())
    assert meta["data"]["license"] == "CC-BY-4.0"
    assert "Hell-Char" in meta["data"]["attribution"]
    assert (path / "model.weights.h5").stat().st_size < 8_000_000
    assert "path" not in meta["data"]  # no developer paths in shipped files


@pytest.mark.parametrize("name", ["epsilon", "alpha"])
def test_shipped_reports_are_on_held_out_papyri(name):
    report = preset_report(PRESETS[name])
    meta = json.loads((preset_path(PRESETS[name]) / "metadata.json").read_text())
    assert report["letter"] == name
    assert sorted(report["heldout_papyri"]) == sorted(meta["data"]["split"]["val_groups"])
    assert not set(report["heldout_papyri"]) & set(meta["data"]["split"]["train_groups"])


def test_sample_letter_offline_right_after_install(tmp_path):
    out = tmp_path / "grid.png"
    argv = ["glyphvae", "sample", "--letter", "epsilon", "-n", "4", "--out", str(out)]
    code = f"import sys; from glyphvae.cli import main; sys.argv = {argv!r}; main()"
    env_code = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert env_code.returncode == 0, env_code.stderr
    assert read_image(out).shape[0] > 64


def test_sample_letter_in_process(tmp_path):
    result = CliRunner().invoke(
        main, ["sample", "--letter", "alpha", "-n", "2", "--out", str(tmp_path / "a.png")]
    )
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("name", ["epsilon", "alpha"])
def test_shipped_reports_reproduce_and_meet_the_quality_targets(name, hellchar):
    """The figures in a shipped report.json are what evaluating the shipped model gives
    (not stale after a retrain), and they meet the quality targets of the shipped models:
    recognised at least as often as real held-out crops, sharpness ratio >= 0.6, colour
    distance within 1.2x that of the real training papyri, precision >= 0.6, recall >= 0.4,
    no memorised copies."""
    shipped = preset_report(PRESETS[name])
    model = from_pretrained(name, expected_class="GlyphVAE")
    judge = from_pretrained("classifier", expected_class="LetterClassifier")
    train, held = heldout_split(hellchar, name, model.image_size, read_metadata_of(name))
    report = evaluate_generator(
        model, judge, train, held, n=shipped["n_generated"], seed=shipped["seed"]
    )
    assert report["temperature"] == shipped["temperature"]
    for key in ("generated", "real_heldout"):
        assert report["recognised"][key] == pytest.approx(shipped["recognised"][key], abs=0.01)
    for key in ("precision", "recall"):
        assert report[key] == pytest.approx(shipped[key], abs=0.03)
    assert report["sharpness"]["ratio"] == pytest.approx(shipped["sharpness"]["ratio"], rel=0.02)
    assert report["colour"]["ratio"] == pytest.approx(shipped["colour"]["ratio"], rel=0.02)
    assert report["memorisation"]["copies"] == shipped["memorisation"]["copies"]

    assert report["recognised"]["generated"] >= report["recognised"]["real_heldout"]
    assert report["sharpness"]["ratio"] >= 0.6
    assert report["colour"]["ratio"] <= 1.2
    assert report["precision"] >= 0.6 and report["recall"] >= 0.4
    assert report["memorisation"]["copies"] == 0
