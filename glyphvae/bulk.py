"""Bulk generation in shards: millions of glyphs, in parallel, reproducible and resumable.

:func:`generate_shards` (and ``glyphvae generate``) splits ``n`` glyphs into ``shards``
shards and writes each one as a single unit into one output folder::

    out/
      manifest.json        every shard present: index, file, first glyph, count, sha256
      shard-00000.npz      (or shard-00000.tfrecord, or a folder shard-00000/ of PNGs)
      shard-00000.json     the shard's sidecar: what it holds and its checksum
      ...

**Sizes.** Shard ``i`` holds ``n // shards + 1`` glyphs if ``i < n % shards``, else
``n // shards`` (:func:`shard_sizes`); its glyphs are numbered ``start .. start + count - 1``
in ``0 .. n - 1``, in shard order.

**Seeds.** Shard ``i`` draws its latent codes from
``np.random.default_rng(np.random.SeedSequence(seed).spawn(shards)[i])`` (:func:`shard_seed`),
all at once, and decodes them in batches of ``batch_size``. A shard therefore depends only on
the model, ``seed``, ``i``, its size, the temperature and the prior, never on which process
or machine made it or on what else that process made: running every shard in one process and
running each shard in its own process (``--shard-index``) give byte-identical files. Decoding
is floating point, so keep ``batch_size`` fixed within a job, and expect different hardware or
TensorFlow builds to differ in the last bit of a rare pixel (the latent codes never differ).

**Atomic shards, resuming.** A ``.npz`` or ``.tfrecord`` shard is written to a temporary file
and renamed (:func:`glyphvae.files.atomic_path`); a PNG shard is written into a temporary folder
(``.tmp-shard-00012-*``, which a killed process may leave behind: delete it) renamed into place
when complete. The sidecar follows, so a shard without one is unfinished. A requested shard
whose sidecar is of this job and whose data still has the sidecar's sha256 is skipped; any
other is (re)generated, so re-running an interrupted command finishes the job and repairs
corrupted shards. PNG files are not flushed to disk one by one (that costs more than encoding
them): the checksum check on re-run catches a shard damaged by a power failure.

**Several processes, one folder.** Processes may write different shards into the same folder
at once, with no lock. Each shard's facts live in its own sidecar, written by the one process
that made it; ``manifest.json`` is derived from the sidecars present. After each shard, a
process rebuilds the manifest, replaces it atomically, then reads the sidecars again and
rewrites it until what it wrote still matches the folder. Whichever process finishes last
therefore leaves a manifest that lists every shard, on any filesystem with atomic rename.
:func:`rebuild_manifest` rebuilds it at any time. Shards of different jobs (another model,
seed, ``n``, shard count, temperature, prior or format) are refused in one folder.

**Checksums.** The sha256 of a shard file; for a PNG folder, the sha256 of the listing
``<sha256 of file>  <file name>\\n`` of its files in name order, which is what
``cd shard-00012 && sha256sum * | sha256sum`` prints.

**Formats.** ``npz``: ``images`` ``uint8`` ``(count, s, s, 3)`` RGB, ``letters`` (the
letter's name per glyph) and ``indices`` (the glyph numbers), written uncompressed and
streamed, so a shard never has to fit in memory. ``png``: one RGB PNG per glyph, named
``<letter>_<glyph number>.png``. ``tfrecord``: one ``tf.train.Example`` per glyph with
``image`` (PNG bytes), ``letter`` (name, bytes), ``letter_index`` (0-23, or -1 for a model
without a letter) and ``index`` (the glyph number), all scalars; parse them with
``tf.io.FixedLenFeature([], tf.string)`` / ``tf.int64`` and ``tf.io.decode_png``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm import tqdm

from glyphvae.files import atomic_path, atomic_write_json
from glyphvae.letters import LETTERS

if TYPE_CHECKING:
    from glyphvae.models import GlyphVAE

__all__ = [
    "FORMATS",
    "MANIFEST_FILE",
    "generate_shards",
    "rebuild_manifest",
    "shard_name",
    "shard_seed",
    "shard_sizes",
]

FORMATS: tuple[str, ...] = ("png", "npz", "tfrecord")
"""Output formats of a shard."""

MANIFEST_FILE = "manifest.json"
"""Name of the manifest in the output folder."""

MANIFEST_VERSION = 1
PRIORS = ("auto", "mixture", "standard")
SIZE_RULE = "shard i holds n // shards + 1 glyphs if i < n % shards, else n // shards"
SEED_RULE = "np.random.default_rng(np.random.SeedSequence(seed).spawn(shards)[i])"
CHECKSUM_RULE = "sha256 of the file; of a png folder: sha256 of `sha256sum *` run inside it"
SHARD_KEYS = ("index", "file", "start", "count", "sha256")
_SIDECAR = re.compile(r"^shard-(\d+)\.json$")
_MAX_MANIFEST_REWRITES = 100

logger = logging.getLogger(__name__)

Writer = Callable[[np.ndarray, np.ndarray], None]


# ---------------------------------------------------------------------------- rules
def shard_sizes(n: int, shards: int) -> list[int]:
    """Glyphs per shard: as equal as possible, the first ``n % shards`` shards one larger.

    Args:
        n: Total number of glyphs.
        shards: Number of shards, at most ``n``.

    Returns:
        ``shards`` counts that add up to ``n``.

    >>> shard_sizes(10, 4)
    [3, 3, 2, 2]
    """
    if shards < 1 or n < shards:
        raise ValueError(
            "Expected `n` >= `shards` >= 1, so that every shard holds at least one glyph. "
            f"Received n={n}, shards={shards}"
        )
    base, extra = divmod(n, shards)
    return [base + 1 if i < extra else base for i in range(shards)]


def shard_seed(seed: int, index: int) -> np.random.SeedSequence:
    """The seed of shard ``index``: child ``index`` of ``np.random.SeedSequence(seed)``.

    Equal to ``np.random.SeedSequence(seed).spawn(shards)[index]`` for any ``shards``, but
    built directly, so one shard does not need the others.

    >>> a = np.random.default_rng(shard_seed(7, 3)).random()
    >>> b = np.random.default_rng(np.random.SeedSequence(7).spawn(64)[3]).random()
    >>> a == b
    True
    """
    return np.random.SeedSequence(seed, spawn_key=(index,))


def shard_name(index: int) -> str:
    """The stem of shard ``index``'s files.

    >>> shard_name(12)
    'shard-00012'
    """
    return f"shard-{index:05d}"


def _data_name(index: int, fmt: str) -> str:
    return shard_name(index) if fmt == "png" else f"{shard_name(index)}.{fmt}"


# ---------------------------------------------------------------------------- checksums
def _sha256_file(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _checksum(path: Path) -> str:
    """sha256 of a file, or of the ``sha256sum`` listing of a folder's files in name order."""
    if path.is_dir():
        files = sorted((p for p in path.iterdir() if p.is_file()), key=lambda p: p.name)
        listing = "".join(f"{_sha256_file(p)}  {p.name}\n" for p in files)
        return hashlib.sha256(listing.encode("utf-8")).hexdigest()
    return _sha256_file(path)


def _model_fingerprint(model: GlyphVAE) -> str:
    """sha256 of the model's architecture and weight values (not of layer names)."""
    h = hashlib.sha256(f"{model.image_size}/{model.latent_dim}".encode())
    for weight in model.weights:
        arr = np.ascontiguousarray(np.asarray(weight.numpy()))
        h.update(f"{arr.dtype.str}{arr.shape}".encode())
        h.update(arr.tobytes())
    return h.hexdigest()


# ---------------------------------------------------------------------------- writers
def _encode_png(image: np.ndarray) -> bytes:
    """PNG bytes of an RGB ``uint8`` image (the RGB -> BGR flip of :func:`write_image`)."""
    import cv2

    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(image[:, :, ::-1]))
    if not ok:
        raise ValueError(f"Expected an encodable RGB image. Received shape {image.shape}")
    return bytes(encoded.tobytes())


def _zip_member(name: str) -> zipfile.ZipInfo:
    """A zip entry with a fixed date, so that the same arrays give the same file bytes."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    return info


@contextlib.contextmanager
def _npz_writer(path: Path, count: int, image_size: int, letter: str) -> Iterator[Writer]:
    """Stream ``images`` into an uncompressed ``.npz`` (what ``np.savez`` writes)."""
    indices: list[np.ndarray] = []
    with (
        atomic_path(path) as tmp,
        zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED, allowZip64=True) as zf,
    ):
        with zf.open(_zip_member("images.npy"), "w", force_zip64=True) as f:
            shape = (count, image_size, image_size, 3)
            header = {"descr": "|u1", "fortran_order": False, "shape": shape}
            np.lib.format.write_array_header_1_0(f, header)

            def write(images: np.ndarray, idx: np.ndarray) -> None:
                f.write(np.ascontiguousarray(images, dtype=np.uint8).tobytes())
                indices.append(idx)

            yield write
        written = np.concatenate(indices) if indices else np.zeros(0, np.int64)
        if len(written) != count:
            raise RuntimeError(f"Expected {count} glyphs in {path}. Received {len(written)}")
        for name, arr in (
            ("letters.npy", np.full(count, letter)),
            ("indices.npy", written.astype(np.int64)),
        ):
            with zf.open(_zip_member(name), "w", force_zip64=True) as f:
                np.lib.format.write_array(f, arr, allow_pickle=False)


def _replace_dir(src: Path, dst: Path) -> None:
    """Move folder ``src`` to ``dst``; an old ``dst`` is moved aside first, then deleted."""
    if not dst.exists():
        os.replace(src, dst)
        return
    old = Path(tempfile.mkdtemp(prefix=f".tmp-old-{dst.name}-", dir=dst.parent))
    os.replace(dst, old / dst.name)
    os.replace(src, dst)
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def _png_writer(path: Path, prefix: str, width: int) -> Iterator[Writer]:
    """Write PNGs into a temporary folder that becomes ``path`` when complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{path.name}-", dir=path.parent))
    try:
        os.chmod(tmp, 0o755)

        def write(images: np.ndarray, idx: np.ndarray) -> None:
            for image, i in zip(images, idx, strict=True):
                (tmp / f"{prefix}_{int(i):0{width}d}.png").write_bytes(_encode_png(image))

        yield write
        _replace_dir(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def _tfrecord_writer(path: Path, letter: str) -> Iterator[Writer]:
    """Write one ``tf.train.Example`` per glyph (see the module docstring for the keys)."""
    import tensorflow as tf

    letter_index = LETTERS[letter].index if letter in LETTERS else -1

    def feature(value: bytes | int) -> Any:
        if isinstance(value, bytes):
            return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))
        return tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))

    with atomic_path(path) as tmp, tf.io.TFRecordWriter(str(tmp)) as records:

        def write(images: np.ndarray, idx: np.ndarray) -> None:
            for image, i in zip(images, idx, strict=True):
                features = {
                    "image": feature(_encode_png(image)),
                    "letter": feature(letter.encode("utf-8")),
                    "letter_index": feature(letter_index),
                    "index": feature(int(i)),
                }
                example = tf.train.Example(features=tf.train.Features(feature=features))
                records.write(example.SerializeToString())

        yield write


# ---------------------------------------------------------------------------- sidecars
def _read_sidecars(out: Path) -> dict[int, dict[str, Any]]:
    """The readable sidecars in ``out``, by shard index."""
    sidecars: dict[int, dict[str, Any]] = {}
    if not out.is_dir():
        return sidecars
    for path in out.iterdir():
        match = _SIDECAR.match(path.name)
        if not match:
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:  # deleted meanwhile, or edited by hand
            logger.warning("Ignoring unreadable sidecar %s (%s)", path, e)
            continue
        index = int(match[1])
        if isinstance(data, dict) and {"job", *SHARD_KEYS} <= set(data) and data["index"] == index:
            sidecars[index] = data
    return sidecars


def _job_conflict(job: dict[str, Any], other: dict[str, Any], where: Path) -> ValueError:
    keys = sorted(k for k in set(job) | set(other) if job.get(k) != other.get(k))
    theirs = {k: other.get(k) for k in keys}
    ours = {k: job.get(k) for k in keys}
    return ValueError(
        f"Expected every shard in {where} to come from one job (model, n, shards, seed, "
        f"temperature, prior, format). Received shards with {theirs}, this run has {ours}: "
        "write to another folder or delete the old shards"
    )


def _build_manifest(out: Path, sidecars: dict[int, dict[str, Any]]) -> dict[str, Any]:
    first = sidecars[min(sidecars)]
    job = first["job"]
    for sidecar in sidecars.values():
        if sidecar["job"] != job:
            raise _job_conflict(job, sidecar["job"], out)
    present = [s for _, s in sorted(sidecars.items()) if (out / s["file"]).exists()]
    return {
        "format_version": MANIFEST_VERSION,
        "letter": job["model"]["letter"],
        "model": {**job["model"], "source": first.get("source")},
        "n": job["n"],
        "num_shards": job["num_shards"],
        "seed": job["seed"],
        "temperature": job["temperature"],
        "prior": job["prior"],
        "texture": job.get("texture", False),
        "format": job["format"],
        "rules": {"shard_sizes": SIZE_RULE, "shard_seed": SEED_RULE, "sha256": CHECKSUM_RULE},
        "complete": len(present) == job["num_shards"],
        "shards_present": len(present),
        "glyphs_present": sum(s["count"] for s in present),
        "shards": [{k: s[k] for k in SHARD_KEYS} for s in present],
    }


def rebuild_manifest(out: str | os.PathLike[str]) -> dict[str, Any]:
    """Rebuild ``manifest.json`` in ``out`` from the shard sidecars present.

    Safe while other processes add shards: the manifest is replaced atomically, then the
    sidecars are read again and the manifest rewritten until it matches them, so the last
    process to finish a shard always leaves a complete manifest.

    Args:
        out: The output folder of :func:`generate_shards`.

    Returns:
        The manifest written.

    Raises:
        FileNotFoundError: If ``out`` holds no shard sidecars.
        ValueError: If the sidecars come from different jobs.
    """
    out = Path(out)
    sidecars = _read_sidecars(out)
    if not sidecars:
        raise FileNotFoundError(
            f"Expected shard sidecars (shard-*.json) in {out}. Received a folder without any"
        )
    manifest = _build_manifest(out, sidecars)
    for _ in range(_MAX_MANIFEST_REWRITES):
        atomic_write_json(out / MANIFEST_FILE, manifest)
        latest = _build_manifest(out, _read_sidecars(out))
        if latest == manifest:
            break
        manifest = latest
    return manifest


def _is_complete(out: Path, sidecar: dict[str, Any] | None, expected: dict[str, Any]) -> bool:
    """Whether a shard's sidecar matches this job and its data still has that checksum."""
    if sidecar is None or any(sidecar.get(k) != v for k, v in expected.items()):
        return False
    path = out / sidecar["file"]
    if not path.exists():
        return False
    if _checksum(path) != sidecar["sha256"]:
        logger.warning("Shard %s does not match its checksum; regenerating it", path)
        return False
    return True


# ---------------------------------------------------------------------------- generation
def _validate(
    n: int,
    shards: int,
    shard_indices: Sequence[int] | None,
    fmt: str,
    seed: int,
    batch_size: int,
    temperature: float | None,
    prior: str,
) -> list[int]:
    if fmt not in FORMATS:
        raise ValueError(f"Expected `fmt` in {FORMATS}. Received: {fmt!r}")
    shard_sizes(n, shards)  # checks n >= shards >= 1
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"Expected `seed` to be a non-negative integer. Received: {seed!r}")
    if batch_size < 1:
        raise ValueError(f"Expected `batch_size` >= 1. Received: {batch_size}")
    if temperature is not None and not temperature >= 0:
        raise ValueError(f"Expected `temperature` >= 0. Received: {temperature}")
    if prior not in PRIORS:
        raise ValueError(f"Expected `prior` in {PRIORS}. Received: {prior!r}")
    if shard_indices is None:
        return list(range(shards))
    indices = sorted({int(i) for i in shard_indices})
    bad = [i for i in indices if not 0 <= i < shards]
    if not indices or bad:
        raise ValueError(
            f"Expected shard indices in [0, {shards - 1}] (shards={shards}). "
            f"Received: {bad or list(shard_indices)}"
        )
    return indices


def generate_shards(
    model: GlyphVAE | str | os.PathLike[str],
    n: int,
    out: str | os.PathLike[str],
    shards: int = 1,
    shard_indices: Sequence[int] | None = None,
    fmt: str = "npz",
    seed: int = 0,
    batch_size: int = 256,
    temperature: float | None = None,
    prior: str = "auto",
    progress: bool = True,
    texture: bool = True,
) -> dict[str, Any]:
    """Generate ``n`` glyphs as ``shards`` shards in ``out``, or only some of the shards.

    See the module docstring for the size and seed rules, the files, resuming, and how
    several processes share one folder.

    Args:
        model: A :class:`~glyphvae.models.GlyphVAE`, or a source for
            :func:`glyphvae.hub.from_pretrained` (a model folder or a preset name).
        n: Total number of glyphs of the job (all shards together).
        out: Output folder (created if needed).
        shards: Number of shards the ``n`` glyphs are split into (at most ``n``).
        shard_indices: The shards this call generates (``0 .. shards - 1``); ``None``: all.
            Give each process or machine different indices to share the work.
        fmt: ``"npz"``, ``"png"`` or ``"tfrecord"``.
        seed: Seed of the job; shard ``i`` uses child ``i`` of ``SeedSequence(seed)``.
        batch_size: Codes decoded per forward pass. Keep it fixed within a job.
        temperature: Scale of the prior samples; below 1 trades variety for typicality
            (default: the model's ``sample_temperature``).
        prior: ``"auto"``, ``"mixture"`` or ``"standard"`` (see ``GlyphVAE.sample_latents``).
        progress: Show a progress bar over glyphs (on stderr).
        texture: Add the model's residual texture, if it has one (see
            ``GlyphVAE.generate``); ``False``: the plain decoder means.

    Returns:
        The manifest (also written to ``out/manifest.json``): job parameters, model and
        letter, and every shard present in ``out`` with ``index``, ``file``, ``start``,
        ``count`` and ``sha256``.

    Raises:
        ValueError: On invalid arguments, or if ``out`` holds shards of another job.

    >>> import tempfile
    >>> from glyphvae.models import GlyphVAE
    >>> model = GlyphVAE(image_size=32, latent_dim=4, channels=(8, 16))
    >>> manifest = generate_shards(model, 10, tempfile.mkdtemp(), shards=4, progress=False)
    >>> [s["count"] for s in manifest["shards"]]
    [3, 3, 2, 2]
    """
    indices = _validate(n, shards, shard_indices, fmt, seed, batch_size, temperature, prior)
    n, shards, seed, out = int(n), int(shards), int(seed), Path(out)
    source: str | None = None
    if isinstance(model, str | os.PathLike):
        from glyphvae.hub import from_pretrained

        source = os.fspath(model)
        vae: GlyphVAE = from_pretrained(model, expected_class="GlyphVAE")
    else:
        vae = model
    from glyphvae.data.io import to_uint8

    letter = str(vae.letter or "")
    if temperature is None:
        temperature = float(vae.sample_temperature)
    job = {
        "n": n,
        "num_shards": shards,
        "seed": seed,
        "temperature": float(temperature),
        "prior": prior,
        "texture": bool(texture and vae.texture_fitted),
        "format": fmt,
        "model": {
            "letter": letter or None,
            "image_size": int(vae.image_size),
            "latent_dim": int(vae.latent_dim),
            "sha256": _model_fingerprint(vae),
        },
    }
    existing = _read_sidecars(out)
    for sidecar in existing.values():
        if sidecar["job"] != job:
            raise _job_conflict(job, sidecar["job"], out)

    sizes = shard_sizes(n, shards)
    starts = np.concatenate([[0], np.cumsum(sizes)]).tolist()
    todo: list[int] = []
    skipped: list[int] = []
    for i in indices:
        expected = {"job": job, "file": _data_name(i, fmt), "start": starts[i], "count": sizes[i]}
        (skipped if _is_complete(out, existing.get(i), expected) else todo).append(i)
    if skipped:
        logger.info("Skipped %d complete shard(s) already in %s", len(skipped), out)

    width = max(6, len(str(n - 1)))
    bar = tqdm(
        total=sum(sizes[i] for i in indices),
        initial=sum(sizes[i] for i in skipped),
        unit="glyph",
        desc=f"Generating {letter or 'glyphs'}",
        disable=not progress,
        dynamic_ncols=True,
    )
    with bar:
        for i in todo:
            start, count = starts[i], sizes[i]
            path = out / _data_name(i, fmt)
            rng = np.random.default_rng(shard_seed(seed, i))
            codes = vae.sample_latents(count, seed=rng, temperature=temperature, prior=prior)
            writer: contextlib.AbstractContextManager[Writer]
            if fmt == "npz":
                writer = _npz_writer(path, count, vae.image_size, letter)
            elif fmt == "png":
                writer = _png_writer(path, letter or "glyph", width)
            else:
                writer = _tfrecord_writer(path, letter)
            with writer as write:
                for lo in range(0, count, batch_size):
                    images = vae.decode(codes[lo : lo + batch_size], batch_size=batch_size)
                    if job["texture"]:
                        images = vae.add_texture(images, rng)
                    write(to_uint8(images), np.arange(start + lo, start + lo + len(images)))
                    bar.update(len(images))
            sidecar = {
                "format_version": MANIFEST_VERSION,
                "index": i,
                "file": path.name,
                "start": start,
                "count": count,
                "sha256": _checksum(path),
                "job": job,
                "source": source,
            }
            atomic_write_json(out / f"{shard_name(i)}.json", sidecar)
            rebuild_manifest(out)
    return rebuild_manifest(out)
