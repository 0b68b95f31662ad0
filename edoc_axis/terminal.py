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
        print(f"\n{delivery['agency']} ({_mode(delivery)}): {delivery['state']}{error}")
        _print_events(delivery, "  ")
        if delivery.get("relay"):
            _print_hops(delivery["relay"], delivery["agency"], data.get("sha256"))
    if data["followups"]:
        print("\nfollow-ups:")
    for followup in data["followups"]:
        kind = BusinessDocType(followup["business_type"]).name.lower()
        print(f"  {followup['id']}  {kind}  {followup['document_id']}  {followup['subject']}")


def _mode(delivery: dict[str, Any]) -> str:
    """``push``, ``pull``, or ``push to PEER`` for a delivery relayed to a peer axis."""
    relay = delivery.get("relay")
    return f"{delivery['mode']} to {relay['peer']}" if relay else str(delivery["mode"])


def _print_events(delivery: dict[str, Any], indent: str) -> None:
    for when, text in _events(delivery):
        print(f"{indent}{local_time(when)}  {text}")
    for round_ in delivery.get("recall_rounds") or []:
        asked = ", ".join(q["code"] for q in round_["asked"])
        answer = round_.get("answer")
        answered = f"answered {answer['code']}" if answer else "waiting for 15 or 16"
        print(f"{indent}recall round {round_['round']}: asked by {asked}; {answered}")


def _receipt_line(receipt: dict[str, Any] | None, peer: str, sha256: str | None) -> str:
    if receipt is None:
        return f"no receipt from {peer} yet"
    if not receipt.get("verified"):
        return f"receipt from {peer} NOT verified ({receipt.get('error')})"
    same = (
        "the sender's exact bytes"
        if receipt.get("sha256") == sha256
        else f"OTHER bytes (sha256 {str(receipt.get('sha256'))[:16]}…)"
    )
    return (
        f"receipt signed by {receipt['axis']}, verified: accepted "
        f"{local_time(receipt['accepted_at'])} as {receipt['axis_id']}, {same}"
    )


def _print_hops(relay: dict[str, Any], agency: str, sha256: str | None) -> None:
    """Each axis the delivery was relayed through: its receipt, then its part of the trace.

    ``relay`` is a delivery's ``relay`` entry of the trace API: the peer, that peer's
    verified receipt, and under ``next`` the peer's own trace (its deliveries, which
    may be relayed again) or why it could not be had.
    """
    hop = 0
    while relay:
        hop += 1
        following: dict[str, Any] = relay.get("next") or {}
        path = following.get("relay_path") or []
        origin = f"{path[-1]} → " if path else "→ "
        print(f"  hop {hop}  {origin}{relay['peer']}")
        print(f"          {_receipt_line(relay.get('receipt'), relay['peer'], sha256)}")
        if following.get("error"):
            print(f"          {following['error']}")
            return
        mine = [d for d in following.get("deliveries", []) if d.get("agency") == agency]
        if not mine:
            return
        delivery = mine[0]
        error = f", last error: {delivery['last_error']}" if delivery.get("last_error") else ""
        print(
            f"          at {following.get('axis', relay['peer'])} {delivery['agency']} "
            f"({_mode(delivery)}): {delivery['state']}{error}"
        )
        _print_events(delivery, "            ")
        relay = delivery.get("relay") or {}
