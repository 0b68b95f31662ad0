"""Durable file writes shared by the agency-side stores (endpoint and `edoc receive`)."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path

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
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    fsync_dir(target.parent)
