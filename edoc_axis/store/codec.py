"""Conversions between records and database rows: times, cursors, one mapper per record.

Both backends map their rows with the same functions; they differ only in how
a row carries a time, which a ``Decoder`` says: SQLite holds fixed-width UTC
text, asyncpg hands out aware datetimes. Lists kept in child tables (aliases,
fingerprints, recipients) are passed in by the caller, who read them.
"""

from __future__ import annotations

import base64
import binascii
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar, cast

from edoc_axis.core.audit import AuditEntry, utc_iso
from edoc_axis.store.base import InvalidCursor
from edoc_axis.store.records import (
    Activity,
    ActivityCount,
    Agency,
    AgencyState,
    Claim,
    ConsoleSessionRow,
    Delivery,
    DeliveryMode,
    DeliveryState,
    DocumentKind,
    InboxItem,
    Page,
    Stats,
    StatusKind,
    StoredDocument,
    StoredStatus,
)

T = TypeVar("T")


def to_db(at: datetime) -> str:
    """The stored form of a time: fixed-width UTC text, which sorts as time does."""
    return utc_iso(at)


def opt_to_db(at: datetime | None) -> str | None:
    return None if at is None else to_db(at)


def from_db(text: str) -> datetime:
    return datetime.fromisoformat(text)


def opt_from_db(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def encode_cursor(listing: str, position: int) -> str:
    """An opaque, URL-safe cursor naming the last row a page returned."""
    raw = f"{listing}:{position}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(listing: str, cursor: str | None) -> int:
    """The position after which the next page starts (0 for the first page)."""
    if cursor is None:
        return 0
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
        name, _, position = text.partition(":")
        value = int(position)
    except (ValueError, UnicodeError, binascii.Error) as exc:
        raise InvalidCursor(f"invalid cursor {cursor!r}") from exc
    # A cursor from another listing would silently skip rows; refuse it.
    if name != listing or value < 0:
        raise InvalidCursor(f"invalid cursor {cursor!r}")
    return value


class Row(Protocol):
    """A result row by column name: ``sqlite3.Row`` and ``asyncpg.Record`` both are."""

    def __getitem__(self, key: str, /) -> Any: ...


@dataclass(frozen=True, slots=True)
class Decoder:
    """How one backend's rows carry a time."""

    time: Callable[[Any], datetime]

    def opt_time(self, value: Any) -> datetime | None:
        return None if value is None else self.time(value)


def _native(value: datetime) -> datetime:
    return value


SQLITE = Decoder(time=from_db)
POSTGRES = Decoder(time=_native)  # timestamptz columns come back as aware datetimes


def agency_record(
    row: Row, d: Decoder, aliases: Iterable[str], fingerprints: Iterable[str]
) -> Agency:
    return Agency(
        code=row["code"],
        name=row["name"],
        alias_codes=tuple(aliases),
        state=cast(AgencyState, row["state"]),
        delivery_mode=cast(DeliveryMode, row["delivery_mode"]),
        endpoint_url=row["endpoint_url"],
        created_at=d.time(row["created_at"]),
        certificate_fingerprints=tuple(fingerprints),
        test=bool(row["test"]),
        peer=row["peer"],
    )


def split_path(text: str | None) -> tuple[str, ...]:
    """A relay path as stored (comma separated axis names) back to a tuple."""
    return tuple(text.split(",")) if text else ()


def join_path(path: tuple[str, ...]) -> str | None:
    return ",".join(path) if path else None


def _optional_bytes(row: Row, name: str) -> bytes | None:
    """A column only some queries select (a delivery's relay receipt)."""
    try:
        value = row[name]
    except (IndexError, KeyError):
        return None
    return None if value is None else bytes(value)


def document_record(row: Row, d: Decoder, recipients: Iterable[str]) -> StoredDocument:
    return StoredDocument(
        axis_id=row["axis_id"],
        sender_code=row["sender_code"],
        document_id=row["document_id"],
        kind=cast(DocumentKind, row["kind"]),
        business_type=row["business_type"],
        references_document_id=row["references_document_id"],
        subject=row["subject"],
        sha256=row["sha256"],
        size=row["size"],
        received_at=d.time(row["received_at"]),
        receipt=bytes(row["receipt"]),
        recipients=tuple(recipients),
        legacy_policy=bool(row["legacy_policy"]),
        relay_path=split_path(row["relay_path"]),
    )


def delivery_record(row: Row, d: Decoder) -> Delivery:
    return Delivery(
        id=row["id"],
        axis_id=row["axis_id"],
        recipient_code=row["recipient_code"],
        mode=cast(DeliveryMode, row["mode"]),
        state=cast(DeliveryState, row["state"]),
        attempts=row["attempts"],
        next_attempt_at=d.time(row["next_attempt_at"]),
        lease_until=d.opt_time(row["lease_until"]),
        lease_owner=row["lease_owner"],
        last_error=row["last_error"],
        delivered_at=d.opt_time(row["delivered_at"]),
        acked_at=d.opt_time(row["acked_at"]),
        status_code=row["status_code"],
        status_at=d.opt_time(row["status_at"]),
        created_at=d.time(row["created_at"]),
        relay_receipt=_optional_bytes(row, "relay_receipt"),
    )


def inbox_record(row: Row, d: Decoder) -> InboxItem:
    return InboxItem(
        axis_id=row["axis_id"],
        sender_code=row["sender_code"],
        document_id=row["document_id"],
        kind=cast(DocumentKind, row["kind"]),
        business_type=row["business_type"],
        subject=row["subject"],
        sha256=row["sha256"],
        size=row["size"],
        received_at=d.time(row["received_at"]),
        state=cast(DeliveryState, row["state"]),
        attempts=row["attempts"],
    )


def claim_record(row: Row, d: Decoder) -> Claim:
    return Claim(
        delivery_id=row["id"],
        attempt=row["attempts"],
        axis_id=row["axis_id"],
        recipient_code=row["recipient_code"],
        endpoint_url=row["endpoint_url"],
        sender_code=row["sender_code"],
        document_id=row["document_id"],
        sha256=row["sha256"],
        lease_until=d.time(row["lease_until"]),
    )


def status_record(row: Row, d: Decoder) -> StoredStatus:
    return StoredStatus(
        status_id=row["status_id"],
        axis_id=row["axis_id"],
        document_id=row["document_id"],
        from_code=row["from_code"],
        to_code=row["to_code"],
        kind=cast(StatusKind, row["kind"]),
        status_code=row["status_code"],
        sha256=row["sha256"],
        timestamp=d.time(row["timestamp"]),
        received_at=d.time(row["received_at"]),
        recall_round=row["recall_round"],
    )


def audit_record(row: Sequence[Any]) -> AuditEntry:
    # Plain tuples here: verification streams a million of these. Both backends
    # keep the audit time as the text that was hashed.
    seq, at, event, axis_id, agency, detail, prev_hash, hash_ = row
    return AuditEntry(seq, from_db(at), event, axis_id, agency, detail, prev_hash, hash_)


def activity_record(counts: Iterable[Row], pending: Iterable[Row], decoder: Decoder) -> Activity:
    """Activity from the rows of ACTIVITY (hour, agency, event, code, n) and pending ones."""
    return Activity(
        tuple(
            ActivityCount(
                datetime.fromisoformat(f"{row['hour']}:00:00+00:00"),
                row["agency"],
                row["event"],
                row["code"],
                int(row["n"]),
            )
            for row in counts
        ),
        {row["recipient_code"]: (int(row["n"]), decoder.time(row["oldest"])) for row in pending},
    )


def stats_record(rows: Iterable[Row], oldest: datetime | None, now: datetime) -> Stats:
    """Stats from COUNT_BY_AGENCY_STATE's rows and the oldest pending time."""
    by_state: Counter[str] = Counter()
    by_agency_state: dict[tuple[str, str], int] = {}
    for row in rows:
        if not row["test"]:  # test agencies never raise the alarm
            by_state[row["state"]] += row["n"]
        by_agency_state[(row["recipient_code"], row["state"])] = row["n"]
    age = None if oldest is None else max(0.0, (now - oldest).total_seconds())
    return Stats(dict(by_state), by_agency_state, age)


def page_of(
    listing: str,
    rows: Sequence[Row],
    limit: int,
    position: str,
    record: Callable[[Row], T],
    *,
    resume_after: int | None = None,
) -> Page[T]:
    """One page from ``limit + 1`` rows; the extra row only says there is more.

    ``position`` names the column a cursor holds. ``resume_after`` (the
    position the page started after) makes a feed page that always carries a
    resume cursor (see ``Page``).
    """
    page = rows[:limit]
    items = tuple(record(row) for row in page)
    if resume_after is None:
        more = encode_cursor(listing, page[-1][position]) if len(rows) > limit else None
        return Page(items, more)
    resume = encode_cursor(listing, page[-1][position] if page else resume_after)
    return Page(items, resume if len(rows) > limit else None, resume)


def console_session_record(row: Row, d: Decoder) -> ConsoleSessionRow:
    return ConsoleSessionRow(
        id_hash=row["id_hash"],
        actor=row["actor"],
        csrf=row["csrf"],
        created_at=d.time(row["created_at"]),
        seen_at=d.time(row["seen_at"]),
        notes=row["notes"],
    )
