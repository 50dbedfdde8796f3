"""Writing rftkit_nb's files: atomically, as canonical JSON, with a stamp of what landed on disk.

Every file rftkit_nb writes (the project file, grader exports, score reports) goes through
:func:`atomic_write`: a temp file in the same folder, fsync, then ``os.replace``, so a crash leaves either
the old file or the new one, never half of one. :func:`canonical_json` is the text those JSON files hold.
Both the model layer and the scoring layer import this module; it imports nothing of rftkit_nb but errors.

Example::

    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     stamp = atomic_write(pathlib.Path(d, "x.json"), canonical_json({"b": 1, "a": "é"}))
    ...     pathlib.Path(d, "x.json").read_text(encoding="utf-8"), len(stamp.digest)
    ('{\\n  "b": 1,\\n  "a": "é"\\n}\\n', 64)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; the on-disk check still catches most conflicts
    fcntl = None  # type: ignore[assignment]

from rftkit_nb.errors import ProjectFileError

__all__ = ["FileStamp", "atomic_write", "canonical_json", "locked", "read_stamped"]


class FileStamp(NamedTuple):
    """What a file held when it was last read or written: its bytes' sha256, and its mtime.

    Whether the file changed is decided on the digest alone: an mtime can tick less often than writes
    land (1-2 s on some file systems) and changes on a checkout that rewrites the same bytes.
    """

    digest: str
    mtime_ns: int


def canonical_json(obj: Any) -> str:
    """Indented JSON with a trailing newline, non-ASCII kept as it is: what the project and export files hold.

    Keys keep the order they are given in (callers fix that order), so the files diff well under git.

    Example::

        >>> canonical_json({"name": "tone"})
        '{\\n  "name": "tone"\\n}\\n'
    """
    return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"


def read_stamped(path: Path) -> tuple[bytes, FileStamp]:
    """The bytes of the file at ``path`` and their stamp, read through one open (so they describe each other).

    Raises ``OSError`` as ``open`` does; callers say what the file was.
    """
    with open(path, "rb") as f:
        data = f.read()
        return data, FileStamp(hashlib.sha256(data).hexdigest(), os.fstat(f.fileno()).st_mtime_ns)


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock for writing ``path``: an advisory ``flock`` on its folder.

    Several kernels on one project file check "did it change on disk?" and then write; holding this lock
    around both makes them one step, so a lost race is seen as a conflict and never reported as saved.
    The folder, not a sidecar file, is locked, so nothing is left beside the project file.

    Example::

        >>> import tempfile, pathlib
        >>> with tempfile.TemporaryDirectory() as d, locked(pathlib.Path(d, "p.json")):
        ...     pass
    """
    folder = Path(os.path.realpath(path)).parent
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # no folder yet, or unreadable: the write itself will say so
        fd = -1
    try:
        if fd >= 0 and fcntl is not None:
            with contextlib.suppress(OSError):  # a file system without flock: the disk check remains
                fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        if fd >= 0:
            os.close(fd)  # closing releases the lock


def atomic_write(path: Path, text: str) -> FileStamp:
    """Write ``text`` (UTF-8) via a temp file in the same directory + fsync + ``os.replace``; its stamp.

    A symlink at ``path`` is written through (its target is replaced, the link kept); an existing file's
    permissions are kept. A failure raises a one-line :class:`ProjectFileError` and leaves no temp file.

    Example::

        >>> import tempfile, pathlib
        >>> with tempfile.TemporaryDirectory() as d:
        ...     _ = atomic_write(pathlib.Path(d, "x.json"), "{}\\n")
        ...     pathlib.Path(d, "x.json").read_text()
        '{}\\n'
    """
    target = Path(os.path.realpath(path))  # write through a symlink rather than replacing the link
    tmp = None
    try:
        mode = target.stat().st_mode & 0o777 if target.exists() else 0o644
        data = text.encode("utf-8")  # bytes, so the digest is of exactly what lands on disk
        with tempfile.NamedTemporaryFile(
            "wb", dir=target.parent, delete=False, prefix=f".{target.name}.", suffix=".tmp"
        ) as f:
            tmp = f.name
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
            mtime_ns = os.fstat(f.fileno()).st_mtime_ns  # os.replace keeps it; a later stat could race
        os.chmod(tmp, mode)
        os.replace(tmp, target)
        tmp = None
        return FileStamp(hashlib.sha256(data).hexdigest(), mtime_ns)
    except OSError as e:
        raise ProjectFileError(f"could not write {path}: {e.strerror or e}; choose another path") from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
