"""Kill and resume: a training stopped at any moment resumes from its last complete epoch.

Four real processes are stopped while they train a tiny model, all at once:

* SIGKILL at the worst moment of a checkpoint: the epoch's archive is on disk, its
  ``state.json`` (the commit point) is not;
* SIGKILL while the archive is half written (its temporary file holds half the bytes);
* SIGINT (Ctrl-C) sent to ``glyphvae fit``, and SIGTERM (a pre-empted job) sent to a process
  running ``fit_letter``.

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

import numpy as np
import pytest

from glyphvae.callbacks import CHECKPOINT_STATE, checkpoint_model_path
from glyphvae.hub import from_pretrained
from glyphvae.training import fit_letter
from tests.conftest import tiny_train_config
from tests.helpers import broken_outputs, make_crop_tree

ROOT = Path(__file__).resolve().parents[2]
EPOCHS = 3
CONFIG = tiny_train_config(
    epochs=EPOCHS,
    prior_components=0,
    adversarial_start_epochs=1,  # the critic and its optimizer state are checkpointed too
)

# Trains in a fresh process; "before-state" and "mid-archive" SIGKILL themselves at that
# point of epoch 2's checkpoint, "run" trains until the test sends it a signal.
WORKER = r"""
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
config = TrainConfig.from_dict(args["config"])
if args["at"] == "run":
    config = TrainConfig.from_dict({**args["config"], "epochs": 200})
fit_letter("epsilon", data=args["data"], out=args["out"], verbose=0, config=config)
"""


def _env() -> dict[str, str]:
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "-1"}


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _checkpoint_epoch(out: Path) -> int:
    try:
        return int(json.loads((out / "checkpoints" / CHECKPOINT_STATE).read_text())["epoch"])
    except (OSError, ValueError, KeyError):
        return 0


def _steps(model) -> int:
    return int(model.optimizer.iterations.numpy())


def test_killed_and_interrupted_runs_resume_to_the_uninterrupted_result(tmp_path):
    data = make_crop_tree(tmp_path / "data", per_letter=24, papyri=6)
    config = CONFIG.to_dict()
    procs: dict[str, subprocess.Popen] = {}
    for at in ("before-state", "mid-archive", "run"):
        args = {"data": str(data), "out": str(tmp_path / at), "at": at, "config": config}
        procs["SIGTERM" if at == "run" else at] = subprocess.Popen(
            [sys.executable, "-c", WORKER, json.dumps(args)],
            cwd=ROOT,
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    cli = [sys.executable, "-m", "glyphvae", "fit", "--letter", "epsilon", "--data", str(data)]
    cli += ["--image-size", "32", "--latent-dim", "4", "--batch-size", "8", "--quiet"]
    cli += ["--val-fraction", "0.25", "--epochs", "200", "--prior-components", "0"]
    cli += ["--adversarial-weight", "0", "--out", str(tmp_path / "SIGINT")]
    procs["SIGINT"] = subprocess.Popen(
        cli,
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # a shell without job control starts background jobs with SIGINT ignored, and
        # Python then installs no Ctrl-C handler: give the child the default disposition
        preexec_fn=_default_sigint,
    )
    # stop the long runs mid-training: once their first epoch is checkpointed
    deadline = time.monotonic() + 300
    folders = {"SIGINT": tmp_path / "SIGINT", "SIGTERM": tmp_path / "run"}
    for sig in (signal.SIGINT, signal.SIGTERM):
        while _checkpoint_epoch(folders[sig.name]) < 1 and procs[sig.name].poll() is None:
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
        assert broken_outputs(out) is None
    for sig in (signal.SIGINT, signal.SIGTERM):
        out, stderr = folders[sig.name], outputs[sig.name][1]
        if sig == signal.SIGINT:  # the CLI: exit code 130 and one line
            assert procs[sig.name].returncode == 130, stderr
            last = stderr.strip().splitlines()[-1]  # after the loader's "loaded ..." line
            assert last.startswith("Interrupted. Training interrupted; progress saved in"), stderr
            assert "Traceback" not in stderr
        else:  # fit_letter raises KeyboardInterrupt once it has saved
            assert procs[sig.name].returncode != 0 and "KeyboardInterrupt" in stderr, stderr
            assert "stopped by signal SIGTERM" in stderr or "progress saved" in stderr
        meta = json.loads((out / "metadata.json").read_text())
        assert meta["training_status"] == "interrupted"
        assert meta["epochs_completed"] >= _checkpoint_epoch(out) >= 1
        assert broken_outputs(out) is None
        assert np.isfinite(from_pretrained(out).generate(2, seed=0)).all()

    # resume each: the killed ones to EPOCHS, and end as an uninterrupted run would: EPOCHS
    # epochs of history, EPOCHS epochs of optimizer steps (none trained twice or skipped)
    split = json.loads((tmp_path / "SIGINT" / "metadata.json").read_text())["data"]["split"]
    steps_per_epoch = split["n_train"] // CONFIG.batch_size  # whole batches
    folders |= {at: tmp_path / at for at in ("before-state", "mid-archive")}
    for name, out in folders.items():
        # the signalled runs asked for 200 epochs: resume them to one more than they kept
        target = EPOCHS if name in ("before-state", "mid-archive") else _checkpoint_epoch(out) + 1
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
