"""Reads over one asyncpg connection, each mapped to a record once.

Shared by read verbs (on a pooled connection) and write verbs (which read back
what they wrote inside their transaction). Times come back as aware datetimes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import partial
from typing import TypeAlias

import asyncpg

from edoc_axis.core.audit import AuditEntry, AuditHead, utc_iso
from edoc_axis.errors import NotFound
from edoc_axis.store import codec
from edoc_axis.store import pg_queries as q
from edoc_axis.store.codec import POSTGRES, Row, decode_cursor, page_of
from edoc_axis.store.records import (
    PIECEWISE_BYTES,
    Activity,
    Addressed,
    Agency,
    Delivery,
    InboxItem,
    Page,
    Stats,
    StoredDocument,
    StoredStatus,
)
from edoc_axis.store.registry_cache import RegistrySnapshot, snapshot_from_rows

Conn: TypeAlias = asyncpg.Connection
delivery_from_row = partial(codec.delivery_record, d=POSTGRES)
status_from_row = partial(codec.status_record, d=POSTGRES)


# -- registry -------------------------------------------------------------------
async def resolve_code(conn: Conn, code_or_alias: str) -> str | None:
    # Agency codes are case-insensitive: the registry holds them upper case.
    value = await conn.fetchval(q.RESOLVE_CODE, code_or_alias.upper())
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
    return codec.agency_record(row, POSTGRES, (r[0] for r in aliases), (r[0] for r in prints))


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


async def registry_version(conn: Conn) -> int:
    return int(await conn.fetchval(q.REGISTRY_VERSION))


async def registry_snapshot(conn: Conn) -> RegistrySnapshot:
    """The whole registry; its version read first, so the rows are at least that new."""
    version = await registry_version(conn)
    return snapshot_from_rows(
        version,
        await conn.fetch(q.SELECT_ALL_AGENCIES),
        [(r[0], r[1]) for r in await conn.fetch(q.ALL_ALIASES)],
        [(r[0], r[1]) for r in await conn.fetch(q.ALL_FINGERPRINTS)],
        [(r[0], r[1]) for r in await conn.fetch(q.LIVE_TOKENS)],
        POSTGRES,
    )


async def registry_entry(conn: Conn, code_or_alias: str) -> tuple[Agency | None, list[str]]:
    """One agency and its live token hashes (to patch the snapshot after a change)."""
    agency = await get_agency(conn, code_or_alias)
    if agency is None:
        return None, []
    rows = await conn.fetch(q.LIVE_TOKENS_OF, agency.code)
    return agency, [str(row[0]) for row in rows]


async def certificate_pem(conn: Conn, fingerprint: str) -> bytes | None:
    pem = await conn.fetchval(q.CERTIFICATE_PEM, fingerprint)
    return None if pem is None else bytes(pem)


# -- documents ------------------------------------------------------------------
def document_from_row(row: Row) -> StoredDocument:
    return codec.document_record(row, POSTGRES, row["recipients"])  # an array column here


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


async def document_piece(conn: Conn, sha256: str, offset: int, length: int) -> bytes:
    # The column is stored uncompressed (STORAGE EXTERNAL): substring reads only its chunks.
    data = await conn.fetchval(q.BLOB_PIECE, sha256, offset + 1, length)
    if data is None:
        raise NotFound(f"no stored bytes with digest {sha256}")
    return bytes(data)


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
    return page_of("sent", rows, limit, "seq", document_from_row)


async def latest_sent(conn: Conn, sender_code: str, kind: str, limit: int) -> list[StoredDocument]:
    rows = await conn.fetch(q.LATEST_SENT, sender_code, kind, limit)
    return [document_from_row(row) for row in reversed(rows)]


# -- deliveries -----------------------------------------------------------------
async def inbox(conn: Conn, recipient_code: str, limit: int, cursor: str | None) -> Page[InboxItem]:
    after = decode_cursor("inbox", cursor)
    rows = await conn.fetch(q.INBOX, recipient_code, after, limit + 1)
    return page_of(
        "inbox", rows, limit, "id", partial(codec.inbox_record, d=POSTGRES), resume_after=after
    )


async def delivery_by_id(conn: Conn, delivery_id: int) -> Delivery | None:
    row = await conn.fetchrow(q.DELIVERY_BY_ID, delivery_id)
    return None if row is None else delivery_from_row(row)


async def delivery_for(conn: Conn, axis_id: str, recipient: str) -> Delivery | None:
    row = await conn.fetchrow(q.DELIVERY_FOR, axis_id, recipient)
    return None if row is None else delivery_from_row(row)


async def addressed(conn: Conn, axis_id: str, recipient: str, with_bytes: bool) -> Addressed | None:
    delivery = await delivery_for(conn, axis_id, recipient)
    document = await get_document(conn, axis_id) if delivery is not None else None
    if delivery is None or document is None:
        return None
    inline = with_bytes and document.size < PIECEWISE_BYTES
    raw = await document_bytes(conn, axis_id) if inline else None
    return Addressed(document, delivery, raw)


async def addressed_many(
    conn: Conn, axis_ids: Sequence[str], recipient: str, max_bytes: int
) -> list[Addressed | None]:
    found: list[Addressed | None] = []
    total = 0
    for axis_id in axis_ids:
        one = await addressed(conn, axis_id, recipient, with_bytes=False)
        if one is not None:
            if total and total + one.document.size > max_bytes:
                break
            if one.document.size < PIECEWISE_BYTES:
                one = Addressed(one.document, one.delivery, await document_bytes(conn, axis_id))
            total += one.document.size
        found.append(one)
    return found


async def deliveries_of(conn: Conn, axis_id: str) -> list[Delivery]:
    return [delivery_from_row(r) for r in await conn.fetch(q.DELIVERIES_OF, axis_id)]


async def dead_letters(conn: Conn, limit: int, cursor: str | None) -> Page[Delivery]:
    after = decode_cursor("dead", cursor)
    rows = await conn.fetch(q.DEAD_LETTERS, after, limit + 1)
    return page_of("dead", rows, limit, "id", delivery_from_row)


async def lease_owners(conn: Conn, now: datetime) -> list[str]:
    return [str(row[0]) for row in await conn.fetch(q.LEASE_OWNERS, now)]


async def activity(conn: Conn, since: datetime, until: datetime) -> Activity:
    rows = await conn.fetch(q.ACTIVITY, utc_iso(since), utc_iso(until))
    pending = await conn.fetch(q.PENDING_BY_RECIPIENT)
    return codec.activity_record(rows, pending, POSTGRES)


async def audit_head(conn: Conn) -> AuditHead:
    seq, hash_ = await conn.fetchrow(q.SELECT_AUDIT_HEAD)
    return AuditHead(int(seq), str(hash_))


async def stats(conn: Conn, now: datetime) -> Stats:
    rows = await conn.fetch(q.COUNT_BY_AGENCY_STATE)
    return codec.stats_record(rows, await conn.fetchval(q.OLDEST_PENDING), now)


# -- statuses -------------------------------------------------------------------
async def status_by_id(conn: Conn, status_id: str) -> StoredStatus | None:
    row = await conn.fetchrow(q.STATUS_BY_ID, status_id)
    return None if row is None else status_from_row(row)


async def statuses_for(
    conn: Conn, agency_code: str, cursor: str | None, limit: int
) -> Page[StoredStatus]:
    after = decode_cursor("statuses", cursor)
    rows = await conn.fetch(q.STATUSES_FOR, agency_code, after, limit + 1)
    return page_of("statuses", rows, limit, "seq", status_from_row, resume_after=after)


async def statuses_of(conn: Conn, axis_id: str) -> list[StoredStatus]:
    return [status_from_row(r) for r in await conn.fetch(q.STATUSES_OF, axis_id)]


async def status_bytes(conn: Conn, status_id: str) -> bytes:
    data = await conn.fetchval(q.STATUS_BYTES, status_id)
    if data is None:
        raise NotFound(f"unknown status {status_id!r}")
    return bytes(data)


# -- audit ----------------------------------------------------------------------
async def audit_batch(conn: Conn, after_seq: int, limit: int) -> list[AuditEntry]:
    return [codec.audit_record(row) for row in await conn.fetch(q.AUDIT_BATCH, after_seq, limit)]
