"""The Hell-Char downloader against a local HTTP server serving a generated archive."""

from __future__ import annotations

import csv
import hashlib
import io
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from glyphvae import datasets
from glyphvae.data.dataset import load_glyphs
from glyphvae.datasets import (
    HELLCHAR,
    ArchiveSource,
    cached_dataset,
    describe_data,
    download_dataset,
    resolve_data_dir,
)
from tests.helpers import make_crop_tree

COMMIT = "0123456789abcdef0123456789abcdef01234567"
TOP = f"diachronic-greek-letterforms-{COMMIT}/"


class FileServer:
    """Serves ``files`` (URL path -> bytes) on 127.0.0.1 and counts the requests."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.hits: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                server.hits.append(self.path)
                data = server.files.get(self.path)
                self.send_response(200 if data is not None else 404)
                self.send_header("Content-Length", str(len(data or b"")))
                self.end_headers()
                self.wfile.write(data or b"")

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The upstream repo's layout: flat cliplets, hellchar.csv with an index column, LICENSE."""
    tree = make_crop_tree(
        tmp_path_factory.mktemp("upstream"), ("epsilon", "alpha"), per_letter=5, ext=".jpg"
    )
    members: dict[str, bytes] = {TOP + "LICENSE": b"Creative Commons Attribution 4.0\n"}
    table = io.StringIO()
    writer = csv.writer(table)
    writer.writerow(["", "filename", "letter", "TM", "number", "year", "region"])
    crops = sorted(tree.glob("*/*.jpg"))
    for i, path in enumerate(crops):
        name = path.name
        members[TOP + "data/hellchar/cliplets/" + name] = path.read_bytes()
        tm = name.split("_")[1]
        writer.writerow([i, name, name.split("_")[0], tm, i, -200, "Arsinoite"])
    members[TOP + "data/hellchar/cliplets/Unknown_1000_99.jpg"] = crops[0].read_bytes()
    writer.writerow([99, "Unknown_1000_99.jpg", "Unknown", "1000", 99, -200, "?"])
    members[TOP + "data/hellchar/hellchar.csv"] = table.getvalue().encode()
    members[TOP + "data/palitchar/cliplets/Alpha_1_1.jpg"] = crops[0].read_bytes()  # not ours
    members[TOP + "README.md"] = b"# Optical Greek Letters\n"
    return members


def zipped(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def tarred(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture(scope="module")
def _server() -> Iterator[FileServer]:
    srv = FileServer()
    yield srv
    srv.close()


@pytest.fixture
def server(_server: FileServer) -> FileServer:
    _server.files.clear()
    _server.hits.clear()
    return _server


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty glyphvae cache, online, with no $GLYPHVAE_DATA."""
    monkeypatch.setenv("GLYPHVAE_CACHE", str(tmp_path / "cache"))
    for var in ("GLYPHVAE_DATA", "GLYPHVAE_OFFLINE", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path / "cache"


def source_for(server: FileServer, archive: bytes, name: str = "archive.zip") -> ArchiveSource:
    server.files[f"/{name}"] = archive
    return ArchiveSource(
        name="hellchar-test",
        url=f"{server.url}/{name}",
        sha256=hashlib.sha256(archive).hexdigest(),
        images=TOP + "data/hellchar/cliplets/",
        metadata=TOP + "data/hellchar/hellchar.csv",
        license=TOP + "LICENSE",
        info=HELLCHAR,
    )


def test_download_verifies_unpacks_into_the_loader_layout_and_caches(server, cache, upstream):
    source = source_for(server, zipped(upstream))
    root = download_dataset(source, progress=False)
    assert root == cache / "datasets" / "hellchar-test"
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == ["alpha", "epsilon"]
    assert len(list((root / "epsilon").glob("*.jpg"))) == 5
    assert not list(root.rglob("Unknown_*")) and not (root / "palitchar").exists()
    with (root / "metadata.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 10 and rows[0].keys() >= {"filename", "letter", "TM", "year", "region"}
    assert {r["letter"] for r in rows} == {"alpha", "epsilon"}
    assert (root / "LICENSE.txt").read_text().startswith("Creative Commons")
    assert describe_data(root)["license"] == "CC-BY-4.0"  # attribution travels with the data
    glyphs = load_glyphs(root, "epsilon", image_size=32, progress=False)
    assert len(glyphs) == 5 and len(set(glyphs.groups)) > 1  # papyrus ids from metadata.csv

    assert download_dataset(source, progress=False) == root
    assert server.hits == ["/archive.zip"]  # the second call used the cache


def test_a_tar_archive_works_too(server, cache, upstream):
    root = download_dataset(source_for(server, tarred(upstream), "a.tar.gz"), progress=False)
    assert len(list(root.glob("*/*.jpg"))) == 10


def test_a_wrong_checksum_is_an_error_and_nothing_is_cached(server, cache, upstream):
    source = replace(source_for(server, zipped(upstream)), sha256="0" * 64)
    with pytest.raises(ValueError, match=r"Expected sha256 0000.*Nothing was cached"):
        download_dataset(source, progress=False)
    assert cached_dataset(source) is None
    assert list((cache / "datasets").iterdir()) == []  # no partial files left behind


def test_a_failed_download_is_an_error_and_nothing_is_cached(server, cache, upstream):
    source = replace(source_for(server, zipped(upstream)), url=f"{server.url}/missing.zip")
    with pytest.raises(OSError, match=r"Expected to download .*missing\.zip"):
        download_dataset(source, progress=False)
    assert list((cache / "datasets").iterdir()) == []


def test_resolve_data_dir_falls_back_env_then_cache_then_download(
    server, cache, upstream, monkeypatch, tmp_path
):
    source = source_for(server, zipped(upstream))
    monkeypatch.setattr(datasets, "HELLCHAR_ARCHIVE", source)

    monkeypatch.setenv("GLYPHVAE_OFFLINE", "1")
    with pytest.raises(
        FileNotFoundError, match=r"not in the cache.*offline.*--data DIR.*GLYPHVAE_DATA"
    ):
        resolve_data_dir(None)
    assert server.hits == []
    monkeypatch.delenv("GLYPHVAE_OFFLINE")

    root = resolve_data_dir(None)  # downloads
    assert (root / "epsilon").is_dir() and server.hits == ["/archive.zip"]
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert resolve_data_dir(None) == root  # the cache, offline
    mine = make_crop_tree(tmp_path / "mine")
    monkeypatch.setenv("GLYPHVAE_DATA", str(mine))
    assert resolve_data_dir(None) == mine  # $GLYPHVAE_DATA first
    with pytest.raises(FileNotFoundError, match="Dataset folder from data does not exist"):
        resolve_data_dir(tmp_path / "nope")  # explicit paths unchanged


def test_a_download_that_fails_verification_says_how_to_point_at_data(
    server, cache, upstream, monkeypatch
):
    source = replace(source_for(server, zipped(upstream)), sha256="f" * 64)
    monkeypatch.setattr(datasets, "HELLCHAR_ARCHIVE", source)
    with pytest.raises(
        FileNotFoundError, match=r"No dataset given, and Expected sha256.*GLYPHVAE_DATA"
    ):
        resolve_data_dir(None)
    assert cached_dataset(source) is None
