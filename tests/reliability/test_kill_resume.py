"""Kill and resume: a training stopped at any moment resumes from its last complete epoch.

Four real processes are stopped while they train a tiny model, all at once:

* SIGKILL at the worst moment of a checkpoint: the epoch's archive is on disk, its
  ``state.json`` (the commit point) is not;
* SIGKILL while the archive is half written (its temporary file holds half the bytes);
* SIGINT (Ctrl-C) and SIGTERM (a pre-empted job) sent to ``glyphvae fit``.

Each is then resumed, and must end with the epochs, history and optimizer steps of an
uninterrupted run, having lost at most the epoch in progress. ``benchmarks/faults.py`` repeats
this with SIGKILL at random moments.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest

from glyphvae.callbacks import CHECKPOINT_STATE, checkpoint_model_path
from glyphvae.hub import from_pretrained
from glyphvae.models import GlyphVAE
from glyphvae.training import TrainConfig, fit_letter
from tests.conftest import TINY
from tests.helpers import make_crop_tree

ROOT = Path(__file__).resolve().parents[2]
EPOCHS = 4
CONFIG = TrainConfig(
    image_size=TINY["image_size"],
    latent_dim=TINY["latent_dim"],
    channels=TINY["channels"],
    res_blocks=TINY["res_blocks"],
    epochs=EPOCHS,
    batch_size=8,
    kl_warmup_epochs=1,
    val_fraction=0.25,
    prior_components=2,
    adversarial_start_epochs=1,  # the critic and its optimizer state are checkpointed too
)

# Trains in a fresh process and SIGKILLs itself at a chosen point of epoch 2's checkpoint.
KILLER = r"""
import json, os, signal, sys
from pathlib import Path
from glyphvae import callbacks
from glyphvae.training import TrainConfig, fit_letter

args = json.loads(sys.argv[1])
real_write_json, real_atomic_path = callbacks.atomic_write_json, callbacks.atomic_path

def write_json(path, obj):
    if args["at"] == "before-state" and obj.get("epoch") == 2:
        os.kill(os.getpid(), signal.SIGKILL)  # the archive of epoch 2 is complete on disk
    return real_write_json(path, obj)

class atomic_path:
    def __init__(self, path, suffix=None):
        self.path, self.ctx = Path(path), real_atomic_path(path, suffix)
    def __enter__(self):
        self.tmp = self.ctx.__enter__()
        return self.tmp
    def __exit__(self, *exc):
        if args["at"] == "mid-archive" and self.path.name == "epoch-0002.keras":
            data = self.tmp.read_bytes()
            self.tmp.write_bytes(data[: len(data) // 2])  # as if killed while writing
            os.kill(os.getpid(), signal.SIGKILL)
        return self.ctx.__exit__(*exc)

callbacks.atomic_write_json, callbacks.atomic_path = write_json, atomic_path
fit_letter("epsilon", data=args["data"], out=args["out"], verbose=0,
           config=TrainConfig.from_dict(args["config"]))
"""


def _env() -> dict[str, str]:
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "-1"}


def _checkpoint_epoch(out: Path) -> int:
    try:
        return int(json.loads((out / "checkpoints" / CHECKPOINT_STATE).read_text())["epoch"])
    except (OSError, ValueError, KeyError):
        return 0


def _assert_nothing_half_written(out: Path) -> None:
    """Every file a later run would trust is complete: JSON parses, archives load."""
    for path in out.rglob("*.json"):
        json.loads(path.read_text())
    model_path = checkpoint_model_path(out / "checkpoints")
    if model_path is not None:
        keras.saving.load_model(model_path, custom_objects={"glyphvae>GlyphVAE": GlyphVAE})
    if (out / "config.json").exists():
        from_pretrained(out)


def _steps(model) -> int:
    return int(model.optimizer.iterations.numpy())


def test_killed_and_interrupted_runs_resume_to_the_uninterrupted_result(tmp_path):
    data = make_crop_tree(tmp_path / "data", per_letter=24, papyri=6)
    config = CONFIG.to_dict()
    procs: dict[str, subprocess.Popen] = {}
    for at in ("before-state", "mid-archive"):
        args = {"data": str(data), "out": str(tmp_path / at), "at": at, "config": config}
        procs[at] = subprocess.Popen(
            [sys.executable, "-c", KILLER, json.dumps(args)],
            cwd=ROOT,
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    cli = [sys.executable, "-m", "glyphvae", "fit", "--letter", "epsilon", "--data", str(data)]
    cli += ["--image-size", "32", "--latent-dim", "4", "--batch-size", "8", "--quiet"]
    cli += ["--val-fraction", "0.25", "--epochs", "200", "--prior-components", "2"]
    cli += ["--adversarial-start-epochs", "1"]
    for sig in (signal.SIGINT, signal.SIGTERM):
        procs[sig.name] = subprocess.Popen(
            [*cli, "--out", str(tmp_path / sig.name)],
            cwd=ROOT,
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    # stop the CLI runs mid-training: once their first epoch is checkpointed
    deadline = time.monotonic() + 300
    for sig in (signal.SIGINT, signal.SIGTERM):
        while _checkpoint_epoch(tmp_path / sig.name) < 1 and procs[sig.name].poll() is None:
            assert time.monotonic() < deadline, "no checkpoint within 300 s"
            time.sleep(0.2)
        procs[sig.name].send_signal(sig)
    outputs = {name: proc.communicate(timeout=300) for name, proc in procs.items()}

    for at in ("before-state", "mid-archive"):
        out = tmp_path / at
        assert procs[at].returncode == -signal.SIGKILL, outputs[at][0]
        # the epoch in progress is lost, nothing before it
        assert _checkpoint_epoch(out) == 1, at
        assert checkpoint_model_path(out / "checkpoints").name == "epoch-0001.keras"
        _assert_nothing_half_written(out)
    for sig in (signal.SIGINT, signal.SIGTERM):
        out, stderr = tmp_path / sig.name, outputs[sig.name][1]
        assert procs[sig.name].returncode == 130, stderr
        last = stderr.strip().splitlines()[-1]  # after the loader's "glyphvae: loaded ..." line
        assert last.startswith("Interrupted. Training interrupted; progress saved in"), stderr
        assert "Traceback" not in stderr
        meta = json.loads((out / "metadata.json").read_text())
        assert meta["training_status"] == "interrupted"
        assert meta["epochs_completed"] >= _checkpoint_epoch(out) >= 1
        _assert_nothing_half_written(out)
        assert np.isfinite(from_pretrained(out).generate(2, seed=0)).all()

    # resume each: the killed ones to EPOCHS, and end as an uninterrupted run would: EPOCHS
    # epochs of history, EPOCHS epochs of optimizer steps (none trained twice or skipped)
    split = json.loads((tmp_path / "SIGINT" / "metadata.json").read_text())["data"]["split"]
    steps_per_epoch = split["n_train"] // CONFIG.batch_size  # whole batches
    for name in procs:
        out = tmp_path / name
        # the CLI runs asked for 200 epochs: resume them to two more than they kept
        target = EPOCHS if name in ("before-state", "mid-archive") else _checkpoint_epoch(out) + 2
        result = fit_letter("epsilon", data=data, out=out, epochs=target, resume=True, verbose=0)
        assert result.epochs == target, name
        history = json.loads((out / "history.json").read_text())
        assert len(history["loss"]) == target and np.all(np.isfinite(history["loss"])), name
        assert _steps(result.model) == target * steps_per_epoch, name  # no epoch trained twice
        meta = json.loads((out / "metadata.json").read_text())
        assert meta["training_status"] == "complete" and meta["epochs_completed"] == target
        assert meta["data"]["split"] == split, name
        # the killed runs' litter is gone, and one archive is left
        assert not list(out.rglob(".tmp-*")), name
        assert [p.name for p in (out / "checkpoints").glob("*.keras")] == [
            f"epoch-{target:04d}.keras"
        ]


def test_a_damaged_checkpoint_folder_is_refused_clearly_and_overwrite_replaces_it(
    crop_tree, tmp_path
):
    out = tmp_path / "run"
    (out / "checkpoints").mkdir(parents=True)
    (out / "checkpoints" / CHECKPOINT_STATE).write_text('{"epoch": 3, "model": "epo')
    with pytest.raises(ValueError, match=r"checkpoint state .* JSON"):
        fit_letter("epsilon", data=crop_tree, out=out, config=CONFIG, resume=True, verbose=0)
    (out / "checkpoints" / CHECKPOINT_STATE).write_text('{"epoch": 3, "model": "gone.keras"}')
    with pytest.raises(ValueError, match=r"gone\.keras"):
        fit_letter("epsilon", data=crop_tree, out=out, config=CONFIG, resume=True, verbose=0)
    result = fit_letter(
        "epsilon", data=crop_tree, out=out, config=CONFIG, epochs=1, overwrite=True, verbose=0
    )
    assert result.epochs == 1 and _checkpoint_epoch(out) == 1
