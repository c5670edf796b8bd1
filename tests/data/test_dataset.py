import csv

import numpy as np
import pytest

from glyphvae.data.dataset import BadImageWarning, find_crops, load_crops, load_glyphs
from glyphvae.data.split import split_indices
from tests.helpers import PAPER, draw_glyph, make_crop_tree, write_rgb


def test_letter_tree_with_metadata_groups(crop_tree):
    glyphs = load_glyphs(crop_tree, "epsilon", image_size=32, progress=False)
    assert glyphs.images.shape == (24, 32, 32, 3)
    assert glyphs.images.dtype == np.uint8
    assert set(glyphs.letters) == {"epsilon"}
    assert set(glyphs.groups) == {str(1000 + i) for i in range(6)}


@pytest.mark.parametrize("alias", ["ε", "Epsilon", "E"])
def test_letter_aliases_find_the_folder(crop_tree, alias):
    assert len(find_crops(crop_tree, alias)) == 24


def test_all_letters_of_a_tree(crop_tree):
    records = find_crops(crop_tree)
    assert [r.letter for r in records[:1]] == ["alpha"]  # Greek order: alpha before epsilon
    assert len(records) == 48


def test_folder_named_with_greek_character(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(3):
        write_rgb(tmp_path / "ε" / f"{i}.png", draw_glyph(rng))
    assert len(find_crops(tmp_path, "epsilon")) == 3


def test_flat_folder_needs_a_letter(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(3):
        write_rgb(tmp_path / f"{i}.jpg", draw_glyph(rng))
    glyphs = load_glyphs(tmp_path, "alpha", image_size=32, progress=False)
    assert len(glyphs) == 3 and glyphs.groups == [None] * 3
    with pytest.raises(ValueError, match="pass `letter`"):
        find_crops(tmp_path)


def test_loaded_colours_match_the_files(tmp_path):
    make_crop_tree(tmp_path, per_letter=6, ext=".png")
    glyphs = load_glyphs(tmp_path, "epsilon", image_size=32, progress=False)
    corner = glyphs.images[:, :3, :3].reshape(-1, 3).mean(0) / 255.0
    np.testing.assert_allclose(corner, PAPER, atol=0.04)  # red > green > blue kept


def test_missing_letter_folder_names_the_root(crop_tree):
    with pytest.raises(FileNotFoundError, match=r"letter 'omega'.*alpha, epsilon"):
        find_crops(crop_tree, "omega")


def test_empty_letter_folder_is_an_error_naming_it(tmp_path):
    (tmp_path / "epsilon").mkdir()
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "epsilon")):
        find_crops(tmp_path, "epsilon")


def test_missing_root(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a folder"):
        find_crops(tmp_path / "nowhere", "epsilon")


def test_bad_files_are_skipped_with_a_warning_naming_each(tmp_path):
    make_crop_tree(tmp_path, per_letter=5, ext=".jpg")
    folder = tmp_path / "epsilon"
    (folder / "zero.jpg").write_bytes(b"")
    good = next(folder.glob("*.jpg")).read_bytes()
    (folder / "truncated.jpg").write_bytes(good[: len(good) // 2])
    (folder / "text.png").write_text("not a png")
    with pytest.warns(BadImageWarning) as record:
        glyphs = load_glyphs(tmp_path, "epsilon", image_size=32, progress=False)
    messages = " ".join(str(w.message) for w in record)
    for name in ("zero.jpg", "truncated.jpg", "text.png"):
        assert name in messages
    assert len(glyphs) == 5
    assert len(glyphs.report.unreadable) == 3


def test_small_crops_are_dropped_and_counted(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(4):
        write_rgb(tmp_path / "epsilon" / f"big{i}.png", draw_glyph(rng, 40, 30))
    for i in range(3):
        write_rgb(tmp_path / "epsilon" / f"tiny{i}.png", draw_glyph(rng, 12, 30))
    glyphs = load_glyphs(tmp_path, "epsilon", image_size=32, min_side=16, progress=False)
    assert len(glyphs) == 4
    assert len(glyphs.report.too_small) == 3
    assert "dropped 3 below the minimum side" in glyphs.report.summary()
    assert len(load_glyphs(tmp_path, "epsilon", image_size=32, min_side=0, progress=False)) == 7


def test_nothing_usable_is_an_error(tmp_path):
    (tmp_path / "epsilon").mkdir()
    (tmp_path / "epsilon" / "a.jpg").write_bytes(b"")
    with pytest.warns(BadImageWarning), pytest.raises(ValueError, match="at least one usable crop"):
        load_crops(find_crops(tmp_path, "epsilon"), image_size=32, progress=False)


def test_named_group_column(tmp_path):
    make_crop_tree(tmp_path, per_letter=4)
    with pytest.raises(ValueError, match="'scribe' column"):
        find_crops(tmp_path, "epsilon", group_column="scribe")
    rows = list(csv.DictReader((tmp_path / "metadata.csv").open()))
    assert len(find_crops(tmp_path, "epsilon", group_column="TM")) == len(rows)


def test_split_by_papyrus_never_shares_a_papyrus(crop_tree):
    glyphs = load_glyphs(crop_tree, "epsilon", image_size=32, progress=False)
    train, val = glyphs.split(0.3, seed=3)
    assert len(train) + len(val) == len(glyphs)
    assert len(train) and len(val)
    assert not set(train.groups) & set(val.groups)
    again_train, _ = glyphs.split(0.3, seed=3)
    assert again_train.paths == train.paths


def test_split_by_file_without_groups_is_seeded():
    a = split_indices(100, None, 0.2, seed=1)
    b = split_indices(100, None, 0.2, seed=1)
    c = split_indices(100, None, 0.2, seed=2)
    assert 8 <= len(a[1]) <= 32
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])
    assert not set(a[0]) & set(a[1])


def test_single_group_falls_back_to_file_split_with_warning():
    with pytest.warns(UserWarning, match="one papyrus"):
        train, val = split_indices(10, ["p"] * 10, 0.2, seed=0)
    assert 1 <= len(val) <= 5 and len(train) + len(val) == 10


def test_a_papyrus_is_on_the_same_side_whatever_else_is_in_the_set():
    groups = [f"tm{i}" for i in range(60)]
    _, val_all = split_indices(60, groups, 0.2, seed=0)
    held_all = {groups[i] for i in val_all}
    subset = groups[::3]  # another letter, found on fewer papyri
    _, val_sub = split_indices(len(subset), subset, 0.2, seed=0)
    held_sub = {subset[i] for i in val_sub}
    assert held_sub == held_all & set(subset)
    assert 4 <= len(held_all) <= 20


def test_tiny_sets_still_get_both_sides():
    for seed in range(20):
        train, val = split_indices(4, ["a", "a", "b", "b"], 0.15, seed=seed)
        assert len(train) == 2 and len(val) == 2


def test_split_rejects_bad_fraction():
    with pytest.raises(ValueError, match=r"val_fraction. in \[0, 1\)"):
        split_indices(10, None, 1.0)
