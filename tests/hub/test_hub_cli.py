"""`glyphvae push` / `pull`, Hub sources in `sample --model`, and bad repos: one clean line each."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import keras
import pytest
from click.testing import CliRunner

from glyphvae.cli import main
from glyphvae.hub import from_pretrained, resolve_model_dir
from tests.hub.conftest import go_offline


@pytest.fixture
def runner(hf_hub):
    """A CLI runner with huggingface_hub's progress bars off, so errors are the whole output."""
    from huggingface_hub.utils import disable_progress_bars, enable_progress_bars

    disable_progress_bars()
    yield CliRunner()
    enable_progress_bars()


def one_error_line(result) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: ") and lines[0].endswith(
        "(run with --debug for the traceback)"
    )
    return lines[0]


def tamper(hub, repo_id: str, path: str, data: bytes, **manifest_changes) -> None:
    """Commit a changed file with a matching manifest entry: a bad model, not a bad download."""
    files = dict(hub.files(repo_id))
    files[path] = data
    manifest = json.loads(files["glyphvae.json"])
    folder, name = path.split("/")
    entry = manifest["models"][folder]
    entry["files"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    entry.update(manifest_changes)
    files["glyphvae.json"] = json.dumps(manifest).encode()
    hub.repos[repo_id].commit(files)


def test_push_pull_and_sample_offline_through_the_cli(
    runner, hf_hub, epsilon_dir, tmp_path, monkeypatch
):
    result = runner.invoke(main, ["push", "--model", str(epsilon_dir), "--repo", "org/cli"])
    assert result.exit_code == 0, result.output
    assert f"{hf_hub.url}/org/cli/commit/" in result.output
    result = runner.invoke(main, ["pull", "org/cli"])
    assert result.exit_code == 0, result.output
    assert "epsilon: GlyphVAE, 32 px" in result.output and "works offline" in result.output

    go_offline(monkeypatch)
    grid = tmp_path / "grid.png"
    result = runner.invoke(main, ["sample", "--model", "org/cli", "-n", "2", "--out", str(grid)])
    assert result.exit_code == 0, result.output
    assert grid.is_file()


def test_a_fresh_process_honours_hf_home_and_hf_hub_offline(hub_with_models):
    cached = resolve_model_dir("org/glyphs")  # fills the cache under $HF_HOME
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_ENDPOINT": "http://127.0.0.1:9"}
    env.pop("HF_HUB_CACHE")  # the cache must be found through HF_HOME alone
    code = (
        "import sys; from glyphvae.hub import resolve_model_dir; "
        "print(resolve_model_dir('hf://org/glyphs/epsilon')); "
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [str(cached), "[]"]  # no TensorFlow to resolve a source


def test_a_typo_in_the_repo_id(runner, hub_with_models):
    line = one_error_line(runner.invoke(main, ["sample", "--model", "org/glyhps", "-n", "2"]))
    assert "Expected a model repo at hf://org/glyhps" in line and "not found" in line
    line = one_error_line(runner.invoke(main, ["pull", "org/glyphs", "--revision", "v9"]))
    assert "Expected revision 'v9'" in line


def test_a_wrong_letter_lists_the_letters_of_the_repo(runner, hub_with_models):
    line = one_error_line(runner.invoke(main, ["pull", "org/glyphs", "--letter", "omega"]))
    assert "Expected one of the letters in hf://org/glyphs: epsilon. Received 'omega'" in line
    result = runner.invoke(main, ["--debug", "pull", "org/glyphs", "--letter", "omega"])
    assert isinstance(result.exception, ValueError)  # --debug lets the exception through


def test_a_keras_archive_with_a_lambda_layer_is_refused(runner, hf_hub, tmp_path):
    inputs = keras.Input((2,))
    lambda_model = keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2.0)(inputs))
    lambda_model.save(tmp_path / "model.keras")
    hf_hub.create("org/lambda", {"model.keras": (tmp_path / "model.keras").read_bytes()})
    line = one_error_line(runner.invoke(main, ["sample", "--model", "org/lambda", "-n", "2"]))
    assert "Received files: .gitattributes, model.keras" in line
    assert "never .keras archives" in line
    assert not any(p.endswith("model.keras") for _, p, _ in hf_hub.requests if "/resolve/" in p)

    # The same model as a Keras config.json beside weights: not a glyphvae config either.
    config = keras.saving.serialize_keras_object(lambda_model)
    lambda_model.save_weights(tmp_path / "model.weights.h5")
    files = {"config.json": json.dumps(config).encode()}
    files["model.weights.h5"] = (tmp_path / "model.weights.h5").read_bytes()
    hf_hub.create("org/lambda-config", files)
    line = one_error_line(runner.invoke(main, ["sample", "--model", "org/lambda-config"]))
    assert "to hold 'format_version' and 'config'" in line


def test_a_truncated_weights_file_in_the_repo(runner, hf_hub, epsilon_dir):
    weights = (epsilon_dir / "model.weights.h5").read_bytes()
    config = (epsilon_dir / "config.json").read_bytes()
    hf_hub.create("org/cut", {"config.json": config, "model.weights.h5": weights[:2000]})
    line = one_error_line(runner.invoke(main, ["sample", "--model", "org/cut", "-n", "2"]))
    assert "to be a Keras weights file (HDF5). It cannot be read" in line


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("shapes", r"weights matching.*other shapes"),
        ("missing", r"to hold 'format_version' and 'config'"),
        ("newer", r"format version <= 1\. Received 99.*upgrade glyphvae"),
    ],
)
def test_files_that_do_not_match_the_config_are_refused(
    hub_with_models, epsilon_dir, change, message
):
    doc = json.loads((epsilon_dir / "config.json").read_text())
    extra = {}
    if change == "shapes":
        doc["config"]["latent_dim"] = 8
    elif change == "missing":
        del doc["config"]
    else:
        extra = {"format_version": 99}
    tamper(hub_with_models, "org/glyphs", "epsilon/config.json", json.dumps(doc).encode(), **extra)
    with pytest.raises(ValueError, match=message):
        from_pretrained("org/glyphs")
