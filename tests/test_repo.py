"""The repository keeps its promises: CI runs the README's test command."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = text.split("```bash\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def test_readme_starts_with_the_two_commands():
    install_and_run, install_and_test = _readme_commands()[:2]
    assert install_and_run.startswith("python -m pip install -e . && glyphvae fit")
    assert 'pip install -e ".[dev]"' in install_and_test and "pytest" in install_and_test
    assert "ruff check" in install_and_test


def test_ci_runs_exactly_the_readme_test_command():
    test_command = _readme_commands()[1]
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert test_command in ci_lines
