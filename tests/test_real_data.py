"""Tests on the real Hell-Char crops in ../shared/data/hellchar (skipped when absent)."""

import csv

import cv2
import numpy as np
import pytest

from glyphvae.data.dataset import find_crops, load_glyphs
from glyphvae.data.preprocess import prepare_crop

pytestmark = pytest.mark.data


def test_every_letter_folder_is_found(hellchar):
    records = find_crops(hellchar)
    letters = {r.letter for r in records}
    assert len(letters) == 24
    assert all(r.group is not None for r in records)  # TM from metadata.csv


def test_epsilon_split_by_papyrus(hellchar):
    glyphs = load_glyphs(hellchar, "epsilon", image_size=64, progress=False)
    report = glyphs.report
    assert report.found == len(glyphs) + len(report.too_small) + len(report.unreadable)
    assert len(glyphs) > 400 and glyphs.report.too_small  # the data has crops under 16 px
    train, val = glyphs.split(0.15, seed=0)
    assert not set(train.groups) & set(val.groups)
    assert 0.1 < len(val) / len(glyphs) < 0.25
    with (hellchar / "metadata.csv").open() as f:
        tm = {row["filename"]: row["TM"] for row in csv.DictReader(f)}
    assert all(tm[p.rsplit("/", 1)[-1]] == g for p, g in zip(val.paths, val.groups, strict=True))


def test_loader_colours_match_an_independent_decode(hellchar):
    glyphs = load_glyphs(hellchar, "alpha", image_size=64, progress=False)
    for i in range(0, len(glyphs), 97):
        bgr = cv2.imread(glyphs.paths[i], cv2.IMREAD_COLOR)
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
        expected = prepare_crop(rgb, 64)
        np.testing.assert_allclose(glyphs.images[i] / 255.0, expected, atol=1.5 / 255)
    mean = np.asarray(glyphs.mean_color())
    assert mean[0] > mean[1] > mean[2]  # papyrus is brown: red > green > blue
