"""What each console page shows, as plain values for its template.

The figures come from the service layer (``service.operator``,
``service.watch``, ``service.trace``); here they are only arranged for
reading: chart series, a trace as one timeline, sums per state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from edoc_axis.clock import to_vietnam_local
from edoc_axis.store import Delivery, Store

TOP_AGENCIES = 6
"""Agencies drawn as their own line in the per-agency chart (the busiest)."""

_SERIES = ("accepted", "delivered", "retries", "dead_lettered")


def _epoch(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


def traffic_chart(stats: dict[str, Any]) -> dict[str, Any]:
    """uPlot-ready columns: hour starts (Unix seconds), then one column per series."""
    hours = list(stats["hour_starts"])
    index = {h: i for i, h in enumerate(hours)}
    totals = {name: [0] * len(hours) for name in (*_SERIES, "refused")}
    for row in stats["hours"]:
        i = index.get(row["hour"])
        if i is None:
            continue
        for name in _SERIES:
            totals[name][i] += int(row[name])
        totals["refused"][i] += sum(int(n) for n in row["refused"].values())
    return {"x": [_epoch(h) for h in hours], "series": totals}


def agency_chart(stats: dict[str, Any]) -> dict[str, Any]:
    """Accepted documents per hour for the busiest agencies (by what they sent)."""
    hours = list(stats["hour_starts"])
    index = {h: i for i, h in enumerate(hours)}
    busiest = sorted(
        (row for row in stats["agencies"] if row["window"]["accepted"]),
        key=lambda row: (-row["window"]["accepted"], row["agency"]),
    )[:TOP_AGENCIES]
    series = {row["agency"]: [0] * len(hours) for row in busiest}
    for row in stats["hours"]:
        i = index.get(row["hour"])
        if i is not None and row["agency"] in series:
            series[row["agency"]][i] += int(row["accepted"])
    return {"x": [_epoch(h) for h in hours], "series": series}


@dataclass(frozen=True, slots=True)
class DeadLetterRow:
    delivery: Delivery
    sender: str | None
    document_id: str | None
    subject: str | None


async def dead_letter_rows(store: Store, found: list[Delivery]) -> list[DeadLetterRow]:
    rows = []
    for delivery in found:
        document = await store.get_document(delivery.axis_id)
        rows.append(
            DeadLetterRow(
                delivery,
                None if document is None else document.sender_code,
                None if document is None else document.document_id,
                None if document is None else document.subject,
            )
        )
    return rows


@dataclass(frozen=True, slots=True)
class Moment:
    """One line of a trace's timeline: when, what (a message key), who, and more."""

    at: datetime
    what: str
    agency: str | None
    note: str


def _at(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _delivery_moments(delivery: dict[str, Any]) -> list[Moment]:
    agency = delivery["agency"]
    found = []
    for key, what, note in (
        ("queued_at", "trace.queued", delivery["mode"]),
        ("delivered_at", "trace.delivered", ""),
        ("acked_at", "trace.acked", ""),
    ):
        at = _at(delivery[key])
        if at is not None:
            found.append(Moment(at, what, agency, note))
    for status in delivery["statuses"]:
        at = _at(status["received_at"])
        if at is not None:
            code = status["status_code"] or status["kind"]
            note = f"{code} {status['meaning']}: {status['from']} → {status['to']}"
            found.append(Moment(at, "trace.status", agency, note))
    return found


def timeline(trace: dict[str, Any]) -> list[Moment]:
    """Everything the trace knows that has a time, oldest first."""
    moments = [Moment(datetime.fromisoformat(trace["received_at"]), "trace.accepted", None, "")]
    for delivery in trace["deliveries"]:
        moments.extend(_delivery_moments(delivery))
    return sorted(moments, key=lambda m: m.at.astimezone(UTC))


def when(value: datetime | str | None) -> str:
    """A time for reading: Vietnam time (UTC+7, as the CLI shows it and as edXML writes
    it), to the second, with its offset so that nobody takes it for UTC."""
    if value is None:
        return "—"
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return to_vietnam_local(at).strftime("%Y-%m-%d %H:%M:%S +07")


def age(seconds: float | None) -> str:
    """A duration for reading: 3d 4h, 2h 05m, 4m 10s, 12s."""
    if seconds is None:
        return "—"
    whole = int(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"
