"""The run folders of `serve --processes N`: one killed supervisor's is removed by the next."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from edoc_axis.cli.axis_workers import sweep_stale_run_dirs


def test_the_folders_of_supervisors_that_are_gone_are_removed(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    gone = tmp_path / f"edoc-axis-run-{int(done.stdout)}-k1ll3d"
    (gone / "metrics").mkdir(parents=True)
    (gone / "agency-rates").write_bytes(b"\0" * 64)
    running = tmp_path / f"edoc-axis-run-{os.getpid()}-l1v3"
    running.mkdir()
    unrelated = tmp_path / "edoc-axis-run-notes"
    unrelated.mkdir()
    sweep_stale_run_dirs(tmp_path)
    assert not gone.exists()
    assert running.exists() and unrelated.exists()
