"""Log lines from several processes sharing one file stay whole (serve --processes N)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

_WRITER = """
import sys
from edoc_axis.logs import configure_logging
import structlog
configure_logging("json")
log = structlog.get_logger("test")
for n in range(int(sys.argv[1])):
    log.info("document.accepted", axis_id=f"{sys.argv[2]}-{n}", padding="x" * 200)
"""


def test_workers_writing_one_file_never_glue_or_split_lines(tmp_path: Path) -> None:
    # The workers of `serve --processes N` inherit one stderr. A line written in
    # two writes (the message, then its newline) can land glued to another
    # worker's line, which no log shipper can read.
    lines, workers = 3000, 3
    log_file = tmp_path / "axis.log"
    with log_file.open("ab") as shared:
        children = [
            subprocess.Popen([sys.executable, "-c", _WRITER, str(lines), f"w{n}"], stderr=shared)
            for n in range(workers)
        ]
        for child in children:
            assert child.wait(timeout=120) == 0
    records = [json.loads(line) for line in log_file.read_text(encoding="utf-8").splitlines()]
    assert len(records) == lines * workers
    seen = {record["axis_id"] for record in records}
    assert seen == {f"w{w}-{n}" for w in range(workers) for n in range(lines)}
