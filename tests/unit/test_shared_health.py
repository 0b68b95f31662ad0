"""The push endpoints as all the processes of one serve know them, for the console."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from edoc_axis.core.health import EndpointHealth
from edoc_axis.server.shared_health import gather, publish

T0 = datetime(2026, 11, 29, 9, tzinfo=UTC)
H49 = "https://h49.example.test"
H41 = "https://h41.example.test"


def health(endpoint: str, breaker: str, failures: int, **more: object) -> EndpointHealth:
    fields: dict = {"last_failure": "", "open_until": None, "in_flight": 0, "waiting": 0}
    fields.update(more)
    return EndpointHealth(endpoint, breaker, failures, **fields)


def exited_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(done.stdout)


def test_each_endpoint_shows_the_worst_any_live_process_knows(tmp_path: Path) -> None:
    me, parent = os.getpid(), os.getppid()  # two live processes
    publish(tmp_path, me, [
        health(H49, "closed", 1, last_failure="http 503", in_flight=2, waiting=1),
        health(H41, "closed", 0, in_flight=1),
    ])  # fmt: skip
    publish(tmp_path, parent, [
        health(H49, "open", 5, last_failure="connection refused",
               open_until=T0 + timedelta(seconds=30), in_flight=0, waiting=4),
    ])  # fmt: skip
    publish(tmp_path, exited_pid(), [health(H41, "open", 9, last_failure="gone")])
    merged = {h.endpoint: h for h in gather(tmp_path)}
    assert merged[H49] == EndpointHealth(
        H49, "open", 5, "connection refused", T0 + timedelta(seconds=30), 2, 5
    )
    assert merged[H41] == health(H41, "closed", 0, in_flight=1)  # the dead one's is not shown


def test_a_new_picture_replaces_the_last_one(tmp_path: Path) -> None:
    publish(tmp_path, os.getpid(), [health(H49, "open", 5)])
    publish(tmp_path, os.getpid(), [health(H49, "closed", 0)])
    assert gather(tmp_path) == [health(H49, "closed", 0)]
    assert [p.name for p in (tmp_path / "health").iterdir()] == [f"{os.getpid()}.json"]


def test_a_picture_caught_half_written_is_skipped_not_fatal(tmp_path: Path) -> None:
    publish(tmp_path, os.getppid(), [health(H49, "open", 5)])
    (tmp_path / "health" / f"{os.getpid()}.json").write_text('[{"endpoint": "https://h4')
    assert gather(tmp_path) == [health(H49, "open", 5)]
