"""The ``glyphvae`` command line: one click group; each command lives in a module by job.

TensorFlow and Keras are imported inside command bodies only, so ``glyphvae --help`` and
``glyphvae <command> --help`` answer instantly. Errors become one line on stderr and exit
code 1; ``glyphvae --debug <command>`` shows the full traceback instead.

Modules: :mod:`.train` (fit, fit-classifier), :mod:`.generate` (sample),
:mod:`.evaluate` (evaluate).
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import click


class _UsageLine(click.UsageError):
    """A usage error shown as one line (click's default adds the usage and a hint line)."""

    def show(self, file: Any = None) -> None:
        where = self.ctx.command_path if self.ctx is not None else "glyphvae"
        click.echo(f"Error: {self.format_message()} (see {where} --help)", err=True)


class _Group(click.Group):
    """A click group that turns any exception into one clean line (unless ``--debug``)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as e:
            if ctx.params.get("debug"):
                raise
            message = " ".join(e.format_message().split())
            raise _UsageLine(message, e.ctx) from e
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt as e:
            click.echo(f"Interrupted. {e}".strip(), err=True)
            sys.exit(130)
        except Exception as e:
            if ctx.params.get("debug"):
                raise
            message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise click.ClickException(f"{message} (run with --debug for the traceback)") from e


def _import_tensorflow_quietly() -> None:
    """Import TensorFlow with C++ start-up chatter (CUDA probing on CPU machines) silenced.

    TensorFlow's native logging writes to file descriptor 2 before Python can filter it,
    so the descriptor is pointed at /dev/null for the import and the device probe only.
    Python exceptions still propagate normally.
    """
    if "tensorflow" in sys.modules:
        return
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # no real stderr (e.g. under a test runner)
        return
    saved, devnull = os.dup(fd), os.open(os.devnull, os.O_WRONLY)
    sys.stderr.flush()
    os.dup2(devnull, fd)
    try:
        import tensorflow as tf

        tf.config.list_physical_devices("GPU")
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="glyphvae")
@click.option("--debug", is_flag=True, help="Show full tracebacks and TensorFlow logs.")
def main(debug: bool) -> None:
    """Train per-letter VAEs on glyph crops and sample new glyphs for OCR training sets."""
    if not debug:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO,
        format="glyphvae: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("absl").setLevel(logging.ERROR)
    if not debug and os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "3":
        ctx = click.get_current_context()
        if ctx.invoked_subcommand is not None and not {"--help", "-h"} & set(sys.argv[1:]):
            _import_tensorflow_quietly()


def _register() -> None:
    from glyphvae.cli import augment, evaluate, generate, hub, train

    for module in (train, generate, evaluate, hub, augment):
        for command in module.COMMANDS:
            main.add_command(command)


_register()
