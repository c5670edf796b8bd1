"""Fault injection: every fault glyphvae must survive, tried many times; prints a table.

Usage:
    python benchmarks/faults.py [--kills 10] [--fuzz-examples 3000] [--seed 0]

Rows:

* **SIGKILL at a random moment** of ``glyphvae fit`` (a tiny model on generated crops, in a
  real process), ``--kills`` times: the moment is drawn uniformly over an uninterrupted run's
  duration, so kills land in start-up, in epochs, in checkpoint writes and in the final
  outputs. Each killed run is checked (every JSON parses, the checkpoint archive and the model
  files load) and resumed with ``glyphvae fit --resume`` to the same epoch count; it must end
  with the epochs, history and optimizer steps of an uninterrupted run. "Epochs lost" is the
  epoch in progress when the kill came (the work since the last checkpoint).
* The reliability tests (``tests/reliability``), with ``--fuzz-examples`` examples for each
  property-based (hypothesis) test instead of the suite's 150: the deterministic kills at the
  worst moment of a checkpoint, SIGINT and SIGTERM, fuzzed images and compositing inputs,
  untrusted models, full disks and CLI failures. One row per test, its tries and outcome.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

EPOCHS = 5
PROPERTY_TESTS = {  # hypothesis tests: each runs --fuzz-examples examples
    "test_arbitrary_bytes",
    "test_valid_images_of_every_kind_decode",
    "test_truncated_and_corrupted_files",
    "test_plans_and_pastes_on_any_page",
    "test_a_plan_anywhere_is_clipped_or_refused_clearly",
    "test_replacing_the_letter_of_any_crop",
    "test_nan_and_inf_are_refused_wherever_they_are",
}
FIT = ["--letter", "epsilon", "--image-size", "32", "--latent-dim", "4", "--batch-size", "8"]
FIT += ["--val-fraction", "0.25", "--prior-components", "2", "--adversarial-start-epochs", "1"]
FIT += ["--epochs", str(EPOCHS), "--quiet"]


def _fit(data: Path, out: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "-1"}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "glyphvae",
            "fit",
            "--data",
            str(data),
            "--out",
            str(out),
            *FIT,
            *extra,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _state(out: Path) -> dict:
    try:
        return json.loads((out / "checkpoints" / "state.json").read_text())
    except (OSError, ValueError):
        return {}


def random_kills(n: int, seed: int) -> list[dict]:
    from tests.helpers import broken_outputs, make_crop_tree

    rng = random.Random(seed)
    work = Path(tempfile.mkdtemp(prefix="glyphvae-faults-"))
    data = make_crop_tree(work / "data", per_letter=24, papyri=6)
    start = time.perf_counter()
    ref = _fit(data, work / "reference")
    _, err = ref.communicate()
    duration = time.perf_counter() - start
    if ref.returncode != 0:
        raise SystemExit(f"the uninterrupted run failed: {err}")
    trials = []
    for i in range(n):
        out = work / f"kill{i}"
        at = rng.uniform(0.5, duration)
        proc = _fit(data, out)
        begun = time.perf_counter()
        seen = 0
        while proc.poll() is None and time.perf_counter() - begun < at:
            seen = max(seen, int(_state(out).get("epoch", 0)))
            time.sleep(0.05)
        finished_first = proc.poll() is not None
        proc.kill()
        proc.wait()
        kept = int(_state(out).get("epoch", 0))
        broken = broken_outputs(out)
        resumed = _fit(data, out, "--resume")
        _, err = resumed.communicate()
        meta = json.loads((out / "metadata.json").read_text()) if resumed.returncode == 0 else {}
        history = json.loads((out / "history.json").read_text()) if meta else {}
        trials.append(
            {
                "at": at,
                "finished_first": finished_first,
                "checkpoint_lost": seen > kept,
                "epochs_lost": 0 if finished_first or kept == EPOCHS else 1,
                "broken": broken,
                "resumed": resumed.returncode == 0,
                "error": err.strip().splitlines()[-1:] if resumed.returncode else [],
                "epochs": meta.get("epochs_completed"),
                "history": len(history.get("loss", [])),
            }
        )
    return trials


def reliability_tests(examples: int) -> list[dict]:
    report = Path(tempfile.mkdtemp()) / "junit.xml"
    env = {**os.environ, "GLYPHVAE_FUZZ_EXAMPLES": str(examples)}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/reliability",
            f"--junitxml={report}",
        ],
        cwd=ROOT,
        env=env,
        check=False,
        capture_output=True,
    )
    rows = []
    for case in ET.parse(report).getroot().iter("testcase"):
        module = case.get("classname", "").rsplit(".", 1)[-1]
        failed = case.find("failure") is not None or case.find("error") is not None
        skipped = case.find("skipped")
        outcome = (
            "FAILED"
            if failed
            else (
                "skipped: " + (skipped.get("message") or "")[:60]
                if skipped is not None
                else "passed"
            )
        )
        rows.append(
            {
                "module": module,
                "name": case.get("name"),
                "outcome": outcome,
                "seconds": float(case.get("time", 0)),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--fuzz-examples", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    trials = random_kills(args.kills, args.seed)
    print("\n| fault | tries | outcome | data lost |")
    print("|---|---:|---|---|")
    ok = [
        t
        for t in trials
        if t["resumed"]
        and not t["broken"]
        and t["epochs"] == EPOCHS
        and t["history"] == EPOCHS
        and not t["checkpoint_lost"]
    ]
    lost = max((t["epochs_lost"] for t in trials), default=0)
    print(
        f"| SIGKILL at a random moment of `glyphvae fit` ({EPOCHS} epochs), then `--resume` | "
        f"{len(trials)} | {len(ok)}/{len(trials)} resumed to {EPOCHS} epochs, no file broken "
        f"| none (at most {lost} epoch in progress) |"
    )
    for t in trials:
        if t not in ok:
            print(f"|   kill at {t['at']:.1f} s | 1 | FAILED: {t} | |")

    rows = reliability_tests(args.fuzz_examples)
    for row in rows:
        tries = args.fuzz_examples if row["name"] in PROPERTY_TESTS else 1
        lost = "none" if row["outcome"] == "passed" else "see the test"
        print(f"| {row['module']}::{row['name']} | {tries} | {row['outcome']} | {lost} |")
    failed = [r for r in rows if r["outcome"] == "FAILED"] + [t for t in trials if t not in ok]
    print(f"\n{len(failed)} failure(s)")


if __name__ == "__main__":
    main()
