"""Multi-worker training: two CPU workers on 127.0.0.1 train like one process.

Two processes with a ``TF_CONFIG`` each run ``fit_letter(strategy="multiworker")`` on a tiny
generated dataset (2 epochs, then ``resume`` to 3), a third runs the same calls with
``strategy="default"``: same data, seed and global batch. The input is sharded by element, so
the two workers take the same optimizer steps on the same crops as the single process.

Tolerances. The VAE's reparameterisation noise differs (each replica draws ``eps`` for its
half-batch), so its results agree only up to that noise. Measured on this setup by changing
nothing but the noise seed of single-process runs (6 seeds), the last epoch's values spread
by 0.018 (loss) and 0.039 (val_loss) nats per dimension, 1.5% (mse) and 3% (val_mse); the
test allows 0.05, 0.08, 6% and 6%, and 10% on the reconstruction error of 8 held-out crops.
An unscaled per-replica loss would double the reported loss; wrong sharding changes the
number of optimizer steps, which is checked exactly. The same plumbing (sharding, loss
scaling, clipping the summed gradient, data order) is then checked *exactly* (rtol 1e-5) on
a small noise-free model, where clipping per replica, as Keras does by default, would fail.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from glyphvae._distribute import tf_config_from_slurm
from glyphvae.callbacks import checkpoint_model_path
from glyphvae.models import GlyphVAE
from tests.conftest import TINY
from tests.helpers import make_crop_tree

ROOT = Path(__file__).resolve().parents[1]

# Runs in a fresh process: phase 1 trains 2 epochs, phase 2 resumes to 3, phase 3 (workers
# only) resumes with the second worker pointed at an empty folder: both must refuse.
WORKER = r"""
import json, sys
import numpy as np
from glyphvae.training import fit_letter

args = json.loads(sys.argv[1])
report = {}
common = dict(data=args["data"], strategy=args["strategy"], verbose=0, **args["config"])
fit_letter("epsilon", out=args["out"][0], epochs=2, **common)
result = fit_letter("epsilon", out=args["out"][1], epochs=3, resume=True, **common)
report["history"] = result.history
report["epochs"] = result.epochs
report["reconstruction"] = result.model.reconstruct(np.load(args["probe"])).tolist()
report["weights_finite"] = all(np.isfinite(w).all() for w in result.model.get_weights())
if len(args["out"]) > 2:
    try:
        fit_letter("epsilon", out=args["out"][2], epochs=4, resume=True, **common)
        report["disagreement"] = "none"
    except RuntimeError as e:
        report["disagreement"] = str(e)

# The same plumbing on a model without sampling noise must match a single process exactly.
import keras
from glyphvae import _distribute as dist
from glyphvae.data.pipeline import make_dataset


class Toy(keras.Model):
    def __init__(self):
        super().__init__()
        init = keras.initializers.GlorotUniform
        self.code = keras.layers.Dense(4, kernel_initializer=init(seed=1))
        self.out = keras.layers.Dense(32 * 32 * 3, kernel_initializer=init(seed=2))

    def call(self, x):
        return self.out(self.code(keras.ops.reshape(x, (-1, 32 * 32 * 3))))

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        target = keras.ops.reshape(x, (-1, 32 * 32 * 3))
        return keras.ops.mean(keras.ops.square(y_pred - target))  # a per-replica mean


strategy = dist.get_strategy(args["strategy"])
with strategy.scope():
    toy = Toy()
    toy(np.zeros((1, 32, 32, 3), "float32"))
    toy.compile(keras.optimizers.SGD(0.5, global_clipnorm=0.05))  # clipping always active
dist.scale_loss_per_replica(toy, strategy)
dist.clip_after_all_reduce(toy.optimizer, strategy)
images = np.random.default_rng(0).integers(0, 256, (32, 32, 32, 3), dtype=np.uint8)
ds = dist.shard_by_data(make_dataset(images, batch_size=8, seed=0))
dist.match_distributed_data_order(ds, strategy)
with dist.keras_multi_worker_fix(strategy):
    toy_history = toy.fit(ds, epochs=2, verbose=0).history
report["toy_loss"] = toy_history["loss"]
report["toy_weights"] = [w.ravel()[:512].tolist() for w in toy.get_weights()]
with open(args["report"], "w") as f:
    json.dump(report, f)
"""

CONFIG = {
    **{k: list(v) if isinstance(v, tuple) else v for k, v in TINY.items()},
    "batch_size": 8,
    "kl_warmup_epochs": 1,
    "val_fraction": 0.3,
    "prior_components": 0,
    "adversarial_weight": 0.0,
    "sample_every": 3,  # the chief decodes a grid with a plain copy of the model
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _launch(args: dict, tf_config: dict | None, tmpdir: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "NO_ALBUMENTATIONS_UPDATE": "1",
        "CUDA_VISIBLE_DEVICES": "-1",  # CPU: the same kernels in every process
        "TMPDIR": str(tmpdir),
    }
    env.pop("TF_CONFIG", None)
    if tf_config is not None:
        env["TF_CONFIG"] = json.dumps(tf_config)
    tmpdir.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, json.dumps(args)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_all(procs: dict[str, subprocess.Popen]) -> None:
    """Wait for every process; on any failure, show each one's output."""
    outputs = {}
    for name, proc in procs.items():
        try:
            outputs[name], _ = proc.communicate(timeout=420)
        except subprocess.TimeoutExpired:
            proc.kill()
            outputs[name] = proc.communicate()[0] + "\n(timed out)"
    failed = [name for name, proc in procs.items() if proc.returncode != 0]
    if failed:
        pytest.fail(
            "\n\n".join(
                f"--- {name} (exit {procs[name].returncode}):\n{outputs[name][-3000:]}"
                for name in procs
            ),
        )


def test_two_workers_train_like_one_process(tmp_path):
    # 8 crops per papyrus and a batch of 8: whole batches, whatever papyri are held out
    data = make_crop_tree(tmp_path / "data", per_letter=48, papyri=6)
    from glyphvae.data.dataset import load_glyphs

    glyphs = load_glyphs(data, "epsilon", image_size=TINY["image_size"], progress=False)
    train, val = glyphs.split(CONFIG["val_fraction"], seed=0)
    assert len(train) % CONFIG["batch_size"] == 0 and len(val) > 0
    probe = tmp_path / "probe.npy"
    np.save(probe, val.images[:8])

    shared, elsewhere = tmp_path / "run", tmp_path / "worker1-own-folder"
    ports = [_free_port(), _free_port()]
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs = {}
    # worker 1 first trains with a folder of its own (it must write nothing there), then
    # resumes from the chief's, then resumes from an empty folder (both workers must refuse)
    outs = [[shared, shared, shared], [elsewhere, shared, tmp_path / "empty"]]
    for index in range(2):
        args = {
            "data": str(data),
            "strategy": "multiworker",
            "config": CONFIG,
            "probe": str(probe),
            "report": str(tmp_path / f"worker{index}.json"),
            "out": [str(p) for p in outs[index]],
        }
        tf_config = {"cluster": cluster, "task": {"type": "worker", "index": index}}
        procs[f"worker {index}"] = _launch(args, tf_config, tmp_path / f"tmp{index}")
    single = {
        "data": str(data),
        "strategy": "default",
        "config": CONFIG,
        "probe": str(probe),
        "report": str(tmp_path / "single.json"),
        "out": [str(tmp_path / "single"), str(tmp_path / "single")],
    }
    procs["single process"] = _launch(single, None, tmp_path / "tmp-single")
    _wait_all(procs)

    chief, other, ref = (
        json.loads((tmp_path / f"{name}.json").read_text())
        for name in ("worker0", "worker1", "single")
    )
    # the plumbing is exact: without sampling noise, two workers == one process
    np.testing.assert_allclose(chief["toy_loss"], ref["toy_loss"], rtol=1e-5)
    for a, b in zip(chief["toy_weights"], ref["toy_weights"], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)

    # finite everything, and both workers hold the same model (synchronous training)
    assert chief["epochs"] == other["epochs"] == ref["epochs"] == 3
    for report in (chief, other, ref):
        assert report["weights_finite"]
        for values in report["history"].values():
            assert np.all(np.isfinite(values))
    np.testing.assert_allclose(chief["reconstruction"], other["reconstruction"], atol=1e-5)
    np.testing.assert_allclose(chief["history"]["loss"], other["history"]["loss"], rtol=1e-6)

    # the VAE trained like the single process, up to the reparameterisation noise
    dist_hist, ref_hist = chief["history"], ref["history"]
    for key, atol in (("loss", 0.05), ("val_loss", 0.08)):  # nats per dimension
        assert abs(dist_hist[key][-1] - ref_hist[key][-1]) < atol, (key, dist_hist, ref_hist)
    for key in ("mse", "val_mse"):
        np.testing.assert_allclose(dist_hist[key][-1], ref_hist[key][-1], rtol=0.06)
    crops = np.load(probe).astype(np.float32) / 255.0
    errors = [np.mean((np.asarray(r["reconstruction"]) - crops) ** 2) for r in (chief, ref)]
    np.testing.assert_allclose(errors[0], errors[1], rtol=0.1)

    # the same optimizer steps: whole global batches, each crop once per epoch
    steps_per_epoch = len(train) // CONFIG["batch_size"]
    for folder in (shared, tmp_path / "single"):
        archive = checkpoint_model_path(folder / "checkpoints")
        model = keras.saving.load_model(archive, custom_objects={"glyphvae>GlyphVAE": GlyphVAE})
        assert int(model.optimizer.iterations.numpy()) == 3 * steps_per_epoch
    meta = json.loads((shared / "metadata.json").read_text())
    assert meta["distribution"] == {
        "strategy": "multiworker",
        "replicas": 2,
        "workers": 2,
    }

    # only the chief wrote: the outputs, the checkpoints, the grids
    for name in ("model.weights.h5", "samples.png", "history.json", "samples/epoch_0003.png"):
        assert (shared / name).is_file(), name
    assert not elsewhere.exists(), sorted(elsewhere.rglob("*"))
    assert not any((tmp_path / "tmp1").iterdir()), "the non-chief left scratch files"
    # workers that find different checkpoints stop together instead of diverging
    assert "same checkpoint" in chief["disagreement"] and "same checkpoint" in other["disagreement"]


def test_tf_config_from_slurm():
    env = {"SLURM_PROCID": "2", "SLURM_NTASKS": "3", "SLURM_JOB_NODELIST": "n[1-3]"}
    config = tf_config_from_slurm(env, hostnames=["n1", "n2", "n3"], port=5000)
    assert config == {
        "cluster": {"worker": ["n1:5000", "n2:5000", "n3:5000"]},
        "task": {"type": "worker", "index": 2},
    }
    assert tf_config_from_slurm({"SLURM_PROCID": "0", "SLURM_NTASKS": "1"}) is None
    with pytest.raises(ValueError, match="one Slurm task per node"):
        tf_config_from_slurm(env, hostnames=["n1"], port=5000)
