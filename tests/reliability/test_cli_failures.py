"""Every command: ``--help`` without TensorFlow, and one line (no traceback) on any failure."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from glyphvae.cli import main


def test_every_command_has_help_without_importing_tensorflow():
    code = (
        "import sys, json; from click.testing import CliRunner; from glyphvae.cli import main\n"
        "codes = {name: CliRunner().invoke(main, [name, '--help']).exit_code\n"
        "         for name in main.commands}\n"
        "codes['--help'] = CliRunner().invoke(main, ['--help']).exit_code\n"
        "heavy = sorted(m for m in ('tensorflow', 'keras', 'albumentations') if m in sys.modules)\n"
        "print(json.dumps({'codes': codes, 'heavy': heavy}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(report["codes"]) == {*main.commands, "--help"}
    assert len(main.commands) >= 8
    assert all(code == 0 for code in report["codes"].values()), report["codes"]
    assert report["heavy"] == []


def _cases(tmp):
    missing = str(tmp / "missing")
    return {
        "fit": ["fit", "--letter", "epsilon", "--data", missing, "--out", str(tmp / "o")],
        "fit-usage": ["fit", "--data", missing],  # no --letter: a usage error
        "fit-letter": ["fit", "--letter", "digamma", "--data", missing],
        "fit-classifier": ["fit-classifier", "--data", missing, "--out", str(tmp / "c")],
        "sample": ["sample", "--model", missing],
        "sample-preset": ["sample", "--letter", "omega"],  # no preset shipped for omega
        "generate": ["generate", "--model", missing, "-n", "4", "--out", str(tmp / "g")],
        "evaluate": ["evaluate", "--model", missing, "--data", missing],
        "augment": ["augment", "--crops", missing, "--out", str(tmp / "a"), "--bank", missing],
        "pull": ["pull", "org/does-not-exist"],  # offline in tests: a clear line
        "push": ["push", "--model", missing, "--repo", "org/x"],
        "bad-option": ["sample", "--no-such-option"],
    }


@pytest.mark.parametrize("case", list(_cases(__import__("pathlib").Path("/x"))))
def test_every_command_fails_in_one_line(case, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("GLYPHVAE_DATA", raising=False)
    args = _cases(tmp_path)[case]
    result = CliRunner().invoke(main, args)
    assert result.exit_code in (1, 2), result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    assert lines[0].startswith("Error: "), lines[0]
    # --debug shows what happened instead
    debug = CliRunner().invoke(main, ["--debug", *args])
    assert debug.exit_code != 0
    if debug.exit_code == 1:
        assert debug.exception is not None and not isinstance(debug.exception, SystemExit)


def test_a_real_process_exits_non_zero_with_one_line_on_stderr(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "glyphvae", "sample", "--model", str(tmp_path / "none")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.startswith("Error: Expected a model folder")
