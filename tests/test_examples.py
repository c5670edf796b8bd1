"""Every script in ``examples/`` runs end to end in the small setting, in a fresh process.

The docs include these files verbatim (pymdownx.snippets), so this also runs every longer
snippet the documentation shows.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
HELPERS = {"example_data.py"}
SCRIPTS = sorted(p.name for p in EXAMPLES.glob("*.py") if p.name not in HELPERS)

# what each example must leave behind (relative to its working folder), besides exiting 0
OUTPUTS = {
    "augment_classification.py": ["runs/examples/classification_before_after.png"],
    "augment_detection.py": ["runs/examples/detection_boxes.png"],
    "bank_from_crops.py": ["runs/examples/rare.npz", "runs/examples/rare_glyphs_and_mattes.png"],
    "tf_data_pipeline.py": ["runs/examples/bank.npz"],
    "train_and_sample.py": [
        "runs/examples/epsilon_samples.png",
        "runs/examples/epsilon/model.weights.h5",
        "runs/examples/epsilon/samples.png",
    ],
}


def test_every_example_is_listed() -> None:
    assert sorted(OUTPUTS) == SCRIPTS, "add the new example's outputs to OUTPUTS"


@pytest.mark.parametrize("script", SCRIPTS)
def test_example_runs_in_the_small_setting(script: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "GLYPHVAE_DATA"}
    env.update(
        GLYPHVAE_EXAMPLE_SMALL="1",
        GLYPHVAE_OFFLINE="1",
        HF_HUB_OFFLINE="1",
        NO_ALBUMENTATIONS_UPDATE="1",
        TF_CPP_MIN_LOG_LEVEL="3",
        GLYPHVAE_CACHE=str(tmp_path / "cache"),  # no dataset from a previous download
    )
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    seconds = time.perf_counter() - start
    assert proc.returncode == 0, f"{script} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    for rel in OUTPUTS[script]:
        path = tmp_path / rel
        assert path.is_file() and path.stat().st_size > 0, f"{script} did not write {rel}"
    print(f"{script}: {seconds:.1f} s")
