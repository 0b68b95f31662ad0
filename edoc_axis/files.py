"""Durable file writes shared by the agency-side stores (endpoint and `edoc receive`)."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

# Axis ids become file names: nothing that could climb out of the folder.
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def is_safe_id(axis_id: str) -> bool:
    """Can this id be used as a file name as it is? (the axis's ids always can)"""
    return _SAFE_ID.fullmatch(axis_id) is not None and ".." not in axis_id


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(target: Path, data: bytes) -> None:
    """Readers see the old state or the whole new file, even after a crash.

    Temp file beside ``target``, fsync, rename over it, fsync the directory
    so that the rename itself is durable.
    """
    write_atomically_with(target, lambda handle: handle.write(data))


def write_atomically_with(target: Path, write: Callable[[BinaryIO], object]) -> None:
    """``write_atomically`` of what ``write`` writes to the file it is given (a
    piece at a time, say); nothing is left of it if ``write`` raises."""
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    fsync_dir(target.parent)


# Keys, tokens and the store: only their owner may read them, whatever the umask.
PRIVATE_FOLDER_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def make_private_folder(folder: Path) -> None:
    """Create ``folder`` and its missing parents as 0700; existing folders keep their mode."""
    missing: list[Path] = []
    current = folder
    while not current.exists():
        missing.append(current)
        current = current.parent
    folder.mkdir(parents=True, exist_ok=True)
    for created in missing:
        os.chmod(created, PRIVATE_FOLDER_MODE)


def create_private_file(path: Path) -> bool:
    """Create ``path`` empty and 0600 unless it exists; True when it was created."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return False
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)  # the umask may have taken more than group and others
    finally:
        os.close(fd)
    return True


def open_to_others(path: Path) -> int | None:
    """The permission bits of ``path`` when group or others have any access, else None."""
    try:
        mode = path.stat().st_mode & 0o777
    except (FileNotFoundError, NotADirectoryError):  # no such file: nothing to expose
        return None
    return mode if mode & 0o077 else None
