"""Reads over one asyncpg connection, each mapped to a record once.

Shared by read verbs (on a pooled connection) and write verbs (which read back
what they wrote inside their transaction). Times come back as aware datetimes.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any, TypeAlias, cast

import asyncpg

from edoc_axis.core.audit import AuditEntry
from edoc_axis.errors import NotFound
from edoc_axis.store import pg_queries as q
from edoc_axis.store.codec import decode_cursor, encode_cursor, from_db
from edoc_axis.store.records import (
    Agency,
    AgencyState,
    Delivery,
    DeliveryMode,
    DeliveryState,
    DocumentKind,
    InboxItem,
    Page,
    Stats,
    StoredDocument,
    StoredStatus,
)

Conn: TypeAlias = asyncpg.Connection


# -- registry -------------------------------------------------------------------
async def resolve_code(conn: Conn, code_or_alias: str) -> str | None:
    value = await conn.fetchval(q.RESOLVE_CODE, code_or_alias)
    return None if value is None else str(value)


async def require_code(conn: Conn, code_or_alias: str) -> str:
    code = await resolve_code(conn, code_or_alias)
    if code is None:
        raise NotFound(f"unknown agency {code_or_alias!r}")
    return code


async def agency_by_canonical(conn: Conn, code: str) -> Agency | None:
    row = await conn.fetchrow(q.SELECT_AGENCY, code)
    if row is None:
        return None
    aliases = await conn.fetch(q.SELECT_ALIASES, code)
    prints = await conn.fetch(q.SELECT_FINGERPRINTS, code)
    return Agency(
        code=row["code"],
        name=row["name"],
        alias_codes=tuple(r[0] for r in aliases),
        state=cast(AgencyState, row["state"]),
        delivery_mode=cast(DeliveryMode, row["delivery_mode"]),
        endpoint_url=row["endpoint_url"],
        created_at=row["created_at"],
        certificate_fingerprints=tuple(r[0] for r in prints),
    )


async def get_agency(conn: Conn, code_or_alias: str) -> Agency | None:
    code = await resolve_code(conn, code_or_alias)
    return None if code is None else await agency_by_canonical(conn, code)


async def list_agencies(conn: Conn) -> list[Agency]:
    agencies = []
    for row in await conn.fetch(q.SELECT_ALL_AGENCY_CODES):
        agency = await agency_by_canonical(conn, row[0])
        if agency is not None:
            agencies.append(agency)
    return agencies


async def agency_via(conn: Conn, sql: str, key: str) -> Agency | None:
    code = await conn.fetchval(sql, key)
    return None if code is None else await agency_by_canonical(conn, code)


async def certificate_pem(conn: Conn, fingerprint: str) -> bytes | None:
    pem = await conn.fetchval(q.CERTIFICATE_PEM, fingerprint)
    return None if pem is None else bytes(pem)


# -- documents ------------------------------------------------------------------
def document_from_row(row: asyncpg.Record) -> StoredDocument:
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
        received_at=row["received_at"],
        receipt=bytes(row["receipt"]),
        recipients=tuple(row["recipients"]),
        legacy_policy=bool(row["legacy_policy"]),
    )


async def get_document(conn: Conn, axis_id: str) -> StoredDocument | None:
    row = await conn.fetchrow(q.DOCUMENT_BY_AXIS_ID, axis_id)
    return None if row is None else document_from_row(row)


async def find_document(conn: Conn, sender_code: str, key: str) -> StoredDocument | None:
    row = await conn.fetchrow(q.DOCUMENT_BY_KEY, sender_code, key)
    return None if row is None else document_from_row(row)


async def business_followups(
    conn: Conn, sender_code: str, document_id: str
) -> list[StoredDocument]:
    rows = await conn.fetch(q.BUSINESS_FOLLOWUPS, sender_code, document_id)
    return [document_from_row(r) for r in rows]


async def document_bytes(conn: Conn, axis_id: str) -> bytes:
    data = await conn.fetchval(q.DOCUMENT_BYTES, axis_id)
    if data is None:
        raise NotFound(f"unknown document {axis_id!r}")
    return bytes(data)


async def documents_sent_by(
    conn: Conn, sender_code: str, limit: int, cursor: str | None
) -> Page[StoredDocument]:
    after = decode_cursor("sent", cursor)
    rows = await conn.fetch(q.DOCUMENTS_SENT_BY, sender_code, after, limit + 1)
    page = rows[:limit]
    next_cursor = encode_cursor("sent", page[-1]["seq"]) if len(rows) > limit else None
    return Page(tuple(document_from_row(r) for r in page), next_cursor)


# -- deliveries -----------------------------------------------------------------
def delivery_from_row(row: asyncpg.Record) -> Delivery:
    return Delivery(
        id=row["id"],
        axis_id=row["axis_id"],
        recipient_code=row["recipient_code"],
        mode=cast(DeliveryMode, row["mode"]),
        state=cast(DeliveryState, row["state"]),
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        lease_until=row["lease_until"],
        lease_owner=row["lease_owner"],
        last_error=row["last_error"],
        delivered_at=row["delivered_at"],
        acked_at=row["acked_at"],
        status_code=row["status_code"],
        status_at=row["status_at"],
        created_at=row["created_at"],
    )


async def inbox(conn: Conn, recipient_code: str, limit: int, cursor: str | None) -> Page[InboxItem]:
    after = decode_cursor("inbox", cursor)
    rows = await conn.fetch(q.INBOX, recipient_code, after, limit + 1)
    page = rows[:limit]
    next_cursor = encode_cursor("inbox", page[-1]["id"]) if len(rows) > limit else None
    items = tuple(
        InboxItem(
            axis_id=r["axis_id"],
            sender_code=r["sender_code"],
            document_id=r["document_id"],
            kind=cast(DocumentKind, r["kind"]),
            business_type=r["business_type"],
            subject=r["subject"],
            sha256=r["sha256"],
            size=r["size"],
            received_at=r["received_at"],
            state=cast(DeliveryState, r["state"]),
            attempts=r["attempts"],
        )
        for r in page
    )
    return Page(items, next_cursor)


async def delivery_by_id(conn: Conn, delivery_id: int) -> Delivery | None:
    row = await conn.fetchrow(q.DELIVERY_BY_ID, delivery_id)
    return None if row is None else delivery_from_row(row)


async def delivery_for(conn: Conn, axis_id: str, recipient: str) -> Delivery | None:
    row = await conn.fetchrow(q.DELIVERY_FOR, axis_id, recipient)
    return None if row is None else delivery_from_row(row)


async def deliveries_of(conn: Conn, axis_id: str) -> list[Delivery]:
    return [delivery_from_row(r) for r in await conn.fetch(q.DELIVERIES_OF, axis_id)]


async def dead_letters(conn: Conn, limit: int, cursor: str | None) -> Page[Delivery]:
    after = decode_cursor("dead", cursor)
    rows = await conn.fetch(q.DEAD_LETTERS, after, limit + 1)
    page = rows[:limit]
    next_cursor = encode_cursor("dead", page[-1]["id"]) if len(rows) > limit else None
    return Page(tuple(delivery_from_row(r) for r in page), next_cursor)


async def lease_owners(conn: Conn, now: datetime) -> list[str]:
    return [str(row[0]) for row in await conn.fetch(q.LEASE_OWNERS, now)]


async def stats(conn: Conn, now: datetime) -> Stats:
    by_state: Counter[str] = Counter()
    by_agency_state: dict[tuple[str, str], int] = {}
    for row in await conn.fetch(q.COUNT_BY_AGENCY_STATE):
        by_state[row["state"]] += row["n"]
        by_agency_state[(row["recipient_code"], row["state"])] = row["n"]
    oldest = await conn.fetchval(q.OLDEST_PENDING)
    age = None if oldest is None else max(0.0, (now - oldest).total_seconds())
    return Stats(dict(by_state), by_agency_state, age)


# -- statuses -------------------------------------------------------------------
def status_from_row(row: asyncpg.Record) -> StoredStatus:
    return StoredStatus(
        status_id=row["status_id"],
        axis_id=row["axis_id"],
        document_id=row["document_id"],
        from_code=row["from_code"],
        to_code=row["to_code"],
        kind=row["kind"],
        status_code=row["status_code"],
        sha256=row["sha256"],
        timestamp=row["timestamp"],
        received_at=row["received_at"],
    )


async def status_by_id(conn: Conn, status_id: str) -> StoredStatus | None:
    row = await conn.fetchrow(q.STATUS_BY_ID, status_id)
    return None if row is None else status_from_row(row)


async def statuses_for(
    conn: Conn, agency_code: str, cursor: str | None, limit: int
) -> Page[StoredStatus]:
    after = decode_cursor("statuses", cursor)
    rows = await conn.fetch(q.STATUSES_FOR, agency_code, after, limit + 1)
    page = rows[:limit]
    next_cursor = encode_cursor("statuses", page[-1]["seq"]) if len(rows) > limit else None
    return Page(tuple(status_from_row(r) for r in page), next_cursor)


async def statuses_of(conn: Conn, axis_id: str) -> list[StoredStatus]:
    return [status_from_row(r) for r in await conn.fetch(q.STATUSES_OF, axis_id)]


async def status_bytes(conn: Conn, status_id: str) -> bytes:
    data = await conn.fetchval(q.STATUS_BYTES, status_id)
    if data is None:
        raise NotFound(f"unknown status {status_id!r}")
    return bytes(data)


# -- audit ----------------------------------------------------------------------
def audit_entry(row: Any) -> AuditEntry:
    seq, at, event, axis_id, agency, detail, prev_hash, hash_ = row
    return AuditEntry(seq, from_db(at), event, axis_id, agency, detail, prev_hash, hash_)


async def audit_batch(conn: Conn, after_seq: int, limit: int) -> list[AuditEntry]:
    return [audit_entry(row) for row in await conn.fetch(q.AUDIT_BATCH, after_seq, limit)]
