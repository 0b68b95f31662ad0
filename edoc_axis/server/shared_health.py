"""What every process of one `serve --processes N` knows of the push endpoints.

Each process pushes and keeps its own circuit breakers. The console's pages
showed those of the process that answered, so a breaker seemed to open and
close from one page load to the next. Each process now writes its picture to
the run's shared directory every second (``health/<pid>.json``, replaced
whole), and the console reads those of the live processes and shows, per
endpoint, the worst of them: open if any process has it open, the most
consecutive failures, the work in flight and waiting summed.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from edoc_axis.core.health import EndpointHealth
from edoc_axis.processes import alive

_WORST = {"closed": 0, "half_open": 1, "open": 2}


def publish(run_dir: Path, pid: int, health: Iterable[EndpointHealth]) -> None:
    """This process's picture, replacing its last one in one rename."""
    folder = run_dir / "health"
    folder.mkdir(exist_ok=True)
    rows = [
        dataclasses.asdict(h)
        | {"open_until": None if h.open_until is None else h.open_until.isoformat()}
        for h in health
    ]
    partial = folder / f".{pid}.json.partial"
    partial.write_text(json.dumps(rows), encoding="utf-8")
    partial.replace(folder / f"{pid}.json")


def gather(run_dir: Path) -> list[EndpointHealth]:
    """The live processes' pictures merged: one row per endpoint, the worst of them."""
    merged: dict[str, EndpointHealth] = {}
    for path in sorted((run_dir / "health").glob("*.json")):
        if not alive(int(path.stem)):
            continue  # a worker that died: its breakers died with it
        try:
            rows = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # replaced while read: the next page has it
        for row in rows:
            until = row["open_until"]
            mine = EndpointHealth(
                **row | {"open_until": None if until is None else datetime.fromisoformat(until)}
            )
            seen = merged.get(mine.endpoint)
            merged[mine.endpoint] = mine if seen is None else _worse_of(seen, mine)
    return list(merged.values())


def _worse_of(a: EndpointHealth, b: EndpointHealth) -> EndpointHealth:
    worst = a if _WORST.get(a.breaker, 0) >= _WORST.get(b.breaker, 0) else b
    most_failed = a if a.consecutive_failures >= b.consecutive_failures else b
    until = [t for t in (a.open_until, b.open_until) if t is not None]
    return EndpointHealth(
        endpoint=a.endpoint,
        breaker=worst.breaker,
        consecutive_failures=most_failed.consecutive_failures,
        last_failure=most_failed.last_failure,
        open_until=max(until) if until else None,
        in_flight=a.in_flight + b.in_flight,
        waiting=a.waiting + b.waiting,
    )
