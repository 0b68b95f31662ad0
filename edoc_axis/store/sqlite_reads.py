"""Synchronous reads over one sqlite3 connection.

Shared by the readers (sqlite_readers) and by write jobs (which read back what they
wrote inside their transaction), so each query is mapped to a record once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from functools import partial

from edoc_axis.errors import NotFound
from edoc_axis.store import codec
from edoc_axis.store import queries as q
from edoc_axis.store.codec import SQLITE, decode_cursor, page_of, to_db
from edoc_axis.store.records import (
    PIECEWISE_BYTES,
    Activity,
    Addressed,
    Agency,
    AuditHead,
    Delivery,
    InboxItem,
    Page,
    Stats,
    StoredDocument,
    StoredStatus,
)
from edoc_axis.store.registry_cache import RegistrySnapshot, snapshot_from_rows

_delivery = partial(codec.delivery_record, d=SQLITE)
_status = partial(codec.status_record, d=SQLITE)


def resolve_code(conn: sqlite3.Connection, code_or_alias: str) -> str | None:
    # Agency codes are case-insensitive: the registry holds them upper case.
    row = conn.execute(q.RESOLVE_CODE, {"code": code_or_alias.upper()}).fetchone()
    return None if row is None else str(row[0])


def require_code(conn: sqlite3.Connection, code_or_alias: str) -> str:
    code = resolve_code(conn, code_or_alias)
    if code is None:
        raise NotFound(f"unknown agency {code_or_alias!r}")
    return code


def agency_by_canonical(conn: sqlite3.Connection, code: str) -> Agency | None:
    row = conn.execute(q.SELECT_AGENCY, {"code": code}).fetchone()
    if row is None:
        return None
    aliases = conn.execute(q.SELECT_ALIASES, {"code": code}).fetchall()
    prints = conn.execute(q.SELECT_FINGERPRINTS, {"code": code}).fetchall()
    return codec.agency_record(row, SQLITE, (r[0] for r in aliases), (r[0] for r in prints))


def get_agency(conn: sqlite3.Connection, code_or_alias: str) -> Agency | None:
    code = resolve_code(conn, code_or_alias)
    return None if code is None else agency_by_canonical(conn, code)


def list_agencies(conn: sqlite3.Connection) -> list[Agency]:
    codes = [row["code"] for row in conn.execute(q.SELECT_ALL_AGENCIES).fetchall()]
    return [a for a in (agency_by_canonical(conn, c) for c in codes) if a is not None]


def agency_via(conn: sqlite3.Connection, sql: str, params: dict[str, str]) -> Agency | None:
    row = conn.execute(sql, params).fetchone()
    return None if row is None else agency_by_canonical(conn, row[0])


def registry_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute(q.REGISTRY_VERSION).fetchone()[0])


def registry_snapshot(conn: sqlite3.Connection) -> RegistrySnapshot:
    """The whole registry; its version read first, so the rows are at least that new."""
    version = registry_version(conn)
    return snapshot_from_rows(
        version,
        conn.execute(q.SELECT_ALL_AGENCIES).fetchall(),
        conn.execute(q.ALL_ALIASES).fetchall(),
        conn.execute(q.ALL_FINGERPRINTS).fetchall(),
        conn.execute(q.LIVE_TOKENS).fetchall(),
        SQLITE,
    )


def registry_entry(conn: sqlite3.Connection, code_or_alias: str) -> tuple[Agency | None, list[str]]:
    """One agency and its live token hashes (to patch the snapshot after a change)."""
    agency = get_agency(conn, code_or_alias)
    if agency is None:
        return None, []
    rows = conn.execute(q.LIVE_TOKENS_OF, {"code": agency.code}).fetchall()
    return agency, [str(row[0]) for row in rows]


def certificate_pem(conn: sqlite3.Connection, fingerprint: str) -> bytes | None:
    row = conn.execute(q.CERTIFICATE_PEM, {"fingerprint": fingerprint}).fetchone()
    return None if row is None else bytes(row[0])


def _document(conn: sqlite3.Connection, row: sqlite3.Row) -> StoredDocument:
    recipients = conn.execute(q.RECIPIENTS_OF, {"seq": row["seq"]}).fetchall()
    return codec.document_record(row, SQLITE, (r[0] for r in recipients))


def get_document(conn: sqlite3.Connection, axis_id: str) -> StoredDocument | None:
    row = conn.execute(q.DOCUMENT_BY_AXIS_ID, {"axis_id": axis_id}).fetchone()
    return None if row is None else _document(conn, row)


def find_document(
    conn: sqlite3.Connection, sender_code: str, document_id: str
) -> StoredDocument | None:
    params = {"sender_code": sender_code, "document_id": document_id}
    row = conn.execute(q.DOCUMENT_BY_KEY, params).fetchone()
    return None if row is None else _document(conn, row)


def business_followups(
    conn: sqlite3.Connection, sender_code: str, document_id: str
) -> list[StoredDocument]:
    params = {"sender_code": sender_code, "document_id": document_id}
    rows = conn.execute(q.BUSINESS_FOLLOWUPS, params).fetchall()
    return [_document(conn, row) for row in rows]


def document_piece(conn: sqlite3.Connection, sha256: str, offset: int, length: int) -> bytes:
    # Through a blob handle: a column read would bring the whole blob each time.
    row = conn.execute(q.BLOB_ROWID, {"sha256": sha256}).fetchone()
    if row is None:
        raise NotFound(f"no stored bytes with digest {sha256}")
    with conn.blobopen("blobs", "data", row[0], readonly=True) as blob:
        blob.seek(offset)
        return blob.read(length)


def document_bytes(conn: sqlite3.Connection, axis_id: str) -> bytes:
    row = conn.execute(q.DOCUMENT_BYTES, {"axis_id": axis_id}).fetchone()
    if row is None:
        raise NotFound(f"unknown document {axis_id!r}")
    return bytes(row[0])


def documents_sent_by(
    conn: sqlite3.Connection, sender_code: str, limit: int, cursor: str | None
) -> Page[StoredDocument]:
    after = decode_cursor("sent", cursor)
    params = {"sender_code": sender_code, "after": after, "limit": limit + 1}
    rows = conn.execute(q.DOCUMENTS_SENT_BY, params).fetchall()
    return page_of("sent", rows, limit, "seq", partial(_document, conn))


def latest_sent(
    conn: sqlite3.Connection, sender_code: str, kind: str, limit: int
) -> list[StoredDocument]:
    params = {"sender_code": sender_code, "kind": kind, "limit": limit}
    rows = conn.execute(q.LATEST_SENT, params).fetchall()
    return [_document(conn, row) for row in reversed(rows)]


def inbox(
    conn: sqlite3.Connection, recipient_code: str, limit: int, cursor: str | None
) -> Page[InboxItem]:
    after = decode_cursor("inbox", cursor)
    params = {"recipient": recipient_code, "after": after, "limit": limit + 1}
    rows = conn.execute(q.INBOX, params).fetchall()
    return page_of(
        "inbox", rows, limit, "id", partial(codec.inbox_record, d=SQLITE), resume_after=after
    )


def delivery_by_id(conn: sqlite3.Connection, delivery_id: int) -> Delivery | None:
    row = conn.execute(q.DELIVERY_BY_ID, {"id": delivery_id}).fetchone()
    return None if row is None else _delivery(row)


def delivery_for(conn: sqlite3.Connection, axis_id: str, recipient: str) -> Delivery | None:
    row = conn.execute(q.DELIVERY_FOR, {"axis_id": axis_id, "recipient": recipient}).fetchone()
    return None if row is None else _delivery(row)


def addressed(
    conn: sqlite3.Connection, axis_id: str, recipient: str, with_bytes: bool
) -> Addressed | None:
    delivery = delivery_for(conn, axis_id, recipient)
    document = get_document(conn, axis_id) if delivery is not None else None
    if delivery is None or document is None:
        return None
    inline = with_bytes and document.size < PIECEWISE_BYTES
    raw = document_bytes(conn, axis_id) if inline else None
    return Addressed(document, delivery, raw)


def addressed_many(
    conn: sqlite3.Connection, axis_ids: Sequence[str], recipient: str, max_bytes: int
) -> list[Addressed | None]:
    found: list[Addressed | None] = []
    total = 0
    for axis_id in axis_ids:
        one = addressed(conn, axis_id, recipient, with_bytes=False)
        if one is not None:
            if total and total + one.document.size > max_bytes:
                break
            if one.document.size < PIECEWISE_BYTES:
                one = Addressed(one.document, one.delivery, document_bytes(conn, axis_id))
            total += one.document.size
        found.append(one)
    return found


def deliveries_of(conn: sqlite3.Connection, axis_id: str) -> list[Delivery]:
    rows = conn.execute(q.DELIVERIES_OF, {"axis_id": axis_id}).fetchall()
    return [_delivery(r) for r in rows]


def dead_letters(conn: sqlite3.Connection, limit: int, cursor: str | None) -> Page[Delivery]:
    after = decode_cursor("dead", cursor)
    rows = conn.execute(q.DEAD_LETTERS, {"after": after, "limit": limit + 1}).fetchall()
    return page_of("dead", rows, limit, "id", _delivery)


def lease_owners(conn: sqlite3.Connection, now: datetime) -> list[str]:
    return [str(row[0]) for row in conn.execute(q.LEASE_OWNERS, {"now": to_db(now)})]


def activity(conn: sqlite3.Connection, since: datetime, until: datetime) -> Activity:
    rows = conn.execute(q.ACTIVITY, {"since": to_db(since), "until": to_db(until)}).fetchall()
    pending = conn.execute(q.PENDING_BY_RECIPIENT).fetchall()
    return codec.activity_record(rows, pending, SQLITE)


def audit_head(conn: sqlite3.Connection) -> AuditHead:
    seq, hash_ = conn.execute(q.SELECT_AUDIT_HEAD).fetchone()
    return AuditHead(int(seq), str(hash_))


def stats(conn: sqlite3.Connection, now: datetime) -> Stats:
    rows = conn.execute(q.COUNT_BY_AGENCY_STATE).fetchall()
    oldest = conn.execute(q.OLDEST_PENDING).fetchone()[0]
    return codec.stats_record(rows, SQLITE.opt_time(oldest), now)


def status_by_id(conn: sqlite3.Connection, status_id: str) -> StoredStatus | None:
    row = conn.execute(q.STATUS_BY_ID, {"status_id": status_id}).fetchone()
    return None if row is None else _status(row)


def statuses_for(
    conn: sqlite3.Connection, agency_code: str, cursor: str | None, limit: int
) -> Page[StoredStatus]:
    after = decode_cursor("statuses", cursor)
    params = {"code": agency_code, "after": after, "limit": limit + 1}
    rows = conn.execute(q.STATUSES_FOR, params).fetchall()
    return page_of("statuses", rows, limit, "seq", _status, resume_after=after)


def statuses_of(conn: sqlite3.Connection, axis_id: str) -> list[StoredStatus]:
    rows = conn.execute(q.STATUSES_OF, {"axis_id": axis_id}).fetchall()
    return [_status(r) for r in rows]


def status_bytes(conn: sqlite3.Connection, status_id: str) -> bytes:
    row = conn.execute(q.STATUS_BYTES, {"status_id": status_id}).fetchone()
    if row is None:
        raise NotFound(f"unknown status {status_id!r}")
    return bytes(row[0])
