"""Options and helpers shared by several commands."""

from __future__ import annotations

import click

MODEL_HELP = "Model: a folder from `glyphvae fit`, or a shipped preset (epsilon, alpha)."


def resolve_source(model: str | None, letter: str | None) -> str:
    """The model source from ``--model`` or, failing that, ``--letter`` (a preset)."""
    if model is None and letter is None:
        raise click.UsageError("Give --model SOURCE or --letter NAME (a shipped preset).")
    return model if model is not None else str(letter)
