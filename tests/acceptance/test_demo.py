"""`edoc-axis demo` (the main job) runs the whole life cycle and leaves nothing running."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EDOC_AXIS = Path(sys.executable).parent / "edoc-axis"


def test_demo_runs_the_life_cycle(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    done = subprocess.run(
        [str(EDOC_AXIS), "demo", "--dir", str(root)],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for expected in (
        "registered 000.00.00.H49 UBND tỉnh Quảng Ninh (push",
        "status 06 finished",
        "status 13 asks to recall the document",
        "status 15 agrees to the recall/update",
        "000.00.00.H49 (push): delivered",
        "000.00.00.H41 (pull): acknowledged",
        "Audit chain: ",
        "intact: True",
    ):
        assert expected in out, expected
    assert len(list((root / "endpoint-000.00.00.H49" / "documents").glob("*.xml"))) == 1
    assert len(list((root / "inbox-000.00.00.H41").glob("*.edxml"))) == 2
    assert len(list((root / "receipts").glob("*.receipt.xml"))) == 2


def test_demo_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    done = subprocess.run(
        [str(EDOC_AXIS), "demo", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert (tmp_path / "keep.txt").read_text() == "mine"
