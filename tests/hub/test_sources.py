"""Source strings and local folders: no network, no model loading."""

from __future__ import annotations

import shutil

import pytest

from glyphvae.hub import HubSource, parse_hub_source, push_to_hub, resolve_model_dir


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("org/glyphs", HubSource("org/glyphs")),
        ("hf://org/glyphs", HubSource("org/glyphs")),
        ("org/glyphs@v1.0", HubSource("org/glyphs", "v1.0")),
        ("hf://org/glyphs@main/ε", HubSource("org/glyphs", "main", "ε")),
        ("epsilon", None),
        ("/abs/path", None),
        ("./runs/epsilon", None),
        ("runs/epsilon/model", None),
        ("hf://org", None),
    ],
)
def test_parse_hub_source(text, expected):
    assert parse_hub_source(text) == expected


def test_a_folder_of_letter_folders_picks_by_letter(tmp_path, epsilon_dir, alpha_dir):
    runs = tmp_path / "runs"
    for folder in (epsilon_dir, alpha_dir):
        shutil.copytree(folder, runs / folder.name)
    assert resolve_model_dir(runs, letter="E") == runs / "epsilon"
    with pytest.raises(
        ValueError, match=r"models in .*runs: alpha, epsilon \(letter=.*runs/<letter>\)"
    ):
        resolve_model_dir(runs)
    with pytest.raises(ValueError, match=r"Expected one of the letters in .*: alpha, epsilon"):
        resolve_model_dir(runs, letter="beta")
    with pytest.raises(ValueError, match=r"letters in .*epsilon: epsilon\. Received 'alpha'"):
        resolve_model_dir(epsilon_dir, letter="alpha")


def test_a_local_copy_of_a_repo_is_checked_against_its_manifest(hub_with_models, tmp_path):
    from glyphvae.hub import pull

    folder = pull("org/glyphs")["epsilon"]
    copy = tmp_path / "copy"
    shutil.copytree(folder.parent, copy)  # follows the cache's symlinks
    assert resolve_model_dir(copy) == copy / "epsilon"
    weights = copy / "epsilon" / "model.weights.h5"
    weights.write_bytes(weights.read_bytes()[:-10])
    with pytest.raises(ValueError, match=r"corrupted or truncated\.$"):
        resolve_model_dir(copy)
    assert weights.is_file()  # a local folder is reported, never deleted


def test_a_keras_file_or_an_unknown_name_lists_the_accepted_forms(tmp_path):
    keras_file = tmp_path / "model.keras"
    keras_file.write_bytes(b"PK")
    with pytest.raises(FileNotFoundError, match=r"never \.keras archives or pickles"):
        resolve_model_dir(keras_file)
    with pytest.raises(FileNotFoundError, match=r"a preset name \(.*\), or a Hub repo .*'epsylon'"):
        resolve_model_dir("epsylon")


def test_push_refuses_offline_and_empty_folders(hf_hub, tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="Expected a saved glyphvae model"):
        push_to_hub(tmp_path, "org/x")
    with pytest.raises(ValueError, match="Expected a repo id such as org/name"):
        push_to_hub(tmp_path, "hf://org/x/epsilon")
    monkeypatch.setenv("GLYPHVAE_OFFLINE", "1")
    with pytest.raises(OSError, match="Received offline mode"):
        push_to_hub(tmp_path, "org/x")
    assert hf_hub.requests == []
