"""`edoc statuses --follow` against a real `edoc-axis serve` (issue 13).

The sender follows its status feed with a cursor file while the recipient
receives a document and answers it with a signed status; the feed shows each
status once, the cursor file keeps the place across runs, SIGTERM ends it with 0.
"""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

from tests.acceptance.conftest import G22, TOOLS, Agency, AxisHome, AxisServer, cli_env
from tests.acceptance.pull_helpers import edoc, flags, register_pull_agencies, send_signed
from tests.waiting import eventually_sync

FEED_RECIPIENT = "000.00.00.H70"
DEADLINE_S = 20.0


@pytest.fixture(scope="module")
def recipient(axis_home: AxisHome) -> Agency:
    return register_pull_agencies(axis_home, [FEED_RECIPIENT])[FEED_RECIPIENT]


def _lines(path: Path) -> list[dict[str, object]]:
    complete = path.read_text("utf-8").split("\n")[:-1] if path.exists() else []
    return [json.loads(line) for line in complete if line.startswith("{")]


def test_statuses_follow_shows_each_status_once_and_keeps_its_place(
    recipient: Agency, axis: AxisServer, axis_home: AxisHome, tmp_path: Path
) -> None:
    sender = axis_home.agencies[G22]
    cursor_file, out = tmp_path / "statuses.cursor", tmp_path / "feed.jsonl"
    args = ["statuses", "--follow", "--json", "--interval", "0.1", "--cursor-file", cursor_file]
    with out.open("wb") as sink:
        process = subprocess.Popen(
            [str(TOOLS["edoc"]), *map(str, args), *flags(axis, sender)],
            env=cli_env(),
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.PIPE,
        )
        try:
            eventually_sync(cursor_file.exists, DEADLINE_S, "statuses --follow to start")
            sent = send_signed(axis, sender, recipient.code, tmp_path)
            edoc(axis, recipient, "receive", "--out", tmp_path / "inbox").ok()  # 01 on ack
            edoc(axis, recipient, "status", sent.axis_id, "--code", "03",
                 "--key", recipient.key, "--cert", recipient.cert).ok()  # fmt: skip
            eventually_sync(lambda: len(_lines(out)) >= 2, DEADLINE_S, "both statuses in the feed")
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=DEADLINE_S)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=15)
    assert process.returncode == 0, stderr.decode()
    seen = [(s["status_code"], s["from"], s["id"]) for s in _lines(out)]
    assert seen == [("01", recipient.code, sent.axis_id), ("03", recipient.code, sent.axis_id)]
    # The cursor file kept the place: a new run has nothing new, a status later is shown alone.
    keep = ("--cursor-file", str(cursor_file))
    assert edoc(axis, sender, "statuses", *keep).ok().stdout == "no new statuses\n"
    edoc(axis, recipient, "status", sent.axis_id, "--code", "06",
         "--key", recipient.key, "--cert", recipient.cert).ok()  # fmt: skip
    later = edoc(axis, sender, "statuses", *keep, "--json").ok().json()
    assert [s["status_code"] for s in later["items"]] == ["06"]
    assert cursor_file.read_text().strip() == later["cursor"]
