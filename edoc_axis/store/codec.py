"""Conversions between records and SQLite rows: times, cursors, row mapping."""

from __future__ import annotations

import base64
import binascii
import sqlite3
from datetime import datetime
from typing import Any, cast

from edoc_axis.core.audit import AuditEntry, utc_iso
from edoc_axis.store.base import InvalidCursor
from edoc_axis.store.records import (
    Delivery,
    DeliveryMode,
    DeliveryState,
    DocumentKind,
    InboxItem,
    StoredStatus,
)


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


def delivery_from_row(row: sqlite3.Row) -> Delivery:
    return Delivery(
        id=row["id"],
        axis_id=row["axis_id"],
        recipient_code=row["recipient_code"],
        mode=cast(DeliveryMode, row["mode"]),
        state=cast(DeliveryState, row["state"]),
        attempts=row["attempts"],
        next_attempt_at=from_db(row["next_attempt_at"]),
        lease_until=opt_from_db(row["lease_until"]),
        lease_owner=row["lease_owner"],
        last_error=row["last_error"],
        delivered_at=opt_from_db(row["delivered_at"]),
        acked_at=opt_from_db(row["acked_at"]),
        status_code=row["status_code"],
        status_at=opt_from_db(row["status_at"]),
        created_at=from_db(row["created_at"]),
    )


def inbox_item_from_row(row: sqlite3.Row) -> InboxItem:
    return InboxItem(
        axis_id=row["axis_id"],
        sender_code=row["sender_code"],
        document_id=row["document_id"],
        kind=cast(DocumentKind, row["kind"]),
        business_type=row["business_type"],
        subject=row["subject"],
        sha256=row["sha256"],
        size=row["size"],
        received_at=from_db(row["received_at"]),
        state=cast(DeliveryState, row["state"]),
        attempts=row["attempts"],
    )


def status_from_row(row: sqlite3.Row) -> StoredStatus:
    return StoredStatus(
        status_id=row["status_id"],
        axis_id=row["axis_id"],
        document_id=row["document_id"],
        from_code=row["from_code"],
        to_code=row["to_code"],
        kind=row["kind"],
        status_code=row["status_code"],
        sha256=row["sha256"],
        timestamp=from_db(row["timestamp"]),
        received_at=from_db(row["received_at"]),
        recall_round=row["recall_round"],
    )


def audit_from_tuple(row: tuple[Any, ...]) -> AuditEntry:
    # Plain tuples here: verification streams a million of these.
    seq, at, event, axis_id, agency, detail, prev_hash, hash_ = row
    return AuditEntry(seq, from_db(at), event, axis_id, agency, detail, prev_hash, hash_)
