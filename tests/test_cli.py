import subprocess
import sys

import numpy as np
from click.testing import CliRunner

from glyphvae.cli import main
from glyphvae.data.io import read_image

TINY_ARGS = [
    "--image-size",
    "32",
    "--latent-dim",
    "4",
    "--epochs",
    "2",
    "--batch-size",
    "8",
    "--quiet",
]


def test_help_does_not_import_tensorflow():
    code = (
        "import sys; from click.testing import CliRunner; from glyphvae.cli import main; "
        "r = CliRunner().invoke(main, ['fit', '--help']); assert r.exit_code == 0, r.output; "
        "r = CliRunner().invoke(main, ['--help']); assert r.exit_code == 0; "
        "bad = [m for m in ('tensorflow', 'keras') if m in sys.modules]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_fit_then_sample_end_to_end(crop_tree, tmp_path):
    runner = CliRunner()
    out = tmp_path / "run"
    result = runner.invoke(
        main,
        ["fit", "--letter", "epsilon", "--data", str(crop_tree), "--out", str(out), *TINY_ARGS],
    )
    assert result.exit_code == 0, result.output
    assert (out / "model.weights.h5").is_file() and (out / "samples.png").is_file()
    assert "2 epochs" in result.output and "images/s training" in result.output  # --quiet too

    grid, singles = tmp_path / "grid.png", tmp_path / "singles"
    result = runner.invoke(
        main,
        [
            "sample",
            "--model",
            str(out),
            "-n",
            "6",
            "--out",
            str(grid),
            "--seed",
            "1",
            "--save-individual",
            str(singles),
        ],
    )
    assert result.exit_code == 0, result.output
    assert str(grid) in result.output
    image = read_image(grid)
    assert image.shape[0] > 32 and np.isfinite(image).all()
    files = sorted(singles.glob("*.png"))
    assert len(files) == 6
    assert read_image(files[0]).shape == (32, 32, 3)

    # the texture is fitted by default; --no-texture gives the plain decoder means
    from glyphvae.hub import from_pretrained

    model = from_pretrained(out)
    assert model.texture_fitted
    plain = tmp_path / "plain.png"
    args = ["sample", "--model", str(out), "-n", "6", "--seed", "1", "--no-texture"]
    result = runner.invoke(main, [*args, "--out", str(plain)])
    assert result.exit_code == 0, result.output
    means = read_image(plain)
    assert means.shape == image.shape and np.abs(means - image).mean() > 1e-3


def test_errors_are_one_line_without_traceback(tmp_path, monkeypatch):
    monkeypatch.delenv("GLYPHVAE_DATA", raising=False)
    runner = CliRunner()
    result = runner.invoke(main, ["fit", "--letter", "epsylon", "--out", str(tmp_path / "x")])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "Expected a Greek letter" in result.output
    result = runner.invoke(main, ["fit", "--letter", "epsilon", "--out", str(tmp_path / "x")])
    assert result.exit_code == 1
    assert "GLYPHVAE_DATA" in result.output and "Traceback" not in result.output


def test_debug_shows_the_traceback(tmp_path, monkeypatch):
    monkeypatch.delenv("GLYPHVAE_DATA", raising=False)
    result = CliRunner().invoke(main, ["--debug", "fit", "--letter", "epsylon"])
    assert result.exit_code == 1
    assert isinstance(result.exception, ValueError)


def test_sample_rejects_a_folder_without_a_model(tmp_path):
    result = CliRunner().invoke(main, ["sample", "--model", str(tmp_path)])
    assert result.exit_code == 1
    assert "config.json" in result.output


def test_fit_options_match_the_model():
    from glyphvae.cli.train import SIGMA_MODES as CLI_MODES
    from glyphvae.models.glyph_vae import SIGMA_MODES

    assert CLI_MODES == SIGMA_MODES
