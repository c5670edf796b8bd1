import numpy as np
import pytest

from glyphvae.data.dataset import GlyphSet
from glyphvae.downstream import (
    ARMS,
    DownstreamSetting,
    f1_scores,
    format_downstream,
    run_setting,
    summarise,
)
from glyphvae.letters import LETTER_NAMES, LETTERS


def test_f1_scores():
    y = np.array([0, 0, 1, 1, 2])
    p = np.array([0, 1, 1, 1, 0])
    f1 = f1_scores(y, p, 4)
    assert f1[0] == pytest.approx(0.5)
    assert f1[1] == pytest.approx(0.8)
    assert f1[2] == 0.0
    assert np.isnan(f1[3])


def _set(n_per, seed):
    import cv2

    rng = np.random.default_rng(seed)
    images, letters, groups = [], [], []
    for name in ("iota", "omicron"):
        for i in range(n_per):
            img = np.full((32, 32, 3), (0.8, 0.65, 0.45), np.float32)
            if name == "omicron":
                cv2.circle(img, (16, 16), 8, (0.1, 0.1, 0.1), 3)
            else:
                cv2.line(img, (16, 5), (16, 27), (0.1, 0.1, 0.1), 3)
            img += rng.normal(0, 0.03, img.shape).astype(np.float32)
            images.append((np.clip(img, 0, 1) * 255).astype(np.uint8))
            letters.append(name)
            groups.append(str(i % 4))
    return GlyphSet(np.stack(images), letters, groups, [""] * len(letters))


def test_run_setting_trains_every_arm_and_summarises():
    train, held = _set(20, 0), _set(6, 1)
    calls = []

    def generate(letter, seed, images, n):
        calls.append((letter, seed, len(images), n))
        return images[np.arange(n) % len(images)]  # a stand-in generator: recycled crops

    setting = DownstreamSetting(
        "low-data",
        ("omicron",),
        8,
        low_data=5,
        classifier_epochs=2,
        classifier_size=16,
        classifier_width=4,
    )
    messages = []
    raw = run_setting(setting, train, held, generate, seeds=[0, 1], progress=messages.append)
    last = raw["arms"]["filtered"][1]
    assert f"low-data: seed 1: filtered: macro-F1 {last['macro_f1']:.3f}" in messages[-1]
    assert calls == [("omicron", 0, 5, 8), ("omicron", 1, 5, 8)]  # the generator saw 5 crops only
    for arm in ARMS:
        assert len(raw["arms"][arm]) == 2
    real_n = raw["arms"]["real"][0]["n_train"]
    assert real_n == 20 + 5  # iota all, omicron cut to 5
    assert raw["arms"]["synthetic"][0]["n_train"] == real_n + 8
    assert raw["arms"]["oversampled"][0]["n_train"] == real_n + 8
    assert raw["arms"]["mixed"][0]["n_train"] == real_n + 8
    assert raw["arms"]["filtered"][0]["n_train"] == real_n + 8
    summary = summarise(raw)
    row = summary["metrics"]["omicron_f1"]
    assert set(row["arms"]) == set(ARMS)
    for arm in ("synthetic", "mixed", "filtered"):
        for baseline in ("real", "oversampled"):
            assert len(row[f"{arm}_minus_{baseline}"]["values"]) == 2
    text = format_downstream({"low_data": summary})
    assert "omicron_accuracy" in text and "macro_f1" in text
    assert "mixed - oversampled" in text and "filtered - oversampled" in text


# generated stand-ins: flat images, value = how likely the recording classifier finds them
_GENERATED = [3, 9, 1, 7, 5, 2, 8, 4, 6]


def _recording_classifier(monkeypatch):
    """Replace the classifier with a recorder of its training sets, whose probability of
    every letter for an image is the image's mean pixel value / 255."""
    import glyphvae.classifier

    seen = []

    class Recorded:
        def predict_proba(self, images):
            p = np.asarray(images, np.float64).mean(axis=(1, 2, 3)) / 255.0
            return np.repeat(p[:, None], len(LETTER_NAMES), axis=1)

    def record(x, y, **kwargs):
        seen.append((x, y))
        return Recorded()

    monkeypatch.setattr(glyphvae.classifier, "train_classifier", record)
    return seen


def _generated_stand_ins(*_args):
    return np.stack([np.full((32, 32, 3), v, np.uint8) for v in _GENERATED])


def test_each_arm_gets_its_own_added_crops(monkeypatch):
    """real adds nothing; oversampled repeats kept real crops; synthetic adds the generated
    glyphs; mixed adds repeats and the first generated glyphs; filtered adds the same repeats
    and the generated glyphs the oversampled arm's classifier rates highest."""
    train, held = _set(20, 0), _set(6, 1)
    seen = _recording_classifier(monkeypatch)
    setting = DownstreamSetting("low-data", ("omicron",), 9, low_data=5, classifier_epochs=1)
    raw = run_setting(setting, train, held, _generated_stand_ins, seeds=[3])
    assert [r["n_train"] for arm in ARMS for r in raw["arms"][arm]] == [25, 34, 34, 34, 34]
    (real_x, _), *added = seen
    kept = {x.tobytes() for x in real_x}
    expected = [  # (repeated real crops, generated values) per arm after real
        (9, []),
        (0, _GENERATED),
        (4, _GENERATED[:5]),
        (4, [9, 8, 7, 6, 5]),  # the 5 of 9 rated most likely, best first
    ]
    repeats = []
    for (x, y), (n_real, values) in zip(added, expected, strict=True):
        extra = x[len(real_x) :]
        np.testing.assert_array_equal(x[: len(real_x)], real_x)
        flat = np.all(extra == extra[:, :1, :1, :1], axis=(1, 2, 3))  # real crops are noisy
        assert extra[flat][:, 0, 0, 0].tolist() == values
        assert all(e.tobytes() in kept for e in extra[~flat])  # repeats of kept crops
        assert int((~flat).sum()) == n_real
        repeats.append(extra[~flat])
        assert set(y[len(real_x) :].tolist()) == {LETTERS["omicron"].index}
    np.testing.assert_array_equal(repeats[2], repeats[3])  # mixed and filtered: same repeats


def test_the_filtered_arm_screens_a_larger_pool_and_the_others_keep_its_start(monkeypatch):
    pool = [*_GENERATED, 14, 10, 17, 11, 15, 12, 16, 13, 18]  # twice as many, brighter
    asked = []

    def generate(_letter, _seed, _images, n):
        asked.append(n)
        return np.stack([np.full((32, 32, 3), v, np.uint8) for v in pool[:n]])

    train, held = _set(20, 0), _set(6, 1)
    seen = _recording_classifier(monkeypatch)
    setting = DownstreamSetting("low-data", ("omicron",), 9, low_data=5, screen_pool=2)
    raw = run_setting(setting, train, held, generate, seeds=[3], arms=["synthetic", "filtered"])
    assert asked == [18] and raw["screen_pool"] == 2
    generated = []
    for x, _ in seen:  # oversampled, synthetic, filtered
        extra = x[-9:]  # the 9 added crops
        flat = np.all(extra == extra[:, :1, :1, :1], axis=(1, 2, 3))
        generated.append(extra[flat][:, 0, 0, 0].tolist())
    assert generated == [[], _GENERATED, [18, 17, 16, 15, 14]]  # the best 5 of all 18
    with pytest.raises(ValueError, match=r"Expected 18 generated omicron glyphs\. Received 9"):
        run_setting(setting, train, held, _generated_stand_ins, seeds=[3])  # always 9


@pytest.mark.parametrize("field", ["n_synthetic", "screen_pool"])
def test_a_setting_refuses_fewer_than_one_glyph(field):
    with pytest.raises(ValueError, match=rf"Expected `{field}` to be an integer >= 1\. Received 0"):
        DownstreamSetting("full", ("omicron",), **{"n_synthetic": 4, field: 0})


def test_a_subset_of_arms_gets_the_same_crops_as_a_run_of_all(monkeypatch):
    train, held = _set(20, 0), _set(6, 1)
    seen = _recording_classifier(monkeypatch)
    setting = DownstreamSetting("low-data", ("omicron",), 9, low_data=5, classifier_epochs=1)
    run_setting(setting, train, held, _generated_stand_ins, seeds=[3, 4])
    every = {arm: [seen[i * len(ARMS) + k] for i in range(2)] for k, arm in enumerate(ARMS)}
    seen.clear()
    raw = run_setting(
        setting, train, held, _generated_stand_ins, seeds=[3, 4], arms=["filtered", "real"]
    )
    assert list(raw["arms"]) == ["real", "oversampled", "filtered"]  # filtered needs oversampled
    for i, arm in enumerate(("real", "oversampled", "filtered")):
        for s in range(2):
            x, y = seen[s * 3 + i]
            np.testing.assert_array_equal(x, every[arm][s][0])
            np.testing.assert_array_equal(y, every[arm][s][1])
    text = format_downstream({"low_data": summarise(raw)})
    assert "filtered - oversampled" in text and "mixed" not in text


@pytest.mark.parametrize("arms", [[], ["real", "smote"]])
def test_run_setting_refuses_unknown_or_no_arms(arms):
    train, held = _set(4, 0), _set(2, 1)
    setting = DownstreamSetting("full", ("omicron",), 2)
    with pytest.raises(ValueError, match="Expected one or more arms of"):
        run_setting(setting, train, held, _generated_stand_ins, seeds=[0], arms=arms)


def _record_train_vae(monkeypatch):
    """Let ``train_vae`` run as usual, recording each call: crop count, letter, config,
    ``init_from`` and the trained model."""
    import glyphvae.training

    calls = []
    real_train_vae = glyphvae.training.train_vae

    def spy(images, letter, config, init_from=None, **kwargs):
        model = real_train_vae(images, letter, config=config, init_from=init_from, **kwargs)
        record = {"n": len(images), "letter": letter, "config": config, "init": init_from}
        calls.append(record | {"model": model})
        return model

    monkeypatch.setattr(glyphvae.training, "train_vae", spy)
    return calls


def test_evaluate_downstream_low_data_trains_each_vae_for_the_step_budget(crop_tree, monkeypatch):
    from glyphvae.downstream import evaluate_downstream
    from glyphvae.models import GlyphVAE
    from tests.conftest import TINY, tiny_train_config

    calls = _record_train_vae(monkeypatch)
    model = GlyphVAE(**TINY, letter="epsilon", texture=True)
    result = evaluate_downstream(
        {"epsilon": model},
        crop_tree,
        seeds=[0],
        n_synthetic=4,
        low_data=6,
        classifier_epochs=1,
        train_configs={"epsilon": tiny_train_config(batch_size=4)},
        val_fraction=0.3,
        low_data_steps=5,
        settings=("low_data",),
    )
    assert set(result) == {"low_data"}
    # one low-data VAE, on the 6 kept crops, for ceil(5 steps / 2 steps per epoch) epochs
    trained = [(r["n"], r["letter"], r["config"].epochs, r["config"].texture) for r in calls]
    assert trained == [(6, "epsilon", 3, True)]
    for summary in result.values():
        assert set(summary["metrics"]["epsilon_f1"]["arms"]) == set(ARMS)


def test_low_data_vaes_fine_tune_a_base_that_never_saw_the_augmented_letter(crop_tree, monkeypatch):
    from glyphvae.downstream import evaluate_downstream
    from glyphvae.models import GlyphVAE
    from tests.conftest import TINY, tiny_train_config

    trained = _record_train_vae(monkeypatch)
    model = GlyphVAE(**TINY, letter="epsilon")
    result = evaluate_downstream(
        {"epsilon": model},
        crop_tree,
        seeds=[0, 1],
        n_synthetic=4,
        low_data=6,
        classifier_epochs=1,
        train_configs={"epsilon": tiny_train_config(batch_size=4)},
        val_fraction=0.3,
        low_data_steps=2,
        pretrain_steps=3,
        low_data_temperature=0.5,
        settings=("low_data",),
        arms=("real",),  # the VAEs are trained whatever the arms; one classifier per seed
    )
    assert result["low_data"]["temperature"] == 0.5
    base, *low = trained
    # the base: once, on the alpha crops of the training papyri only (no epsilon at all)
    assert base["letter"] is None and base["init"] is None
    assert base["model"].letter is None
    info = result["low_data"]["pretrain"]
    assert info["crops"] == base["n"] and 0 < base["n"] < 24 and info["steps"] >= 3
    # both seeds' epsilon VAEs start from that one base
    assert [(r["n"], r["letter"], r["init"]) for r in low] == [(6, "epsilon", base["model"])] * 2

    with pytest.raises(ValueError, match="other than the augmented ones"):
        evaluate_downstream(
            {"epsilon": model, "alpha": GlyphVAE(**TINY, letter="alpha")},
            crop_tree,
            seeds=[0],
            low_data=6,
            train_configs={"epsilon": tiny_train_config(batch_size=4)},
            val_fraction=0.3,
            pretrain_steps=3,
            settings=("low_data",),
        )


def test_train_vae_refuses_a_base_of_another_architecture_by_name():
    # fine-tuning itself (weights copied) is checked through fit_letter in test_training.py
    from glyphvae.models import GlyphVAE
    from glyphvae.training import train_vae
    from tests.conftest import tiny_train_config
    from tests.helpers import draw_glyph

    rng = np.random.default_rng(0)
    images = np.stack([(draw_glyph(rng, 32, 32) * 255).astype(np.uint8) for _ in range(8)])
    cfg = tiny_train_config(epochs=1, batch_size=8, texture=False)
    other = GlyphVAE(image_size=32, latent_dim=8, channels=(8, 16), res_blocks=(0, 1))
    with pytest.raises(ValueError, match=r"latent_dim.*\(8, 4\)"):
        train_vae(images, "alpha", config=cfg, init_from=other)


def test_tuning_tests_on_training_papyri_and_never_on_the_held_out_ones(crop_tree, monkeypatch):
    import glyphvae.downstream
    from glyphvae.data.dataset import load_glyphs
    from glyphvae.downstream import evaluate_downstream, format_downstream
    from glyphvae.models import GlyphVAE
    from tests.conftest import TINY, tiny_train_config

    seen = []
    real_run_setting = glyphvae.downstream.run_setting

    def spy(setting, train, heldout, *args, **kwargs):
        seen.append((set(train.groups), set(heldout.groups)))
        return real_run_setting(setting, train, heldout, *args, **kwargs)

    monkeypatch.setattr(glyphvae.downstream, "run_setting", spy)
    model = GlyphVAE(**TINY, letter="epsilon")
    kwargs = {
        "seeds": [0],
        "n_synthetic": 4,
        "low_data": 6,
        "classifier_epochs": 1,
        "train_configs": {"epsilon": tiny_train_config(batch_size=4)},
        "val_fraction": 0.5,
        "low_data_steps": 1,
        "settings": ("low_data",),
        "arms": ("real",),
    }
    result = evaluate_downstream({"epsilon": model}, crop_tree, tuning=True, **kwargs)
    evaluate_downstream({"epsilon": model}, crop_tree, **kwargs)

    outer_train, outer_held = load_glyphs(crop_tree, None, image_size=32).split(0.5, seed=0)
    (tune_train, tune_test), (train, test) = seen
    assert (train, test) == (set(outer_train.groups), set(outer_held.groups))
    # tuning: trains and tests on two disjoint parts of the training papyri only
    assert tune_test and tune_train and not tune_test & tune_train
    assert tune_train | tune_test == set(outer_train.groups)
    assert result["low_data"]["test_set"] == "tuning"
    assert "tuning-papyri crops" in format_downstream(result)

    with pytest.raises(ValueError, match="the full-data models were trained on the tuning"):
        evaluate_downstream({"epsilon": model}, crop_tree, tuning=True, settings=("full",))
