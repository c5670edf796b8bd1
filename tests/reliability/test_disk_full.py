"""A write that fails half-way (full disk, quota, file size limit) leaves the previous files.

Two real kernel failures, no mocks: ``RLIMIT_FSIZE`` makes every write past a size fail with
``EFBIG`` (runs everywhere), and a tiny ``tmpfs`` fills up with ``ENOSPC`` (where mounting is
allowed: root on Linux). Each output kind is written once, then overwritten under the fault:
the error names the file and says nothing was replaced, the old file still loads, and no
temporary file is left behind.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import resource
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from glyphvae.bank import GlyphBank
from glyphvae.bulk import generate_shards
from glyphvae.callbacks import CHECKPOINT_STATE, checkpoint_model_path
from glyphvae.cli import main
from glyphvae.data.io import read_image, write_image
from glyphvae.files import atomic_write_json
from glyphvae.hub import from_pretrained, save_pretrained
from glyphvae.training import fit_letter
from tests.conftest import TINY, tiny_train_config

CONFIG = tiny_train_config(epochs=1, prior_components=0)


@contextlib.contextmanager
def file_size_limit(nbytes: int) -> Iterator[None]:
    """Writes that would grow a file past ``nbytes`` fail with EFBIG, in this process."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write, keep running
    resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


def no_temporaries(folder: Path) -> bool:
    return not [p for p in folder.rglob(".tmp-*")]


def test_every_output_kind_survives_a_failed_overwrite(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (40, 32, 32, 3), dtype=np.uint8)
    bank_path = GlyphBank(images, ["epsilon"] * 40).save(tmp_path / "bank.npz")
    grid = write_image(tmp_path / "grid.png", images[0])
    report = atomic_write_json(tmp_path / "report.json", {"ok": True})
    before = {p: p.read_bytes() for p in (bank_path, grid, report)}

    noise = rng.integers(0, 256, (200, 200, 3), dtype=np.uint8)  # incompressible: > 64 KB
    with file_size_limit(64 * 1024):
        bigger = GlyphBank(np.concatenate([images] * 4), ["alpha"] * 160)
        for write in (
            lambda: bigger.save(bank_path),
            lambda: write_image(grid, noise),
            lambda: atomic_write_json(report, {"big": "x" * 100_000}),
        ):
            with pytest.raises(OSError, match="Nothing was replaced") as info:
                write()
            assert info.value.errno == errno.EFBIG
    for path, data in before.items():
        assert path.read_bytes() == data, path
    assert GlyphBank.load(bank_path).letter_names == ["epsilon"]
    assert read_image(grid).shape == (32, 32, 3)
    assert no_temporaries(tmp_path)


def test_a_training_that_cannot_write_its_checkpoint_keeps_the_last_one(crop_tree, tmp_path):
    out = tmp_path / "run"
    first = fit_letter("epsilon", data=crop_tree, out=out, config=CONFIG, verbose=0)
    weights = (out / "model.weights.h5").read_bytes()
    with file_size_limit(64 * 1024), pytest.raises(OSError, match=r"epoch-0002\.keras.*intact"):
        fit_letter("epsilon", data=crop_tree, out=out, epochs=2, resume=True, verbose=0)
    state = json.loads((out / "checkpoints" / CHECKPOINT_STATE).read_text())
    assert state["epoch"] == 1 and checkpoint_model_path(out / "checkpoints").is_file()
    assert (out / "model.weights.h5").read_bytes() == weights  # the outputs of epoch 1
    np.testing.assert_array_equal(
        from_pretrained(out).generate(2, seed=0), first.model.generate(2, seed=0)
    )
    assert no_temporaries(out)
    # with room again, the run resumes from epoch 1
    resumed = fit_letter("epsilon", data=crop_tree, out=out, epochs=2, resume=True, verbose=0)
    assert resumed.epochs == 2


def test_the_cli_says_it_in_one_line(model_for_shards, tmp_path):
    out = save_pretrained(model_for_shards, tmp_path / "model")
    grid = tmp_path / "grid.png"
    CliRunner().invoke(main, ["sample", "--model", str(out), "-n", "4", "--out", str(grid)])
    before = grid.read_bytes()
    with file_size_limit(4 * 1024):
        result = CliRunner().invoke(
            main, ["sample", "--model", str(out), "-n", "64", "--out", str(grid)]
        )
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output
    assert f"Could not write {grid}: File too large. Nothing was replaced" in lines[0]
    assert grid.read_bytes() == before


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs (needs root and a kernel that allows mounting)."""
    mnt = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
    mnt.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode().strip() or 'not root'})")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_a_full_disk(tiny_disk, model_for_shards):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (8, 32, 32, 3), dtype=np.uint8)
    bank_path = GlyphBank(images, ["epsilon"] * 8).save(tiny_disk / "bank.npz")
    manifest = generate_shards(model_for_shards, 8, tiny_disk / "shards", shards=2, progress=False)
    before = {p: p.read_bytes() for p in tiny_disk.rglob("*") if p.is_file()}
    filler = tiny_disk / "filler"  # leave a few KB free
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"\0" * 4096)
    finally:
        os.close(fd)
    os.truncate(filler, filler.stat().st_size - 16 * 1024)

    big = GlyphBank(rng.integers(0, 256, (64, 32, 32, 3), dtype=np.uint8), ["alpha"] * 64)
    with pytest.raises(OSError, match="Nothing was replaced") as info:
        big.save(bank_path)
    assert info.value.errno == errno.ENOSPC
    with pytest.raises(OSError, match="No space left on device"):
        generate_shards(model_for_shards, 400, tiny_disk / "more", shards=1, progress=False)
    for path, data in before.items():
        assert path.read_bytes() == data, path
    assert GlyphBank.load(bank_path).letter_names == ["epsilon"]
    assert json.loads((tiny_disk / "shards" / "manifest.json").read_text()) == manifest
    assert no_temporaries(tiny_disk)


@pytest.fixture
def model_for_shards():
    from glyphvae.models import GlyphVAE

    return GlyphVAE(letter="epsilon", adversarial_weight=0.0, **TINY)
