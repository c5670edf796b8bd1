"""Keras callbacks used by :func:`glyphvae.fit_letter`: checkpoints, non-finite guard, grids.

Checkpoints are full ``.keras`` archives (weights *and* optimizer state) written atomically
at the end of each good epoch, next to a ``state.json`` that records the epoch and history;
``--resume`` continues from them. A non-finite loss stops training before the next
checkpoint is written, so the last checkpoint on disk is always a good one.

A checkpoint is two files, so it is committed in an order that a kill at any moment cannot
break: the archive is written under a new name (``epoch-0005.keras``), then ``state.json``,
which names its archive, replaces the old state in one rename (the commit point), and only
then is the previous archive deleted. A run killed anywhere in between resumes from the
epoch that ``state.json`` names, with the archive of that same epoch.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np

from glyphvae.files import atomic_path, atomic_write_json
from glyphvae.visualize import save_grid

__all__ = [
    "CheckpointSaver",
    "NonFiniteGuard",
    "SampleGrids",
    "Stopwatch",
    "checkpoint_model_path",
    "read_checkpoint_state",
    "weights_are_finite",
]

CHECKPOINT_STATE = "state.json"
LEGACY_CHECKPOINT_MODEL = "last.keras"
"""The archive name of checkpoints written before ``state.json`` named its archive."""


def weights_are_finite(model: keras.Model) -> bool:
    """Whether every weight of ``model`` is finite."""
    return all(np.all(np.isfinite(np.asarray(w))) for w in model.get_weights())


class NonFiniteGuard(keras.callbacks.Callback):
    """Stop training at the first batch whose loss is NaN or infinite, and remember where."""

    def __init__(self) -> None:
        super().__init__()
        self.epoch = 0
        self.failed_at: tuple[int, int] | None = None
        self.bad_value: float | None = None

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.epoch = epoch

    def _check(self, batch: int, logs: dict[str, Any] | None) -> None:
        if self.failed_at is not None or not logs:
            return
        for key in ("loss", "val_loss"):
            if key in logs:
                value = float(logs[key])
                if not math.isfinite(value):
                    self.failed_at = (self.epoch + 1, batch + 1)
                    self.bad_value = value
                    self.model.stop_training = True
                    return

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._check(batch, logs)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._check(-1, logs)


class Stopwatch(keras.callbacks.Callback):
    """Record wall time per epoch (training and validation) in ``self.epoch_seconds``."""

    def __init__(self) -> None:
        super().__init__()
        self.epoch_seconds: list[float] = []
        self._start = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.epoch_seconds.append(time.perf_counter() - self._start)


class CheckpointSaver(keras.callbacks.Callback):
    """After each epoch with finite loss and weights, atomically save model and state.

    Args:
        directory: Checkpoint folder (``<out>/checkpoints``).
        state: JSON-ready dict saved with each checkpoint (config, split...); the callback
            adds ``epoch`` and ``history``.
        history: Per-epoch metrics so far (continued on resume); appended to in place.
        guard: The run's :class:`NonFiniteGuard`; no checkpoint is written after it fires.
        stopwatch: Optional :class:`Stopwatch` whose epoch times are stored in the history.
        enabled: ``False``: keep the history only, write nothing. (Non-chief workers of a
            multi-worker run save to a scratch ``directory`` instead, since saving a
            distributed model may need every worker.)
    """

    def __init__(
        self,
        directory: Path,
        state: dict[str, Any],
        history: dict[str, list[float]],
        guard: NonFiniteGuard,
        stopwatch: Stopwatch | None = None,
        enabled: bool = True,
    ) -> None:
        super().__init__()
        self.directory = Path(directory)
        self.state = state
        self.history = history
        self.guard = guard
        self.stopwatch = stopwatch
        self.enabled = enabled
        self.last_saved_epoch: int | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.guard.failed_at is not None:
            return
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        if self.stopwatch is not None and self.stopwatch.epoch_seconds:
            self.history.setdefault("seconds", []).append(self.stopwatch.epoch_seconds[-1])
        if not self.enabled:
            return
        if not weights_are_finite(self.model):
            self.guard.failed_at = (epoch + 1, 0)
            self.model.stop_training = True
            return
        name = f"epoch-{epoch + 1:04d}.keras"
        with atomic_path(self.directory / name) as tmp:
            self.model.save(tmp)
        atomic_write_json(  # the commit point: from here on, resume uses this epoch
            self.directory / CHECKPOINT_STATE,
            {**self.state, "epoch": epoch + 1, "model": name, "history": self.history},
        )
        for old in self.directory.glob("*.keras"):
            if old.name != name:
                old.unlink(missing_ok=True)
        self.last_saved_epoch = epoch + 1


def read_checkpoint_state(directory: Path) -> dict[str, Any] | None:
    """The ``state.json`` of a checkpoint folder, or ``None`` if there is no checkpoint.

    Raises:
        ValueError: ``state.json`` is not valid JSON, or names an archive that is missing
            (the folder was edited by hand: glyphvae never leaves it so).
    """
    directory = Path(directory)
    state_path = directory / CHECKPOINT_STATE
    if not state_path.is_file():
        return None
    try:
        state: dict[str, Any] = json.loads(state_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(
            f"Expected the checkpoint state {state_path} to be JSON. Received unreadable "
            f"contents ({e}); move the checkpoints folder away to start afresh"
        ) from e
    state.setdefault("model", LEGACY_CHECKPOINT_MODEL)
    if not (directory / state["model"]).is_file():
        raise ValueError(
            f"Expected the checkpoint archive {directory / state['model']} named by "
            f"{state_path}. Received no such file; move the checkpoints folder away to start "
            "afresh"
        )
    return state


def checkpoint_model_path(directory: Path) -> Path | None:
    """The ``.keras`` archive of the checkpoint in ``directory``, or ``None`` if there is none.

    >>> import tempfile
    >>> checkpoint_model_path(Path(tempfile.mkdtemp())) is None
    True
    """
    state = read_checkpoint_state(directory)
    return None if state is None else Path(directory) / state["model"]


class SampleGrids(keras.callbacks.Callback):
    """Every ``every`` epochs, decode the same fixed latent codes into ``<dir>/epoch_XXXX.png``.

    Using the same codes each time shows how the same glyphs sharpen as training goes on.

    Args:
        directory: Folder of the grids.
        every: Epochs between grids (0: none).
        n: Glyphs per grid.
        seed: Seed of the latent codes.
        local: Decode with a plain copy of the model (same weights) instead of the model
            itself: set it when the model lives in a ``tf.distribute`` strategy and only
            the chief writes grids, since a distributed ``predict`` needs every worker.
    """

    def __init__(
        self, directory: Path, every: int, n: int = 64, seed: int = 0, local: bool = False
    ) -> None:
        super().__init__()
        self.directory = Path(directory)
        self.every = every
        self.n = n
        self.seed = seed
        self.local = local
        self._copy: Any = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.every <= 0 or (epoch + 1) % self.every:
            return
        model = self.model
        if self.local:
            from glyphvae._distribute import local_copy

            if self._copy is None:
                self._copy = local_copy(model)
            else:
                self._copy.set_weights(model.get_weights())
            model = self._copy
        images = model.generate(self.n, seed=self.seed)
        save_grid(self.directory / f"epoch_{epoch + 1:04d}.png", images)
