"""Whether a process still runs: for folders and files named after the process that made them."""

from __future__ import annotations

import os


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # no signal: only whether it could be sent
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True
