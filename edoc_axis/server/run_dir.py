"""The directory the processes of one `serve --processes N` share.

The supervisor (cli/axis_workers.py) makes a new one for each run, names it in
``EDOC_AXIS_RUN_DIR`` for its workers and removes it when it stops. Without it
(one process, tests) every figure is the process's own.
"""

from __future__ import annotations

import os
from pathlib import Path

RUN_DIR = "EDOC_AXIS_RUN_DIR"


def shared_run_dir() -> Path | None:
    value = os.environ.get(RUN_DIR)
    return Path(value) if value else None
