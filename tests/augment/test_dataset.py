"""glyphvae.augment.dataset and `glyphvae augment`: crop trees and COCO pages expanded on disk."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import numpy as np
import pytest
from click.testing import CliRunner

from glyphvae.augment.dataset import augment_coco, augment_crop_tree, make_bank
from glyphvae.bank import GlyphBank
from glyphvae.cli import main
from glyphvae.data.dataset import load_glyphs
from glyphvae.data.io import read_image
from tests.helpers import PAPER, draw_glyph, make_crop_tree, write_rgb


@pytest.fixture(scope="module")
def bank() -> GlyphBank:
    rng = np.random.default_rng(0)
    images = [(draw_glyph(rng, 32, 32) * 255 + 0.5).astype(np.uint8) for _ in range(6)]
    return GlyphBank(np.stack(images), ["epsilon"] * 3 + ["alpha"] * 3)


@pytest.fixture(scope="module")
def bank_file(bank, tmp_path_factory) -> Path:
    return bank.save(tmp_path_factory.mktemp("bank") / "bank.npz")


@pytest.fixture()
def tree(tmp_path) -> Path:
    return make_crop_tree(tmp_path / "in", letters=("epsilon",), per_letter=5, papyri=2)


def test_crop_tree_copied_plus_synthetic(tree, tmp_path, bank) -> None:
    out = tmp_path / "out"
    report = augment_crop_tree(tree, out, bank, per_letter=4, seed=3, progress=False)
    assert report.copied == 5 and report.synthetic == {"alpha": 4, "epsilon": 4}
    for src in (tree / "epsilon").iterdir():
        assert (out / "epsilon" / src.name).read_bytes() == src.read_bytes()
    synth = sorted((out / "alpha").glob("synthetic_alpha_3_*.png"))
    assert len(synth) == 4 and len(list((out / "epsilon").glob("synthetic_*.png"))) == 4
    assert read_image(synth[0]).shape == (32, 32, 3)
    rows = list(csv.DictReader((out / "metadata.csv").open()))
    assert len(rows) == 13 and sum(r["TM"] == "synthetic" for r in rows) == 8
    glyphs = load_glyphs(out, image_size=32, progress=False)
    assert len(glyphs) == 13 and glyphs.groups.count("synthetic") == 8
    assert not list(out.rglob(".tmp-*"))
    assert str(out.resolve()) in report.summary()
    # reproducible
    again = augment_crop_tree(tree, tmp_path / "again", bank, per_letter=4, seed=3, progress=False)
    assert again.synthetic == report.synthetic
    assert (tmp_path / "again" / "alpha" / synth[0].name).read_bytes() == synth[0].read_bytes()


def test_crop_tree_real_paper(tree, tmp_path, bank) -> None:
    out = tmp_path / "out"
    augment_crop_tree(tree, out, bank, per_letter=6, real_paper=True, progress=False)
    sizes = {read_image(p).shape for p in (tree / "epsilon").iterdir()}
    for p in (out / "alpha").glob("synthetic_*.png"):
        img = read_image(p)
        assert img.shape in sizes  # the paper of a real crop
        assert np.abs(np.median(img.reshape(-1, 3), 0) - PAPER).max() < 0.05  # its paper
        assert img.min() < 0.3  # and ink


def test_crop_tree_refuses_bad_outputs(tree, tmp_path, bank) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.txt").write_text("x")
    with pytest.raises(FileExistsError, match="new or empty output folder"):
        augment_crop_tree(tree, tmp_path / "full", bank, per_letter=1, progress=False)
    augment_crop_tree(tree, tmp_path / "full", bank, 1, overwrite=True, progress=False)
    with pytest.raises(ValueError, match="outside the input"):
        augment_crop_tree(tree, tree / "aug", bank, per_letter=1, progress=False)
    with pytest.raises(FileNotFoundError, match="not a folder"):
        augment_crop_tree(tmp_path / "nope", tmp_path / "o", bank, per_letter=1, progress=False)


def make_pages(root: Path, n: int = 2, size: int = 200) -> Path:
    rng = np.random.default_rng(1)
    images, anns = [], []
    for i in range(n):
        page = np.empty((size, size, 3), np.float32)
        page[...] = PAPER
        for j, (x, y) in enumerate([(10, 10), (60, 10), (110, 10)]):
            page[y : y + 24, x : x + 20] = draw_glyph(rng, 24, 20)
            anns.append(
                {
                    "id": 100 + 10 * i + j,
                    "image_id": 7 + i,
                    "category_id": 5,
                    "bbox": [x, y, 20, 24],
                    "area": 480,
                    "iscrowd": 0,
                }
            )
        write_rgb(root / "imgs" / "sub" / f"page{i}.png", page)
        images.append({"id": 7 + i, "file_name": f"sub/page{i}.png", "width": size, "height": size})
    cats = [{"id": 5, "name": "Epsilon", "supercategory": "letter"}, {"id": 9, "name": "dot"}]
    coco = {"info": {"x": 1}, "images": images, "annotations": anns, "categories": cats}
    (root / "ann.json").write_text(json.dumps(coco))
    return root


def test_coco_pages(tmp_path, bank) -> None:
    src = make_pages(tmp_path / "in")
    out = tmp_path / "out"
    report = augment_coco(
        src / "ann.json",
        src / "imgs",
        out,
        bank,
        copies=2,
        count_range=(3, 3),
        seed=2,
        progress=False,
    )
    assert (
        report.copied == 2
        and report.new_images == 4
        and report.annotations == (out / "ann.json").resolve()
    )
    coco = json.loads((out / "ann.json").read_text())
    assert coco["info"] == {"x": 1}
    cats = {c["name"]: c["id"] for c in coco["categories"]}
    assert cats == {"Epsilon": 5, "dot": 9, "alpha": 10}
    image_ids = [im["id"] for im in coco["images"]]
    ann_ids = [a["id"] for a in coco["annotations"]]
    assert len(set(image_ids)) == len(image_ids) == 6 and len(set(ann_ids)) == len(ann_ids)
    by_id = {im["id"]: im for im in coco["images"]}
    new = [a for a in coco["annotations"] if a.get("synthetic")]
    assert len(new) == sum(report.synthetic.values()) == 12
    for im in coco["images"]:
        assert (out / "images" / im["file_name"]).is_file()
    for ann in coco["annotations"]:
        assert ann["image_id"] in by_id and ann["category_id"] in cats.values()
    for ann in new:
        im = by_id[ann["image_id"]]
        x, y, w, h = ann["bbox"]
        assert (
            x >= 0 and y >= 0 and w > 0 and h > 0 and x + w <= im["width"] and y + h <= im["height"]
        )
        assert ann["area"] == pytest.approx(w * h, abs=0.05)
        # the ink is in the box: the copy is darker than its source inside it
        copy = read_image(out / "images" / im["file_name"])
        orig = read_image(src / "imgs" / by_id[im["source_image_id"]]["file_name"])
        dark = (orig - copy).max(axis=2)
        x0, y0, x1, y1 = int(x), int(y), int(np.ceil(x + w)), int(np.ceil(y + h))
        assert dark[y0:y1, x0:x1].max() > 0.2
    # every copy keeps the page's own annotations
    for im in coco["images"]:
        if "source_image_id" in im:
            own = [
                a
                for a in coco["annotations"]
                if a["image_id"] == im["id"] and not a.get("synthetic")
            ]
            assert len(own) == 3 and im["file_name"].startswith("sub/page")


def test_coco_errors(tmp_path, bank) -> None:
    src = make_pages(tmp_path / "in", n=1)
    (src / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="Expected COCO annotations as JSON"):
        augment_coco(src / "bad.json", src / "imgs", tmp_path / "o1", bank, progress=False)
    coco = json.loads((src / "ann.json").read_text())
    coco["images"][0]["file_name"] = "missing.png"
    (src / "miss.json").write_text(json.dumps(coco))
    with pytest.raises(FileNotFoundError, match="image of COCO image id 7"):
        augment_coco(src / "miss.json", src / "imgs", tmp_path / "o2", bank, progress=False)


def test_make_bank_needs_one_source(bank_file) -> None:
    assert len(make_bank(bank_file)) == 6
    with pytest.raises(ValueError, match="exactly one glyph source"):
        make_bank()
    with pytest.raises(ValueError, match="Received bank, letters"):
        make_bank(bank_file, ["alpha"])


def test_cli_crops_and_pages(tree, tmp_path, bank_file) -> None:
    runner = CliRunner()
    saved = tmp_path / "saved.npz"
    r = runner.invoke(
        main,
        [
            "augment",
            "--crops",
            str(tree),
            "--out",
            str(tmp_path / "o"),
            "--bank",
            str(bank_file),
            "--per-letter",
            "2",
            "--quiet",
            "--save-bank",
            str(saved),
        ],
    )
    assert r.exit_code == 0, r.output
    assert r.output.strip().splitlines()[-1].endswith(str((tmp_path / "o").resolve()))
    assert len(GlyphBank.load(saved)) == 6
    src = make_pages(tmp_path / "pages", n=1)
    r = runner.invoke(
        main,
        [
            "augment",
            "--coco",
            str(src / "ann.json"),
            "--images",
            str(src / "imgs"),
            "--out",
            str(tmp_path / "p"),
            "--bank",
            str(saved),
            "--copies",
            "2",
            "--glyphs-per-page",
            "2",
            "3",
            "--quiet",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "annotations:" in r.output and (tmp_path / "p" / "ann.json").is_file()


def test_cli_errors_are_clean(tree, tmp_path, bank_file) -> None:
    runner = CliRunner()
    base = ["augment", "--crops", str(tree), "--out", str(tmp_path / "o")]
    r = runner.invoke(main, base)
    assert r.exit_code == 2 and "Exactly one of --bank" in r.output
    r = runner.invoke(main, [*base, "--bank", str(bank_file), "--letters", "alpha"])
    assert r.exit_code == 2
    r = runner.invoke(main, [*base, "--letters", "alpha,epsylon"])
    assert (
        r.exit_code == 1 and "Expected a Greek letter" in r.output and "Traceback" not in r.output
    )
    r = runner.invoke(main, ["augment", "--out", str(tmp_path / "o"), "--bank", str(bank_file)])
    assert r.exit_code == 2 and "--crops" in r.output
    r = runner.invoke(
        main, ["augment", "--crops", str(tree), "--out", str(tree / "x"), "--bank", str(bank_file)]
    )
    assert r.exit_code == 1 and "outside the input" in r.output
