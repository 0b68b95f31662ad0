"""`edoc-axis demo` (the main job) runs the whole life cycle and leaves nothing running."""

from __future__ import annotations

import re
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


def test_the_federation_demo_crosses_three_axes_and_brings_03_back(tmp_path: Path) -> None:
    root = tmp_path / "federation"
    done = subprocess.run(
        [str(EDOC_AXIS), "demo", "--federation", "--dir", str(root)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    listening = re.findall(
        r"^  (LGSP-H26|NGSP|LGSP-H27) +listens on http://127\.0\.0\.1:(\d+)$", out, re.M
    )
    assert sorted(name for name, _ in listening) == ["LGSP-H26", "LGSP-H27", "NGSP"]
    assert len({port for _, port in listening}) == 3  # each axis on its own port
    for expected in (
        "LGSP-H26 → NGSP → LGSP-H27 (from the sender's trace: 2 of 2 hop receipts",
        "is the same as in the sender's receipt at LGSP-H26",
        "the signature verifies with 000.00.00.H26's own certificate",
        "01 and 03 are recorded at LGSP-H27 → NGSP → LGSP-H26",
        "000.00.00.H26 has status 03 accepted and registered (from 000.00.01.H27)",
        "000.00.01.H27 (push to NGSP): delivered",
        "intact: True",
    ):
        assert expected in out, expected
    trace = out[out.index("The sender's trace") :]
    hops = re.findall(
        r"^  hop (\d)  (\S+) → (\S+)\n +receipt signed by (\S+), verified", trace, re.M
    )
    assert hops == [("1", "LGSP-H26", "NGSP", "NGSP"), ("2", "NGSP", "LGSP-H27", "LGSP-H27")]
    assert "at LGSP-H27 000.00.01.H27 (pull): acknowledged" in trace
    # The sender's own delivery shows the recipient's 03, in Vietnam time.
    sender_part = trace[: trace.index("  hop 1")]
    assert re.search(r"^  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d  status 03 accepted", sender_part, re.M)
    assert "Vietnam time" in trace
    assert "NOT" not in out
    pulled = list((root / "inbox-000.00.01.H27").glob("*.edxml"))
    assert len(pulled) == 1
    assert all(
        (root / axis / "store" / "axis.db").exists() for axis in ("NGSP", "LGSP-H26", "LGSP-H27")
    )


def test_demo_help_names_the_federation_demo() -> None:
    done = subprocess.run(
        [str(EDOC_AXIS), "demo", "--help"], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0
    assert "--federation" in done.stdout
    assert "edoc-axis demo --federation" in done.stdout
