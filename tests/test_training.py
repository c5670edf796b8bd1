import json
import warnings

import keras
import numpy as np
import pytest

from glyphvae.data.pipeline import AugmentConfig
from glyphvae.hub import from_pretrained
from glyphvae.training import NonFiniteLossError, TrainConfig, fit_letter
from tests.conftest import tiny_train_config
from tests.helpers import PAPER, make_crop_tree

TINY_TRAIN = tiny_train_config()


def test_fit_writes_every_output(crop_tree, tmp_path):
    out = tmp_path / "run"
    result = fit_letter("ε", data=crop_tree, out=out, config=TINY_TRAIN, verbose=0)
    for name in (
        "config.json",
        "model.weights.h5",
        "metadata.json",
        "history.json",
        "samples.png",
        "reconstructions.png",
        "loss.png",
        "checkpoints/epoch-0002.keras",
        "checkpoints/state.json",
    ):
        assert (out / name).is_file(), name
    history = json.loads((out / "history.json").read_text())
    assert len(history["loss"]) == 2 and np.all(np.isfinite(history["loss"]))
    assert "val_loss" in history and "seconds" in history
    meta = json.loads((out / "metadata.json").read_text())
    split = meta["data"]["split"]
    assert split["by"] == "group"
    assert not set(split["train_groups"]) & set(split["val_groups"])
    assert meta["letter"] == "epsilon" and meta["training_status"] == "complete"
    assert result.epochs == 2 and result.images_per_second > 0
    loaded = from_pretrained(out)
    np.testing.assert_array_equal(loaded.generate(4, seed=0), result.model.generate(4, seed=0))


def test_data_default_comes_from_environment(crop_tree, tmp_path, monkeypatch):
    monkeypatch.setenv("GLYPHVAE_DATA", str(crop_tree))
    result = fit_letter("alpha", out=tmp_path / "a", config=TINY_TRAIN, epochs=1, verbose=0)
    assert result.epochs == 1


def test_no_data_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("GLYPHVAE_DATA", raising=False)
    with pytest.raises(FileNotFoundError, match=r"--data DIR .* GLYPHVAE_DATA"):
        fit_letter("alpha", out=tmp_path / "a", config=TINY_TRAIN, verbose=0)


def test_refuses_to_overwrite_then_resumes_to_the_same_epoch_count(crop_tree, tmp_path):
    out = tmp_path / "run"
    fit_letter("epsilon", data=crop_tree, out=out, config=TINY_TRAIN, verbose=0)
    with pytest.raises(FileExistsError, match="--resume"):
        fit_letter("epsilon", data=crop_tree, out=out, config=TINY_TRAIN, verbose=0)
    result = fit_letter(
        "epsilon", data=crop_tree, out=out, config=TINY_TRAIN, epochs=4, resume=True, verbose=0
    )
    assert result.epochs == 4
    history = json.loads((out / "history.json").read_text())
    assert len(history["loss"]) == 4
    state = json.loads((out / "checkpoints" / "state.json").read_text())
    assert state["epoch"] == 4
    # the optimizer continued rather than restarting: 4 epochs of steps in total
    steps_per_epoch = state["split"]["n_train"] // TINY_TRAIN.batch_size  # whole batches
    assert int(result.model.optimizer.iterations.numpy()) == 4 * steps_per_epoch
    fresh = fit_letter(
        "epsilon", data=crop_tree, out=out, config=TINY_TRAIN, overwrite=True, verbose=0
    )
    assert fresh.epochs == 2


class _PoisonAtEpoch(keras.callbacks.Callback):
    """Test helper: puts a NaN into the decoder's weights at the start of a given epoch."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            kernel = self.model.decoder.get_layer("project").kernel
            kernel.assign(np.full(kernel.shape, np.nan, np.float32))


def test_non_finite_loss_stops_with_message_and_keeps_last_good_checkpoint(crop_tree, tmp_path):
    out = tmp_path / "run"
    with pytest.raises(NonFiniteLossError, match=r"epoch 3.*last good checkpoint \(epoch 2\)"):
        fit_letter(
            "epsilon",
            data=crop_tree,
            out=out,
            config=TINY_TRAIN,
            epochs=4,
            callbacks=[_PoisonAtEpoch(2)],
            verbose=0,
        )
    state = json.loads((out / "checkpoints" / "state.json").read_text())
    assert state["epoch"] == 2
    model = from_pretrained(out)
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())
    assert np.all(np.isfinite(model.generate(4, seed=0)))


def test_generated_colour_matches_training_colour(tmp_path):
    # strongly coloured paper (red > green > blue): a channel swap or a colour cast fails this
    data = make_crop_tree(tmp_path / "data", per_letter=40, papyri=8, paper=PAPER)
    result = fit_letter(
        "epsilon",
        data=data,
        out=tmp_path / "run",
        config=TINY_TRAIN,
        epochs=4,
        augment=AugmentConfig.none(),
        verbose=0,
    )
    meta = json.loads((tmp_path / "run" / "metadata.json").read_text())
    n_train = meta["data"]["split"]["n_train"]
    from glyphvae.data.dataset import load_glyphs

    glyphs = load_glyphs(data, "epsilon", image_size=32, progress=False)
    train_mean = np.asarray(glyphs.mean_color())
    assert n_train < len(glyphs)
    generated = result.model.generate(500, seed=0)
    gen_mean = generated.reshape(-1, 3).mean(0)
    np.testing.assert_allclose(gen_mean, train_mean, atol=0.05)
    assert gen_mean[0] > gen_mean[1] > gen_mean[2]


def test_bad_config_values():
    with pytest.raises(ValueError, match="epochs"):
        TrainConfig(epochs=0)
    with pytest.raises(ValueError, match="multiple of 16"):
        TrainConfig(image_size=60)
    with pytest.raises(ValueError, match="unknown"):
        TrainConfig.from_dict({"epoch": 3})
    config = TrainConfig(channels=(8, 16), res_blocks=(0, 1))
    assert TrainConfig.from_dict(config.to_dict()) == config


def test_mixed_precision_trains_finite_in_float32_and_resumes(crop_tree, tmp_path):
    out = tmp_path / "run"
    result = fit_letter(
        "epsilon",
        data=crop_tree,
        out=out,
        config=TINY_TRAIN,
        epochs=1,
        mixed_precision=True,
        verbose=0,
    )
    model = result.model
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    policies = {layer.dtype_policy.name for layer in model.decoder.layers}
    assert "mixed_float16" in policies
    assert all(np.all(np.isfinite(v)) for v in result.history.values())
    outputs = model(np.zeros((2, 32, 32, 3), np.float32))
    assert {keras.backend.standardize_dtype(v.dtype) for v in outputs.values()} == {"float32"}
    assert model.generate(3, seed=0).dtype == np.float32
    # resuming rebuilds the sub-networks in mixed precision, and speed options may change
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        resumed = fit_letter(
            "epsilon",
            data=crop_tree,
            out=out,
            config=TINY_TRAIN,
            epochs=2,
            resume=True,
            mixed_precision=True,
            steps_per_execution=2,
            verbose=0,
        )
    assert {layer.dtype_policy.name for layer in resumed.model.decoder.layers} == policies
    assert resumed.model.steps_per_execution == 2
    assert len(resumed.history["loss"]) == 2 and np.all(np.isfinite(resumed.history["loss"]))


def test_cli_speed_options_reach_the_run(crop_tree, tmp_path):
    from click.testing import CliRunner

    from glyphvae.cli import main

    out = tmp_path / "run"
    args = ["fit", "--letter", "epsilon", "--data", str(crop_tree), "--out", str(out)]
    args += ["--image-size", "32", "--latent-dim", "4", "--epochs", "1", "--batch-size", "4"]
    args += ["--jit-compile", "off", "--steps-per-execution", "3", "--strategy", "default"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "images/s training" in result.output
    training = json.loads((out / "metadata.json").read_text())["training"]
    assert training["jit_compile"] is False and training["steps_per_execution"] == 3
    assert training["strategy"] == "default"
    history = json.loads((out / "history.json").read_text())
    assert np.all(np.isfinite(history["loss"]))


def test_speed_and_strategy_options_are_checked():
    with pytest.raises(ValueError, match="strategy"):
        TrainConfig(strategy="tpu")
    with pytest.raises(ValueError, match="steps_per_execution"):
        TrainConfig(steps_per_execution=0)
    config = TrainConfig(jit_compile=False, steps_per_execution=4, strategy="mirrored")
    assert TrainConfig.from_dict(config.to_dict()) == config


def test_fit_from_a_base_model_starts_from_its_weights_and_records_it(crop_tree, tmp_path):
    from click.testing import CliRunner

    from glyphvae.cli import main

    # the CLI's architecture for 32 px (it has no --channels): the config's defaults
    config = tiny_train_config(channels=None, res_blocks=None, epochs=1)
    base = fit_letter("alpha", data=crop_tree, out=tmp_path / "base", config=config, verbose=0)
    out = tmp_path / "epsilon"
    args = ["fit", "--letter", "epsilon", "--data", str(crop_tree), "--out", str(out)]
    args += ["--image-size", "32", "--latent-dim", "4", "--batch-size", "8", "--quiet"]
    args += ["--epochs", "1", "--learning-rate", "1e-9", "--init-from", str(tmp_path / "base")]
    tiny = ["--val-fraction", "0.25", "--kl-warmup-epochs", "1"]
    result = CliRunner().invoke(main, args + tiny)
    assert result.exit_code == 0, result.output
    tuned = from_pretrained(out)
    kernels = {w.path: np.asarray(w) for w in base.model.weights if w.path.endswith("kernel")}
    assert kernels
    for w in tuned.weights:
        if w.path in kernels:  # a learning rate of 1e-9: still the base's weights
            np.testing.assert_allclose(np.asarray(w), kernels[w.path], atol=1e-5)
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["letter"] == "epsilon" and meta["init_from"] == str(tmp_path / "base")
    # resuming keeps the record without being told again
    again = fit_letter("epsilon", data=crop_tree, out=out, epochs=2, resume=True, verbose=0)
    assert again.epochs == 2
    assert json.loads((out / "metadata.json").read_text())["init_from"] == str(tmp_path / "base")
    # another architecture is refused, naming what differs
    wrong = CliRunner().invoke(main, [*args, "--latent-dim", "8", "--overwrite", *tiny])
    assert wrong.exit_code != 0 and "latent_dim" in wrong.output, wrong.output
