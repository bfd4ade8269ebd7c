"""Folders and files of the workbench's state, created private to the account that runs it.

The job store, results, uploads and the shared cache hold a lab's unpublished
structures and the store's records of who ran what. A folder the workbench
creates for them is ``0700`` (owner only) and a new SQLite store ``0600``;
with ``$WORKBENCH_GROUP`` set to a group the account belongs to, folders are
``2750`` (the group may read, and new files and folders inherit the group) and
the store ``0640``, so a lab can read its results without being able to change
them. Files written inside keep the usual modes: the folder is the gate.

Only what the workbench creates is set this way; a folder that exists keeps
its mode (the owner chose it), and :func:`exposure` says when the home folder
is open to other accounts so that the services can warn.
"""

from __future__ import annotations

import grp
import os
import stat
from dataclasses import dataclass
from pathlib import Path

__all__ = ["StateModes", "create_private_file", "exposure", "make_state_folder", "state_modes"]

#: The variable naming a group that may read the workbench's state.
GROUP_VARIABLE = "WORKBENCH_GROUP"


@dataclass(frozen=True)
class StateModes:
    """Modes and group for new state folders and store files.

    Attributes
    ----------
    folder : int
        Mode of a new folder: ``0o700``, or ``0o2750`` with a group.
    file : int
        Mode of a new store file: ``0o600``, or ``0o640`` with a group.
    gid : int or None
        The group given read access, or None.
    """

    folder: int
    file: int
    gid: int | None


def state_modes() -> StateModes:
    """The modes ``$WORKBENCH_GROUP`` asks for (read here, the one place it is read).

    Raises
    ------
    ValueError
        The variable names a group this machine does not know, in one line.
    """
    name = os.environ.get(GROUP_VARIABLE, "").strip()
    if not name:
        return StateModes(folder=0o700, file=0o600, gid=None)
    try:
        gid = grp.getgrnam(name).gr_gid
    except KeyError:
        raise ValueError(f"{GROUP_VARIABLE}={name!r}: no such group on this machine") from None
    return StateModes(folder=0o2750, file=0o640, gid=gid)


def make_state_folder(path: Path) -> Path:
    """Create ``path`` and its missing parents with the state's folder mode; an existing folder is left as it is.

    ``Path.mkdir(parents=True)`` would give the parents the umask's mode, and
    ``mkdir(2)`` drops the set-group-id bit, hence the explicit ``chmod``.

    Parameters
    ----------
    path : Path

    Returns
    -------
    Path
        ``path``.
    """
    modes = state_modes()
    missing: list[Path] = []
    current = Path(path).expanduser()
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:  # another process made it first: theirs, with the same modes
            continue
        if modes.gid is not None:
            os.chown(folder, -1, modes.gid)
        os.chmod(folder, modes.folder)
    return path


def create_private_file(path: Path) -> bool:
    """Create an empty ``path`` with the state's file mode unless it exists (a new SQLite store).

    SQLite gives its ``-wal`` and ``-shm`` files the mode of the database file,
    so they follow.

    Returns
    -------
    bool
        Whether the file was created here.
    """
    modes = state_modes()
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    try:
        if modes.gid is not None:
            os.fchown(descriptor, -1, modes.gid)
        os.fchmod(descriptor, modes.file)
    finally:
        os.close(descriptor)
    return True


def exposure(path: Path) -> str | None:
    """What other accounts may do in the existing folder ``path``, or None when it is private enough.

    Private enough: nothing for others, and nothing for the group beyond
    reading when ``$WORKBENCH_GROUP`` names it. Returns, for example,
    ``"mode 0755: every account on this machine may read it"``.
    """
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None
    shown = f"mode {mode & 0o7777:04o}"
    if mode & 0o007:
        return f"{shown}: every account on this machine may read it"
    modes = state_modes()
    if mode & 0o070 and (modes.gid is None or mode & 0o020):
        return f"{shown}: its group may {'change' if mode & 0o020 else 'read'} it"
    return None
