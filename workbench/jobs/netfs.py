r"""Is a file on a network file system? SQLite's WAL mode is not safe there.

SQLite in WAL mode shares its index through memory-mapped ``-shm`` files, which
NFS, SMB, Lustre, GPFS and their kin do not keep coherent between hosts; its
locks are unreliable there too. The usual HPC home directory is such a file
system, so the job store warns (once) when its SQLite file sits on one.

The type comes from ``/proc/mounts``: the mount whose mount point is the
longest prefix of the file's real path.

Examples
--------
>>> mounts = "/dev/sda1 / ext4 rw 0 0\nnas:/export/home /home nfs4 rw,vers=4.2 0 0\n"
>>> filesystem_type("/home/ana/.workbench/jobs.sqlite", mounts)
'nfs4'
>>> network_filesystem("/home/ana/.workbench/jobs.sqlite", mounts)
'nfs4'
>>> network_filesystem("/tmp/jobs.sqlite", mounts) is None
True
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

__all__ = ["NETWORK_FILESYSTEMS", "filesystem_type", "network_filesystem", "parse_mounts"]

#: File-system types (as /proc/mounts names them) whose locks or shared memory maps SQLite cannot trust.
NETWORK_FILESYSTEMS = frozenset({
    "nfs", "nfs4", "cifs", "smb3", "smbfs", "ncpfs", "afs", "9p", "lustre", "gpfs", "beegfs", "panfs",
    "ceph", "glusterfs", "ocfs2", "gfs2", "pvfs2", "orangefs", "cvfs", "fuse.sshfs", "fuse.glusterfs",
    "fuse.ceph", "fuse.cephfs", "fuse.s3fs", "fuse.gcsfuse", "fuse.rclone", "fuse.juicefs", "fuse.beegfs",
})

#: Where the kernel lists the mounts of this process's namespace.
PROC_MOUNTS = Path("/proc/mounts")


def _unescape(field: str) -> str:
    r"""A /proc/mounts field with its octal escapes (``\040`` for a space) decoded."""
    if "\\" not in field:
        return field
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and i + 3 < len(field) and field[i + 1:i + 4].isdigit():
            out.append(chr(int(field[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def parse_mounts(text: str) -> list[tuple[str, str]]:
    r"""``(mount point, file-system type)`` of every line of a ``/proc/mounts`` text, in order.

    Malformed lines (fewer than three fields, a mount point that is not absolute) are skipped;
    ``\040`` and the other octal escapes in mount points are decoded.

    Examples
    --------
    >>> parse_mounts("server:/a /mnt/my\\040data nfs rw 0 0\nbroken\n")
    [('/mnt/my data', 'nfs')]
    """
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[1].startswith("/"):
            mounts.append((_unescape(fields[1]), fields[2]))
    return mounts


def filesystem_type(path: str | os.PathLike[str], mounts_text: str | None = None) -> str | None:
    """The type of the file system that holds ``path`` (a file that may not exist yet), or None if unknown.

    Parameters
    ----------
    path : str or PathLike
        Made absolute and resolved (symbolic links followed) first.
    mounts_text : str, optional
        The content of ``/proc/mounts``; read from there when omitted (None
        where it cannot be read: not Linux).
    """
    if mounts_text is None:
        try:
            mounts_text = PROC_MOUNTS.read_text(errors="replace")
        except OSError:
            return None
    target = PurePosixPath(os.path.realpath(os.fspath(path)))
    best: tuple[int, str] | None = None
    for mount_point, kind in parse_mounts(mounts_text):  # the last of equal mount points is the one on top
        point = PurePosixPath(mount_point)
        if (target == point or point in target.parents) and (best is None or len(point.parts) >= best[0]):
            best = (len(point.parts), kind)
    return None if best is None else best[1]


def network_filesystem(path: str | os.PathLike[str], mounts_text: str | None = None) -> str | None:
    """The network file-system type holding ``path`` (``"nfs4"``, ``"lustre"``, ...), or None for a local one."""
    kind = filesystem_type(path, mounts_text)
    return kind if kind is not None and kind.lower() in NETWORK_FILESYSTEMS else None
