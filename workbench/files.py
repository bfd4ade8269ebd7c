"""Files that are whole or absent (atomic writes), writable-folder checks, and file content hashes.

Every result the workbench writes (models, reports, summaries, job markers) goes
through :func:`atomic_write_bytes`, so an interrupted run never leaves a
half-written file that a reader, or a resumed batch, could take as complete.
Content keys count an input file by its SHA-256 (:func:`file_sha256`), not its path.
"""

from __future__ import annotations

import errno
import hashlib
import os
import tempfile
from functools import cache
from pathlib import Path

__all__ = ["atomic_write_bytes", "check_writable_folder", "file_sha256"]


def check_writable_folder(folder: str | os.PathLike[str]) -> Path:
    """Make ``folder`` (and its parents) if needed and check files can be created in it.

    Raises
    ------
    OSError
        Naming ``folder``: a file is in the way, or permission is denied.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), folder)
        raise NotADirectoryError(errno.ENOTDIR, "a file is in the way of this folder", str(blocker)) from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(errno.EACCES, "permission denied (cannot write in this folder)", str(folder))
    return folder



def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename.

    The file gets the usual mode for a new file (0666 less the umask), not the
    0600 of the temporary file, so a lab group or a web UI running as another
    user can read results. An error names ``path``, not the temporary file.
    """
    path = Path(path)
    check_writable_folder(path.parent)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if hasattr(os, "fchmod"):  # POSIX only
                os.fchmod(handle.fileno(), _NEW_FILE_MODE)
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise type(exc)(exc.errno, exc.strerror, str(path)) from None
    except BaseException:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise


def _current_umask() -> int:
    # Read once at import: os.umask can only be read by setting it, which would
    # race with other threads creating files if done on every write.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_NEW_FILE_MODE = 0o666 & ~_current_umask()



def read_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes, read now (no cache: for checks that must see the disk)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@cache
def _file_sha256(path: str, mtime_ns: int, size: int) -> str:
    return read_sha256(path)


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes (cached per path, modification time and size: for large input files)."""
    stat = path.stat()
    return _file_sha256(str(path.resolve()), stat.st_mtime_ns, stat.st_size)
