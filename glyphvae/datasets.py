"""Known glyph datasets: where the data comes from, its licence, and the attribution it needs.

Anything derived from a CC BY dataset (trained weights, sample grids, docs) must credit it.
:func:`describe_data` recognises a dataset folder and returns its attribution, which
``glyphvae fit`` stores in the model's ``metadata.json``.

The data location used when no ``--data`` is given is :func:`resolve_data_dir`:
``$GLYPHVAE_DATA`` if set, else the Hell-Char crops downloaded once by
:func:`download_dataset` into the cache (:func:`cache_root`), else an error that says how to
point at a dataset. Nothing is downloaded when ``GLYPHVAE_OFFLINE=1`` or ``HF_HUB_OFFLINE=1``.

The download is the GitHub archive of the Hell-Char repository at a pinned commit
(:data:`HELLCHAR_ARCHIVE`); it is checked against its sha256, then only the crops, their
metadata and the licence are extracted, in the layout the loader reads::

    <cache>/datasets/hellchar-<commit>/
        alpha/Alpha_1011_572.jpg ...      one folder per letter
        metadata.csv                      filename, letter, TM, number, year, region
        LICENSE.txt, README.md            licence and attribution (CC BY 4.0)
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import os
import shutil
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

__all__ = [
    "CACHE_ENV_VAR",
    "DATA_ENV_VAR",
    "HELLCHAR",
    "HELLCHAR_ARCHIVE",
    "HELLCHAR_COMMIT",
    "HELLCHAR_SHA256",
    "OFFLINE_ENV_VAR",
    "ArchiveSource",
    "DatasetInfo",
    "cache_root",
    "cached_dataset",
    "describe_data",
    "download_dataset",
    "env_offline",
    "resolve_data_dir",
]

logger = logging.getLogger(__name__)

DATA_ENV_VAR = "GLYPHVAE_DATA"
CACHE_ENV_VAR = "GLYPHVAE_CACHE"
OFFLINE_ENV_VAR = "GLYPHVAE_OFFLINE"
_COMPLETE = ".glyphvae-complete.json"
_MAX_MEMBER_BYTES = 32 * 1024 * 1024  # a glyph crop is a few kB; refuse absurd members


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset's identity, licence and required attribution."""

    name: str
    license: str
    url: str
    attribution: str

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form, as stored in ``metadata.json``."""
        return asdict(self)


HELLCHAR = DatasetInfo(
    name="Hell-Char",
    license="CC-BY-4.0",
    url="https://github.com/ipavlopoulos/diachronic-greek-letterforms",
    attribution=(
        'Glyph crops from the Hell-Char dataset of J. Pavlopoulos et al., "Learning Diachronic '
        'Representations of Ancient Greek Letterforms", ICDAR 2026 '
        "(github.com/ipavlopoulos/diachronic-greek-letterforms), a curated subset of Hell-Date "
        "(L. Ferretti et al., 2025, Zenodo record 15083589) built from the source papyri cited "
        "there; licensed CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/). Changes: a "
        "subset of papyri, regrouped by letter, metadata columns trimmed; glyphvae trained "
        "generative models on the crops."
    ),
)


HELLCHAR_COMMIT = "6aaf20c69eec01f6d348bd66ab8970e5b3a9ce6a"
"""The commit of github.com/ipavlopoulos/diachronic-greek-letterforms whose crops are used."""

HELLCHAR_SHA256: str | None = None
"""sha256 of the pinned archive. ``None`` until someone online pins it: the download then
proceeds (the commit pins its content) and logs the digest it got, to be pinned here."""


@dataclass(frozen=True)
class ArchiveSource:
    """A downloadable dataset archive and where its crops are inside.

    Attributes:
        name: Folder name in the cache (``<cache>/datasets/<name>``).
        url: Archive URL (``.zip`` or ``.tar.gz``).
        sha256: Expected sha256 of the archive, or ``None`` if not pinned.
        images: Member folder holding the crops, flat, named ``<Letter>_<TM>_<n>.jpg``.
        metadata: Member path of the CSV (columns filename, letter, TM, ...), or ``None``.
        license: Member path of the licence text, or ``None``.
        info: Licence and attribution of the data.
    """

    name: str
    url: str
    sha256: str | None
    images: str
    metadata: str | None
    license: str | None
    info: DatasetInfo


_TOP = f"diachronic-greek-letterforms-{HELLCHAR_COMMIT}/"
HELLCHAR_ARCHIVE = ArchiveSource(
    name=f"hellchar-{HELLCHAR_COMMIT[:12]}",
    url=(
        "https://github.com/ipavlopoulos/diachronic-greek-letterforms/archive/"
        f"{HELLCHAR_COMMIT}.zip"
    ),
    sha256=HELLCHAR_SHA256,
    images=_TOP + "data/hellchar/cliplets/",
    metadata=_TOP + "data/hellchar/hellchar.csv",
    license=_TOP + "LICENSE",
    info=HELLCHAR,
)
"""The Hell-Char crops at :data:`HELLCHAR_COMMIT` (GitHub's archive of that commit)."""


def env_offline() -> bool:
    """Whether downloads are off: ``GLYPHVAE_OFFLINE`` or ``HF_HUB_OFFLINE`` is 1/true/yes/on.

    Read at each call, so setting either variable at run time takes effect.
    """
    return any(
        os.environ.get(var, "").strip().lower() in ("1", "true", "yes", "on")
        for var in (OFFLINE_ENV_VAR, "HF_HUB_OFFLINE")
    )


def cache_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """glyphvae's cache folder: ``cache_dir``, else ``$GLYPHVAE_CACHE``, else the platform's.

    The platform's is ``$XDG_CACHE_HOME/glyphvae`` (default ``~/.cache/glyphvae``) on Linux,
    ``~/Library/Caches/glyphvae`` on macOS and ``%LOCALAPPDATA%\\glyphvae\\Cache`` on Windows.
    """
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get(CACHE_ENV_VAR, "").strip()
    if env:
        return Path(env).expanduser()
    home = Path.home()
    if sys.platform == "win32":
        return (
            Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
            / "glyphvae"
            / "Cache"
        )
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / "glyphvae"
    return Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache") / "glyphvae"


def cached_dataset(
    source: ArchiveSource | None = None, cache_dir: str | os.PathLike[str] | None = None
) -> Path | None:
    """The folder of a completely downloaded dataset, or ``None`` if it is not cached."""
    src = source or HELLCHAR_ARCHIVE
    root = cache_root(cache_dir) / "datasets" / src.name
    return root if (root / _COMPLETE).is_file() else None


def _fetch(url: str, dest: Path, progress: bool) -> str:
    """Stream ``url`` into ``dest`` with a progress bar; return the sha256."""
    import urllib.request

    from tqdm import tqdm

    digest = hashlib.sha256()
    request = urllib.request.Request(url, headers={"User-Agent": "glyphvae"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response, dest.open("wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                desc=f"Downloading {PurePosixPath(url).name}",
                disable=not progress,
                file=sys.stderr,
            ) as bar:
                for block in iter(lambda: response.read(1 << 16), b""):
                    out.write(block)
                    digest.update(block)
                    bar.update(len(block))
            if total is not None and out.tell() != total:
                raise OSError(f"received {out.tell()} of {total} bytes")
    except OSError as e:  # URLError, HTTPError and timeouts are OSErrors
        raise OSError(f"Expected to download {url}. Received an error: {e}") from e
    return digest.hexdigest()


def _members(archive: Path) -> Iterator[tuple[str, int, IO[bytes]]]:
    """(name, size, file) of every regular file in a zip or tar archive."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for zinfo in zf.infolist():
                if not zinfo.is_dir():
                    with zf.open(zinfo) as f:
                        yield zinfo.filename, zinfo.file_size, f
        return
    if not tarfile.is_tarfile(archive):
        raise ValueError(f"Expected a zip or tar archive. Received {archive.name}")
    with tarfile.open(archive, "r:*") as tf:
        for tinfo in tf:
            member = tf.extractfile(tinfo) if tinfo.isfile() else None
            if member is not None:
                yield tinfo.name, tinfo.size, member


def _letter_of(filename: str, hint: str | None) -> str | None:
    from glyphvae.letters import resolve_letter

    for candidate in (hint, filename.split("_")[0]):
        if candidate:
            try:
                return resolve_letter(candidate)
            except ValueError:
                continue
    return None


def _extract(archive: Path, src: ArchiveSource, out: Path) -> int:
    """Write the crops as ``<out>/<letter>/<file>`` plus metadata.csv and the licence."""
    from glyphvae.data.io import IMAGE_EXTENSIONS

    table: dict[str, dict[str, str]] = {}
    licence = None
    images: list[tuple[str, bytes]] = []
    for name, size, f in _members(archive):
        if size > _MAX_MEMBER_BYTES:
            continue
        if name == src.metadata:
            text = io.TextIOWrapper(f, encoding="utf-8", errors="replace", newline="")
            for row in csv.DictReader(text):
                row = {k: v for k, v in row.items() if k}  # drop the unnamed index column
                if row.get("filename"):
                    table[row["filename"]] = row
        elif name == src.license:
            licence = f.read().decode("utf-8", errors="replace")
        elif name.startswith(src.images) and PurePosixPath(name).suffix.lower() in IMAGE_EXTENSIONS:
            images.append((PurePosixPath(name).name, f.read()))
    rows = []
    for filename, data in images:
        row = dict(table.get(filename) or {"filename": filename})
        letter = _letter_of(filename, row.get("letter"))
        if letter is None or filename.startswith("."):
            continue  # "Unknown" crops and stray files
        parts = PurePosixPath(filename).stem.split("_")
        row.update(filename=filename, letter=letter)
        row.setdefault("TM", parts[1] if len(parts) > 2 else "")
        (out / letter).mkdir(parents=True, exist_ok=True)
        (out / letter / filename).write_bytes(data)
        rows.append(row)
    columns = list(dict.fromkeys(["filename", "letter", "TM", *(k for r in rows for k in r)]))
    with (out / "metadata.csv").open("w", newline="", encoding="utf-8") as table_file:
        writer = csv.DictWriter(table_file, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(sorted(rows, key=lambda r: (r["letter"], r["filename"])))
    info = src.info
    (out / "LICENSE.txt").write_text(licence or f"{info.license}: {info.url}\n", encoding="utf-8")
    (out / "README.md").write_text(
        f"# {info.name} crops\n\nDownloaded by glyphvae from {src.url}.\n\n{info.attribution}\n",
        encoding="utf-8",
    )
    return len(rows)


def download_dataset(
    source: ArchiveSource | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
    force: bool = False,
) -> Path:
    """Download, verify and unpack a dataset archive into the cache (once).

    Args:
        source: The archive (default :data:`HELLCHAR_ARCHIVE`).
        cache_dir: Cache folder (default :func:`cache_root`).
        progress: Show a progress bar on stderr.
        force: Download again even if cached.

    Returns:
        The dataset folder (``<letter>/*.jpg`` and ``metadata.csv``).

    Raises:
        OSError: If offline or the download fails.
        ValueError: If the archive's sha256 differs from the pinned one, or it holds no crops.
            Nothing is cached in either case.
    """
    src = source or HELLCHAR_ARCHIVE
    done = cached_dataset(src, cache_dir)
    if done is not None and not force:
        return done
    if env_offline():
        raise OSError(
            f"Expected to download {src.info.name} from {src.url}. Received offline mode "
            f"({OFFLINE_ENV_VAR} or HF_HUB_OFFLINE is set)."
        )
    parent = cache_root(cache_dir) / "datasets"
    parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=parent, prefix=f".{src.name}-") as tmp:
        archive = Path(tmp) / "archive"
        digest = _fetch(src.url, archive, progress)
        if src.sha256 is None:
            logger.warning("%s is not pinned; its sha256 is %s", src.url, digest)
        elif digest != src.sha256.lower():
            raise ValueError(
                f"Expected sha256 {src.sha256} for {src.url}. Received {digest}: the download is "
                "corrupted or the archive changed. Nothing was cached."
            )
        staging = Path(tmp) / "data"
        staging.mkdir()
        count = _extract(archive, src, staging)
        if count == 0:
            raise ValueError(
                f"Expected glyph crops under {src.images} in {src.url}. Received none. "
                "Nothing was cached."
            )
        marker = {"url": src.url, "sha256": digest, "crops": count}
        (staging / _COMPLETE).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        root = parent / src.name
        if root.exists():  # an incomplete earlier attempt
            shutil.rmtree(root, ignore_errors=True)
        try:
            os.replace(staging, root)
        except OSError:
            done = cached_dataset(src, cache_dir)  # another process finished first
            if done is None:
                raise
            return done
    logger.info("%d %s crops cached in %s", count, src.info.name, root)
    return root


def describe_data(root: str | os.PathLike[str]) -> dict[str, Any]:
    """Describe a dataset folder for ``metadata.json``: its path and, if known, its licence.

    A folder is recognised as Hell-Char when it is named ``hellchar`` or its
    ``LICENSE.txt``/``README.md`` mentions the Hell-Char paper.

    >>> describe_data("/nonexistent/mycrops")["name"]
    'mycrops'
    """
    path = Path(root).expanduser()
    info: dict[str, Any] = {"name": path.name, "path": str(path)}
    texts = []
    for fname in ("LICENSE.txt", "LICENSE", "README.md"):
        f = path / fname
        if f.is_file():
            texts.append(f.read_text(encoding="utf-8", errors="replace")[:4000])
    if path.name.lower() == "hellchar" or any(
        "diachronic-greek-letterforms" in t or "Hell-Char" in t for t in texts
    ):
        info.update(HELLCHAR.to_dict())
    return info


def resolve_data_dir(data: str | os.PathLike[str] | None = None) -> Path:
    """Return the dataset folder to train on.

    ``data`` if given, else ``$GLYPHVAE_DATA``, else the Hell-Char crops in the cache, else
    the Hell-Char crops downloaded now (unless offline, see :func:`env_offline`).

    Raises:
        FileNotFoundError: If none of these gives a folder; the message says how to point
            glyphvae at a dataset.

    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> resolve_data_dir(folder) == Path(folder)
    True
    """
    how = (
        "Pass --data DIR (Python: data=...) or set the environment variable "
        f"{DATA_ENV_VAR}=DIR, where DIR holds one folder of crops per letter "
        "(<DIR>/epsilon/*.jpg, ...), e.g. a copy of the Hell-Char crops."
    )
    if data is None:
        env = os.environ.get(DATA_ENV_VAR, "").strip()
        if not env:
            return _default_data(how)
        data, source = env, f"${DATA_ENV_VAR}"
    else:
        source = "data"
    path = Path(data).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(f"Dataset folder from {source} does not exist: {path}. {how}")
    return path


def _default_data(how: str) -> Path:
    cached = cached_dataset()
    if cached is not None:
        return cached
    if env_offline():
        raise FileNotFoundError(
            f"No dataset given, and the Hell-Char crops are not in the cache "
            f"({cache_root()}) while offline ({OFFLINE_ENV_VAR}/HF_HUB_OFFLINE). {how}"
        )
    try:
        return download_dataset()
    except (OSError, ValueError) as e:
        raise FileNotFoundError(f"No dataset given, and {e} {how}") from e
