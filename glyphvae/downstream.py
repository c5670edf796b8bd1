"""Downstream gain: does adding generated glyphs make a letter classifier better?

The figure an OCR user cares about. The letter classifier is trained up to five ways and
tested on the crops of held-out papyri:

* **real**: the real training crops of all 24 letters;
* **oversampled**: the same, with the augmented letters' real crops repeated (drawn with
  replacement) to add as many crops as the synthetic arm adds: what a user does without a
  generator;
* **synthetic**: the real crops plus generated glyphs of the augmented letters;
* **mixed**: the real crops plus, per augmented letter, half the added count as repeated real
  crops (the oversampled arm's first half) and half as generated glyphs (the synthetic arm's
  first half): oversampling *and* a generator, at the same added count as the other two;
* **filtered**: the mixed arm with its generated half *chosen*: of the synthetic arm's
  glyphs (or of a larger pool, ``screen_pool`` times as many, drawn from the same model),
  the ones that the oversampled arm's classifier (trained on real crops only) finds most
  likely to be the letter. What a user with a generator and a classifier can do: screen the
  generated glyphs before training on them.

Reported per arm, over several seeds (mean, standard deviation and every value): accuracy and
F1 of each augmented letter and macro-F1 over all letters. The arms with generated glyphs
(synthetic, mixed, filtered) are each compared with the two without (real, oversampled).
Differences are given per seed (paired: same seed, same real crops) and called significant
only when the mean paired gain exceeds the larger of the two arms' seed-to-seed standard
deviations.

The **low-data** setting keeps only ``low_data`` real training crops of each augmented letter
(a seeded subset), trains that letter's VAE on those crops only, and compares the arms
again: the situation of a rare letter, where users need synthesis most. Each low-data VAE can
start from a *base* model (``pretrained`` or ``pretrain_steps``): one VAE trained on the crops
of the other letters, then fine-tuned on the few crops of the letter. The base never sees the
augmented letters' crops, so the crops the setting drops cannot reach the generator.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from glyphvae.data.dataset import GlyphSet
from glyphvae.letters import LETTER_NAMES, LETTERS, resolve_letter

__all__ = [
    "ARMS",
    "DownstreamSetting",
    "evaluate_downstream",
    "f1_scores",
    "format_downstream",
    "run_setting",
    "summarise",
]

ARMS = ("real", "oversampled", "synthetic", "mixed", "filtered")
# arms with generated glyphs, each compared with each arm without
GENERATED_ARMS = ("synthetic", "mixed", "filtered")
BASELINE_ARMS = ("real", "oversampled")

# (letter, seed, train crops of the letter) -> generated uint8 glyphs of that letter
GlyphSource = Callable[[str, int, np.ndarray, int], np.ndarray]


def f1_scores(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """Per-class F1 scores ``(num_classes,)``; classes absent from both get NaN.

    >>> f1_scores(np.array([0, 0, 1]), np.array([0, 1, 1]), 2).round(3).tolist()
    [0.667, 0.667]
    """
    scores = np.full(num_classes, np.nan)
    for c in range(num_classes):
        tp = np.sum((y_pred == c) & (y_true == c))
        fp = np.sum((y_pred == c) & (y_true != c))
        fn = np.sum((y_pred != c) & (y_true == c))
        if tp + fp + fn:
            scores[c] = 2 * tp / (2 * tp + fp + fn)
    return scores


@dataclass(frozen=True)
class DownstreamSetting:
    """One experimental setting.

    Attributes:
        name: ``"full"`` or ``"low-data"`` (a label for the report).
        letters: Augmented letters.
        n_synthetic: Crops added per augmented letter in the oversampled and synthetic arms.
        low_data: Keep only this many real training crops per augmented letter (``None``: all).
        classifier_epochs: Epochs of each classifier training.
        classifier_size: Classifier input side.
        classifier_width: Classifier first-block channels.
        screen_pool: The filtered arm chooses its generated glyphs from ``screen_pool *
            n_synthetic`` generated ones (the synthetic and mixed arms take the first
            ``n_synthetic``); 1 chooses among the synthetic arm's own glyphs.

    Raises:
        ValueError: If ``n_synthetic`` or ``screen_pool`` is below 1.
    """

    name: str
    letters: tuple[str, ...]
    n_synthetic: int
    low_data: int | None = None
    classifier_epochs: int = 12
    classifier_size: int = 32
    classifier_width: int = 16
    screen_pool: int = 1

    def __post_init__(self) -> None:
        for name in ("n_synthetic", "screen_pool"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"Expected `{name}` to be an integer >= 1. Received {value!r}")


def _epochs_for_steps(steps: int, n_images: int, batch_size: int) -> int:
    """Epochs of ``ceil(n_images / batch_size)`` steps that give at least ``steps`` steps."""
    return max(1, int(np.ceil(steps / np.ceil(n_images / batch_size))))


def _labels(glyphs: GlyphSet) -> np.ndarray:
    return np.array([LETTERS[name].index for name in glyphs.letters], dtype=np.int32)


def _resolve_arms(arms: Sequence[str]) -> tuple[str, ...]:
    """``arms`` in :data:`ARMS` order, with ``oversampled`` added when ``filtered`` needs it."""
    unknown = sorted(set(arms) - set(ARMS))
    if unknown or not arms:
        raise ValueError(
            f"Expected one or more arms of {list(ARMS)}. Received {list(arms)}"
            + (f" (unknown: {unknown})" if unknown else "")
        )
    wanted = set(arms) | ({"oversampled"} if "filtered" in arms else set())
    return tuple(arm for arm in ARMS if arm in wanted)


def _most_likely(proba: np.ndarray, letter_index: int, k: int) -> np.ndarray:
    """Indices of the ``k`` rows of ``proba`` most likely to be ``letter_index``, best first.

    >>> _most_likely(np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]), 1, 2).tolist()
    [1, 2]
    """
    return np.argsort(-proba[:, letter_index], kind="stable")[:k]


def _added(
    arm: str, pool: np.ndarray, over: np.ndarray, letter_index: int, screen: Any
) -> np.ndarray:
    """The crops ``arm`` adds for one letter, from its generated glyphs ``pool`` (at least as
    many as ``over``) and its repeated real crops ``over``. The synthetic and mixed arms take
    the first ``len(over)`` generated glyphs; the filtered arm takes the ones of the whole pool
    that ``screen`` rates most likely (the oversampled arm's classifier; ``None`` until it has
    trained)."""
    n, half = len(over), len(over) // 2
    synth = pool[:n]
    if arm == "real":
        return over[:0]
    if arm == "oversampled":
        return over
    if arm == "synthetic":
        return synth
    if arm == "mixed":
        return np.concatenate([over[:half], synth[: n - half]])
    if screen is None:  # filtered
        raise ValueError("Expected the oversampled arm's classifier to screen with. Received None")
    best = _most_likely(screen.predict_proba(pool), letter_index, n - half)
    return np.concatenate([over[:half], pool[best]])


def run_setting(
    setting: DownstreamSetting,
    train: GlyphSet,
    heldout: GlyphSet,
    generate: GlyphSource,
    seeds: Sequence[int],
    progress: Callable[[str], None] | None = None,
    arms: Sequence[str] = ARMS,
) -> dict[str, Any]:
    """Train and test the arms (:data:`ARMS`) for every seed of one setting.

    Args:
        setting: What to run.
        train: Real training crops of all letters (held-out papyri excluded).
        heldout: Real crops of held-out papyri (the test set).
        generate: ``generate(letter, seed, letter_train_images, n) -> uint8 glyphs``, called
            with ``n = n_synthetic * screen_pool``; in the low-data setting it receives only
            the kept crops, and must train its model on them.
        seeds: Seeds; each seed draws its own low-data subset, synthetic glyphs and
            classifier initialisation, shared by the arms.
        progress: Called with a short message before each training and with each arm's
            scores after it (a long run shows its figures as they come).
        arms: The arms to train (default: all). ``filtered`` screens with the oversampled
            arm's classifier, so ``oversampled`` is trained with it. The random draws do not
            depend on the arms chosen: an arm gets the same training set as in a run of all
            arms.

    Returns:
        Raw per-seed results: ``{"arms": {arm: [per-seed dict]}, ...}``.

    Raises:
        ValueError: If ``arms`` is empty or names an unknown arm, or ``generate`` returns
            another number of glyphs than it was asked for.
    """
    from glyphvae.classifier import train_classifier

    arms = _resolve_arms(arms)
    letters = tuple(resolve_letter(x) for x in setting.letters)
    index = {letter: LETTERS[letter].index for letter in letters}
    y_train, y_test = _labels(train), _labels(heldout)
    results: dict[str, list[dict[str, Any]]] = {arm: [] for arm in arms}
    n = setting.n_synthetic
    n_pool = n * setting.screen_pool  # whatever the arms, so each arm's crops stay the same
    for seed in seeds:
        rng = np.random.default_rng(seed)
        keep = np.ones(len(train), dtype=bool)
        pools: dict[str, np.ndarray] = {}  # generated glyphs per letter
        overs: dict[str, np.ndarray] = {}
        for letter in letters:
            idx = np.flatnonzero(y_train == index[letter])
            if setting.low_data is not None and len(idx) > setting.low_data:
                drop = rng.choice(idx, len(idx) - setting.low_data, replace=False)
                keep[drop] = False
                idx = np.setdiff1d(idx, drop)
            if progress:
                progress(f"{setting.name}: seed {seed}: generating {n_pool} {letter}")
            pools[letter] = np.asarray(generate(letter, seed, train.images[idx], n_pool), np.uint8)
            if len(pools[letter]) != n_pool:
                raise ValueError(
                    f"Expected {n_pool} generated {letter} glyphs. Received {len(pools[letter])}"
                )
            overs[letter] = train.images[rng.choice(idx, n, replace=True)]
        base_x, base_y = train.images[keep], y_train[keep]
        screen = None  # the oversampled arm's classifier, which the filtered arm screens with
        for arm in arms:
            extra = [_added(arm, pools[k], overs[k], index[k], screen) for k in letters]
            labels = [
                np.full(len(e), index[k], np.int32) for e, k in zip(extra, letters, strict=True)
            ]
            x, y = np.concatenate([base_x, *extra]), np.concatenate([base_y, *labels])
            if progress:
                progress(f"{setting.name}: seed {seed}: classifier on {arm} ({len(x)} crops)")
            clf = train_classifier(
                x,
                y,
                epochs=setting.classifier_epochs,
                seed=seed,
                image_size=setting.classifier_size,
                width=setting.classifier_width,
            )
            if arm == "oversampled":
                screen = clf
            pred = clf.predict_proba(heldout.images).argmax(axis=1)
            f1 = f1_scores(y_test, pred, len(LETTER_NAMES))
            per_letter = {
                letter: {
                    "accuracy": float(np.mean(pred[y_test == index[letter]] == index[letter])),
                    "f1": float(f1[index[letter]]),
                }
                for letter in letters
            }
            record = {
                "seed": int(seed),
                "accuracy": float(np.mean(pred == y_test)),
                "macro_f1": float(np.nanmean(f1)),
                "letters": per_letter,
                "n_train": len(x),
            }
            results[arm].append(record)
            if progress:
                scores = ", ".join(f"{k} F1 {v['f1']:.3f}" for k, v in per_letter.items())
                progress(
                    f"{setting.name}: seed {seed}: {arm}: "
                    f"macro-F1 {record['macro_f1']:.3f}, {scores}"
                )
    return {
        "setting": setting.name,
        "letters": list(letters),
        "n_synthetic": setting.n_synthetic,
        "screen_pool": setting.screen_pool,
        "low_data": setting.low_data,
        "classifier_epochs": setting.classifier_epochs,
        "seeds": [int(s) for s in seeds],
        "n_heldout": len(heldout),
        "arms": results,
    }


def _stats(values: Sequence[float]) -> dict[str, Any]:
    arr = np.asarray(values, dtype=np.float64)
    return {
        "mean": float(arr.mean()),
        "std": float(arr.std(ddof=1)) if len(arr) > 1 else 0.0,
        "values": arr.tolist(),
    }


def summarise(raw: dict[str, Any]) -> dict[str, Any]:
    """Means, spreads and paired gains of a :func:`run_setting` result.

    Each arm with generated glyphs present in ``raw`` gets ``"<arm>_minus_<baseline>"`` per
    baseline arm (a result of an older run, without the mixed arm, is summarised too).
    """
    arms = raw["arms"]
    present = [arm for arm in ARMS if arm in arms]

    def per_letter(letter: str, key: str) -> Callable[[dict[str, Any]], float]:
        return lambda r: float(r["letters"][letter][key])

    metrics: dict[str, Callable[[dict[str, Any]], float]] = {
        "macro_f1": lambda r: float(r["macro_f1"])
    }
    for letter in raw["letters"]:
        metrics[f"{letter}_accuracy"] = per_letter(letter, "accuracy")
        metrics[f"{letter}_f1"] = per_letter(letter, "f1")
    table: dict[str, Any] = {}
    for metric, get in metrics.items():
        per_arm = {arm: _stats([get(r) for r in arms[arm]]) for arm in present}
        gains = {}
        for arm in GENERATED_ARMS:
            for other in BASELINE_ARMS:
                if arm not in arms or other not in arms:
                    continue
                diff = [get(s) - get(o) for s, o in zip(arms[arm], arms[other], strict=True)]
                spread = max(per_arm[arm]["std"], per_arm[other]["std"])
                stats = _stats(diff)
                many = len(diff) > 1
                stats["beyond_spread"] = bool(stats["mean"] > spread) if many else False
                stats["worse_beyond_spread"] = bool(stats["mean"] < -spread) if many else False
                gains[f"{arm}_minus_{other}"] = stats
        table[metric] = {"arms": per_arm, **gains}
    return {key: raw[key] for key in raw if key != "arms"} | {"metrics": table}


def evaluate_downstream(
    models: dict[str, Any],
    data: Any,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    n_synthetic: int = 400,
    low_data: int | None = 50,
    classifier_epochs: int = 12,
    train_configs: dict[str, Any] | None = None,
    split_seed: int = 0,
    val_fraction: float = 0.15,
    progress: Callable[[str], None] | None = None,
    settings: Sequence[str] = ("full", "low_data"),
    low_data_steps: int | None = None,
    pretrained: Any | None = None,
    pretrain_steps: int | None = None,
    low_data_temperature: float | None = None,
    arms: Sequence[str] = ARMS,
    screen_pool: int = 1,
    tuning: bool = False,
) -> dict[str, Any]:
    """Run the full-data and the low-data settings for the letters of ``models``.

    Args:
        models: Letter name -> trained :class:`~glyphvae.models.GlyphVAE` (full data).
        data: Dataset folder with all 24 letters.
        seeds: Seeds of the repeated runs.
        n_synthetic: Glyphs added per augmented letter.
        low_data: Real crops kept per augmented letter in the low-data setting (``None``
            skips that setting).
        classifier_epochs: Epochs per classifier training.
        train_configs: Letter -> :class:`~glyphvae.train_config.TrainConfig` for the low-data
            VAEs (default: the config each model was trained with, if known, else defaults).
        split_seed: Seed of the papyrus split (must match the models').
        val_fraction: Share of papyri held out.
        progress: Called with a message before each step.
        settings: Which settings to run: ``"full"`` and/or ``"low_data"``.
        low_data_steps: Optimizer steps of each low-data VAE (its config's epochs are
            replaced to give them). ``None``: as many steps as the config's epochs take on
            the letter's full training crops (the full-data model's budget).
        pretrained: A base :class:`~glyphvae.models.GlyphVAE` of the low-data VAEs'
            architecture; each low-data VAE starts from its weights (fine-tuning). It must
            not have seen the augmented letters' crops, or the low-data setting is void.
        pretrain_steps: Without ``pretrained``: train the base here for this many optimizer
            steps on the training crops of every letter except the augmented ones (once,
            shared by all seeds). ``None``: low-data VAEs start from scratch.
        low_data_temperature: Sampling temperature of the low-data VAEs (below 1: more
            typical glyphs, less variety); ``None``: each model's ``sample_temperature``.
        arms: The classifier arms to train (see :func:`run_setting`; default: all).
        screen_pool: The filtered arm screens ``screen_pool * n_synthetic`` generated
            glyphs per letter (see :class:`DownstreamSetting`; 1: the synthetic arm's own).
        tuning: Test on *tuning papyri* instead of the held-out ones: a further split by
            papyrus of the training papyri (``val_fraction`` of them, seed ``split_seed +
            1``), whose crops are then left out of training. For choosing settings such as
            ``low_data_temperature`` without looking at the held-out papyri; only the
            low-data setting can run so, since the full-data models saw those papyri.

    Returns:
        ``{"full": summary, "low_data": summary}`` (see :func:`summarise`); the low-data
        summary records ``"pretrain"`` (``None``, ``"given"`` or the steps and crop count).
        Each summary records its ``"test_set"``: ``"heldout"`` or ``"tuning"``.

    Raises:
        ValueError: If the models differ in image size, ``pretrained`` has another
            image size or architecture than the low-data VAEs, ``arms`` names an unknown
            arm, ``n_synthetic`` or ``screen_pool`` is below 1, or ``tuning`` is asked for
            with the full-data setting.
    """
    from glyphvae.data.dataset import load_glyphs
    from glyphvae.data.io import to_uint8
    from glyphvae.training import TrainConfig, train_vae

    # the settings first, before the slow work, so a typo fails at once
    arms = _resolve_arms(arms)
    letters = tuple(resolve_letter(x) for x in models)
    full = DownstreamSetting(
        "full", letters, n_synthetic, None, classifier_epochs, screen_pool=screen_pool
    )
    low = replace(full, name="low-data", low_data=low_data)
    if tuning and "full" in settings:
        raise ValueError(
            "Expected settings=('low_data',) with tuning=True: the full-data models were "
            f"trained on the tuning papyri. Received settings {list(settings)}"
        )
    sizes = {m.image_size for m in models.values()}
    if len(sizes) != 1:
        raise ValueError(f"Expected models of one image size. Received sizes {sorted(sizes)}")
    image_size = sizes.pop()
    glyphs = load_glyphs(data, None, image_size=image_size, progress=False)
    train, heldout = glyphs.split(val_fraction, seed=split_seed)
    if tuning:  # the held-out papyri are set aside; test on a split of the training ones
        train, heldout = train.split(val_fraction, seed=split_seed + 1)
    test_set = "tuning" if tuning else "heldout"
    train_labels = _labels(train)
    configs = train_configs or {}

    def full_source(letter: str, seed: int, _images: np.ndarray, n: int) -> np.ndarray:
        return to_uint8(models[letter].generate(n, seed=seed))

    def low_config(letter: str) -> Any:
        return configs.get(letter) or TrainConfig(image_size=image_size)

    run_low = low_data is not None and "low_data" in settings
    base_model = pretrained
    pretrain_info: dict[str, Any] | str | None = "given" if pretrained is not None else None
    if base_model is not None and base_model.image_size != image_size:
        raise ValueError(
            f"Expected `pretrained` of image size {image_size} like the models. "
            f"Received image size {base_model.image_size}"
        )
    if run_low and base_model is None and pretrain_steps:
        others = np.flatnonzero(~np.isin(np.array(train.letters), letters))
        if not len(others):
            raise ValueError(
                "Expected training crops of letters other than the augmented ones "
                f"{list(letters)} to pretrain the base VAE on. Received none"
            )
        cfg = low_config(letters[0])
        epochs = _epochs_for_steps(pretrain_steps, len(others), cfg.batch_size)
        if progress:
            progress(f"low-data: base VAE on {len(others)} crops of the other letters")
        cfg = replace(cfg, epochs=epochs, kl_warmup_epochs=1, adversarial_start_epochs=1)
        base_model = train_vae(train.images[others], None, config=cfg)
        steps_done = int(np.asarray(base_model.optimizer.iterations))
        pretrain_info = {"steps": steps_done, "crops": len(others)}

    def low_source(letter: str, seed: int, images: np.ndarray, n: int) -> np.ndarray:
        base = low_config(letter)
        steps = low_data_steps
        if steps is None:
            n_full = int(np.sum(train_labels == LETTERS[letter].index))
            steps = base.epochs * int(np.ceil(n_full / base.batch_size))
        epochs = _epochs_for_steps(steps, len(images), base.batch_size)
        model = train_vae(
            images, letter, config=replace(base, epochs=epochs), init_from=base_model, seed=seed
        )
        return to_uint8(model.generate(n, seed=seed, temperature=low_data_temperature))

    out: dict[str, Any] = {}
    if "full" in settings:
        out["full"] = summarise(
            run_setting(full, train, heldout, full_source, seeds, progress, arms)
        ) | {"test_set": test_set}
    if run_low:
        low_raw = run_setting(low, train, heldout, low_source, seeds, progress, arms)
        out["low_data"] = summarise(low_raw) | {
            "pretrain": pretrain_info,
            "temperature": low_data_temperature,
            "test_set": test_set,
        }
    return out


def _verdict(gain: dict[str, Any]) -> str:
    if gain["beyond_spread"]:
        return "better"
    return "worse" if gain["worse_beyond_spread"] else "within spread"


def format_downstream(result: dict[str, Any]) -> str:
    """A readable table of :func:`evaluate_downstream` results: each arm's mean±std, then
    each paired gain with its verdict against the seed-to-seed spread."""
    lines = []
    for key, setting in result.items():
        test = "tuning-papyri" if setting.get("test_set") == "tuning" else "held-out"
        head = (
            f"{key}: letters {', '.join(setting['letters'])}; "
            f"+{setting['n_synthetic']} per letter; {len(setting['seeds'])} seeds; "
            f"{setting['n_heldout']} {test} crops"
            + (f"; {setting['low_data']} real crops kept" if setting.get("low_data") else "")
            + (f"; filtered from {pool}x" if (pool := setting.get("screen_pool", 1)) > 1 else "")
        )
        rows = setting["metrics"]
        first = next(iter(rows.values()))
        arms = [arm for arm in ARMS if arm in first["arms"]]
        gains = [name for name in first if name != "arms"]
        lines += [head, "-" * len(head)]
        lines.append(f"{'metric':<18} " + " ".join(f"{arm:>13}" for arm in arms))
        for metric, row in rows.items():
            cells = [f"{row['arms'][a]['mean']:.3f}±{row['arms'][a]['std']:.3f}" for a in arms]
            lines.append(f"{metric:<18} " + " ".join(f"{c:>13}" for c in cells))
        lines.append("")
        labels = [g.replace("_minus_", " - ") for g in gains]
        lines.append(f"{'gain':<18} " + " ".join(f"{label:>26}" for label in labels))
        for metric, row in rows.items():
            cells = [f"{row[g]['mean']:+.3f} ({_verdict(row[g])})" for g in gains]
            lines.append(f"{metric:<18} " + " ".join(f"{c:>26}" for c in cells))
        lines.append("")
    return "\n".join(lines)
