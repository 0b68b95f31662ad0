"""What every command-line program of the package shows on a terminal: a progress bar,
a document's trace, times in Vietnam time; and how it runs its event loop.

``cli``, ``bench`` and ``demo`` all use these, so they live here rather than in one of
them (the architecture test keeps ``bench`` and ``demo`` from importing ``cli``).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Coroutine
from datetime import datetime
from typing import Any

from edoc_axis.clock import to_vietnam_local
from edoc_axis.edxml import BusinessDocType

MOMENTS = (("queued_at", "queued"), ("delivered_at", "delivered"), ("acked_at", "acknowledged"))


def local_time(iso: str) -> str:
    """An API time (ISO 8601) shown in Vietnam time (UTC+7), to the second."""
    return to_vietnam_local(datetime.fromisoformat(iso)).strftime("%Y-%m-%d %H:%M:%S")


class Progress:
    """A one-line progress bar on a terminal; silent when stderr is not a terminal."""

    def __init__(self, total: int, label: str, *, stream: Any = None) -> None:
        self.total = max(total, 1)
        self.label = label
        self.done = 0
        self.stream = stream or sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())

    def advance(self, count: int = 1) -> None:
        self.done += count
        if self.enabled:
            width = 30
            filled = int(width * self.done / self.total)
            bar = "#" * filled + "-" * (width - filled)
            self.stream.write(f"\r{self.label} [{bar}] {self.done}/{self.total}")
            self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def run_event_loop(main: Coroutine[Any, Any, None]) -> None:
    """``asyncio.run``, on uvloop when it is installed (a dependency where it exists).

    ``EDOC_AXIS_UVLOOP=0`` keeps the standard loop (to compare, or to debug).
    """
    try:
        if os.environ.get("EDOC_AXIS_UVLOOP", "1") == "0":
            raise ImportError("uvloop disabled by EDOC_AXIS_UVLOOP=0")
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)


def _events(delivery: dict[str, Any]) -> list[tuple[str, str]]:
    events = [(delivery[key], label) for key, label in MOMENTS if delivery.get(key)]
    for status in delivery["statuses"]:
        if status.get("kind") == "notice":
            text = f"axis notice: {status['meaning']}"
        else:
            text = f"status {status['status_code']} {status['meaning']}"
        if status["from"] != delivery["agency"]:
            text += f" (from {status['from']})"
        staff = status.get("staff") or {}
        people = ", ".join(v for v in (staff.get("staff"), staff.get("department")) if v)
        text += f"; staff: {people}" if people else ""
        text += f"; note: {status['description']}" if status.get("description") else ""
        events.append((status["received_at"], text))
    return sorted(events, key=lambda event: datetime.fromisoformat(event[0]))  # stable


def print_trace(data: dict[str, Any]) -> None:
    print(f"document    {data['id']}")
    print(f"DocumentId  {data['document_id']}")
    print(f"sender      {data['sender']}")
    print(f"subject     {data['subject']}")
    print(f"accepted    {local_time(data['received_at'])} (times are Vietnam time, UTC+7)")
    if data.get("acts_on"):
        print(f"acts on     {data['acts_on']['id']} ({data['acts_on']['document_id']})")
    for delivery in data["deliveries"]:
        error = f", last error: {delivery['last_error']}" if delivery.get("last_error") else ""
        print(f"\n{delivery['agency']} ({delivery['mode']}): {delivery['state']}{error}")
        for when, text in _events(delivery):
            print(f"  {local_time(when)}  {text}")
        for round_ in delivery.get("recall_rounds") or []:
            asked = ", ".join(q["code"] for q in round_["asked"])
            answer = round_.get("answer")
            answered = f"answered {answer['code']}" if answer else "waiting for 15 or 16"
            print(f"  recall round {round_['round']}: asked by {asked}; {answered}")
    if data["followups"]:
        print("\nfollow-ups:")
    for followup in data["followups"]:
        kind = BusinessDocType(followup["business_type"]).name.lower()
        print(f"  {followup['id']}  {kind}  {followup['document_id']}  {followup['subject']}")
