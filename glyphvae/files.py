"""Atomic file writing: a file is either complete or absent, never half-written.

Every output glyphvae writes (weights, JSON, PNG grids, banks, checkpoints) goes through
:func:`atomic_path`: the data goes to a temporary file in the same folder, is flushed to
disk, and is renamed over the target in one step, so a crash, a kill or a full disk leaves
the previous file (if any) intact.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_json", "atomic_write_text"]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path that replaces ``path`` when the block ends without error.

    Args:
        path: The final file path. Its parent folder is created if needed.
        suffix: Suffix for the temporary file (writers such as Keras check it, e.g.
            ``".weights.h5"``). Defaults to all suffixes of ``path``.

    Yields:
        A temporary path in the same folder. Write the file there.

    Raises:
        OSError: Writing or renaming failed (e.g. ``ENOSPC``, disk full); the message names
            the target and says that the previous file is unchanged, and ``errno`` is kept.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_path(d / "a.txt") as tmp:
    ...     _ = tmp.write_text("hello")
    >>> (d / "a.txt").read_text()
    'hello'
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".tmp-{target.name}-",
        suffix=suffix if suffix is not None else "".join(target.suffixes),
        dir=target.parent,
    )
    os.close(fd)
    tmp = Path(tmp_name)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file the usual permissions
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except OSError as e:  # a full disk, a quota, a file size limit, a lost mount...
        raise OSError(
            e.errno,
            f"Could not write {target}: {e.strerror or e}. Nothing was replaced: the previous "
            "file, if any, is intact",
        ) from e
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically and return the path."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as indented JSON to ``path`` atomically and return the path."""
    return atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")
