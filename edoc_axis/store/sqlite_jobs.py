"""Write jobs for documents and deliveries (run inside the writer's transaction).

Each job writes its state change and the audit event describing it; the writer
wraps it in a savepoint, so a job that raises leaves nothing behind.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from edoc_axis.errors import DocumentConflict, NotFound, RecipientUnknown
from edoc_axis.store import queries as q
from edoc_axis.store.codec import SQLITE, claim_record, join_path, to_db
from edoc_axis.store.records import (
    PIECE_BYTES,
    PIECEWISE_BYTES,
    AcceptResult,
    Claim,
    DeadLetter,
    Delivered,
    Delivery,
    NewDocument,
    Outcome,
    RetryAt,
)
from edoc_axis.store.shared import (
    audit_accepted,
    check_digest,
    outcome_event,
    stored_as_written,
)
from edoc_axis.store.sqlite_reads import (
    delivery_by_id,
    delivery_for,
    find_document,
)
from edoc_axis.store.sqlite_writer import WriteContext


def insert_blob(conn: sqlite3.Connection, sha256: str, raw: bytes) -> None:
    """The exact bytes, once per digest (an identical body is already there).

    A bound parameter is copied by SQLite when bound and again into the row
    it builds: a 50 MiB body would cost 100 MiB more for a moment. A large
    one is therefore inserted as a zeroblob of its size and written into
    the row a piece at a time, inside the same transaction.
    """
    if len(raw) < PIECEWISE_BYTES:
        conn.execute(q.INSERT_BLOB, {"sha256": sha256, "size": len(raw), "data": raw})
        return
    cursor = conn.execute(q.INSERT_EMPTY_BLOB, {"sha256": sha256, "size": len(raw)})
    if cursor.rowcount == 0 or cursor.lastrowid is None:
        return  # ON CONFLICT DO NOTHING: the same bytes are stored
    whole = memoryview(raw)
    with conn.blobopen("blobs", "data", cursor.lastrowid) as blob:
        for start in range(0, len(raw), PIECE_BYTES):
            blob.write(whole[start : start + PIECE_BYTES])


def _document_params(doc: NewDocument) -> dict[str, Any]:
    return {
        "axis_id": doc.axis_id,
        "sender_code": doc.sender_code,
        "document_id": doc.document_id,
        "idempotency_key": doc.key,
        "kind": doc.kind,
        "business_type": doc.business_type,
        "references_document_id": doc.references_document_id,
        "subject": doc.subject,
        "sha256": doc.sha256,
        "received_at": to_db(doc.received_at),
        "receipt": doc.receipt,
        "legacy_policy": int(doc.legacy_policy),
        "relay_path": join_path(doc.relay_path),
    }


def _recipient_modes(conn: sqlite3.Connection, doc: NewDocument) -> list[tuple[str, str]]:
    if len(set(doc.recipients)) != len(doc.recipients):
        raise ValueError(f"recipients repeat: {doc.recipients}")
    modes = []
    for recipient in doc.recipients:
        row = conn.execute(q.AGENCY_MODE, {"code": recipient}).fetchone()
        if row is None:
            raise RecipientUnknown(f"unknown recipient {recipient!r}", document_id=doc.document_id)
        modes.append((recipient, str(row[0])))
    return modes


def _same_or_conflict(
    conn: sqlite3.Connection, doc: NewDocument, exc: sqlite3.IntegrityError
) -> AcceptResult:
    existing = find_document(conn, doc.sender_code, doc.key)
    if existing is None:  # not the (sender, document_id) key: axis_id reused, or FK
        raise ValueError(f"document not stored: {exc}") from exc
    if existing.sha256 != doc.sha256:
        raise DocumentConflict(
            "this DocumentId was already used by the sender with other content",
            document_id=doc.document_id,
        )
    return AcceptResult(created=False, document=existing)


def accept_document(ctx: WriteContext, doc: NewDocument) -> AcceptResult:
    check_digest(doc.raw, doc.sha256)
    modes = _recipient_modes(ctx.conn, doc)
    insert_blob(ctx.conn, doc.sha256, doc.raw)
    try:
        cursor = ctx.conn.execute(q.INSERT_DOCUMENT, _document_params(doc))
    except sqlite3.IntegrityError as exc:
        # UNIQUE (sender_code, document_id) decides "never twice", also for two
        # identical submissions in one batch or from two processes.
        return _same_or_conflict(ctx.conn, doc, exc)
    at = to_db(doc.received_at)
    for recipient, mode in modes:
        params = {"seq": cursor.lastrowid, "recipient": recipient, "mode": mode, "at": at}
        ctx.conn.execute(q.INSERT_DELIVERY, params)
    audit_accepted(ctx, doc)
    return AcceptResult(created=True, document=stored_as_written(doc))


def _delivery(ctx: WriteContext, delivery_id: int) -> Delivery:
    delivery = delivery_by_id(ctx.conn, delivery_id)
    if delivery is None:
        raise NotFound(f"unknown delivery {delivery_id}")
    return delivery


def acknowledge(ctx: WriteContext, axis_id: str, recipient: str, at: datetime) -> Delivery:
    delivery = delivery_for(ctx.conn, axis_id, recipient)
    if delivery is None:
        raise NotFound(f"document {axis_id!r} is not addressed to {recipient!r}")
    if delivery.state == "acknowledged":
        return delivery
    ctx.conn.execute(q.ACKNOWLEDGE, {"id": delivery.id, "at": to_db(at)})
    detail = {"delivery_id": delivery.id, "previous_state": delivery.state}
    ctx.audit("delivery.acknowledged", at, axis_id=axis_id, agency=recipient, detail=detail)
    return _delivery(ctx, delivery.id)


def claim_due(
    ctx: WriteContext, now: datetime, limit: int, lease_s: float, worker_id: str
) -> list[Claim]:
    # Select and lease in one write transaction: a second claimer (thread,
    # task or process) waits for the lock and then sees the lease.
    lease_until = to_db(now + timedelta(seconds=lease_s))
    rows = ctx.conn.execute(q.DUE_DELIVERIES, {"now": to_db(now), "limit": limit}).fetchall()
    claims = []
    for (delivery_id,) in rows:
        params = {"id": delivery_id, "lease_until": lease_until, "worker": worker_id}
        ctx.conn.execute(q.LEASE_DELIVERY, params)
        row = ctx.conn.execute(q.CLAIM_DETAILS, {"id": delivery_id}).fetchone()
        claims.append(claim_record(row, SQLITE))
    return claims


# The detail's extra fields (outcome_event) are the statements' parameters too.
_OUTCOME_SQL: dict[type[Outcome], str] = {
    Delivered: q.OUTCOME_DELIVERED,
    RetryAt: q.OUTCOME_RETRY,
    DeadLetter: q.OUTCOME_DEAD,
}


def record_outcome(
    ctx: WriteContext, delivery_id: int, attempt: int, outcome: Outcome, at: datetime
) -> bool:
    event, extra = outcome_event(outcome)
    sql = _OUTCOME_SQL[type(outcome)]
    params = {"id": delivery_id, "attempt": attempt, "at": to_db(at), **extra}
    if ctx.conn.execute(sql, params).rowcount == 0:
        return False  # another attempt owns it now, or it is no longer pending
    delivery = _delivery(ctx, delivery_id)
    detail = {"delivery_id": delivery_id, "attempt": attempt, **extra}
    ctx.audit(event, at, axis_id=delivery.axis_id, agency=delivery.recipient_code, detail=detail)
    return True


def _dead_letter_move(
    ctx: WriteContext, delivery_id: int, at: datetime, sql: str, event: str
) -> Delivery:
    if ctx.conn.execute(sql, {"id": delivery_id, "at": to_db(at)}).rowcount == 0:
        raise NotFound(f"no dead letter {delivery_id}")
    delivery = _delivery(ctx, delivery_id)
    detail = {"delivery_id": delivery_id}
    ctx.audit(event, at, axis_id=delivery.axis_id, agency=delivery.recipient_code, detail=detail)
    return delivery


def retry_dead_letter(ctx: WriteContext, delivery_id: int, at: datetime) -> Delivery:
    return _dead_letter_move(ctx, delivery_id, at, q.RETRY_DEAD, "delivery.requeued")


def discard_dead_letter(ctx: WriteContext, delivery_id: int, at: datetime) -> Delivery:
    return _dead_letter_move(ctx, delivery_id, at, q.DISCARD_DEAD, "delivery.discarded")


def expire_leases(ctx: WriteContext, owner: str, at: datetime) -> int:
    released = ctx.conn.execute(q.EXPIRE_LEASES, {"owner": owner, "now": to_db(at)}).rowcount
    if released:
        ctx.audit("delivery.leases_released", at, detail={"owner": owner, "count": released})
    return int(released)


def append_audit(
    ctx: WriteContext,
    event: str,
    at: datetime,
    axis_id: str | None,
    agency: str | None,
    detail: Mapping[str, Any] | None,
) -> None:
    ctx.audit(event, at, axis_id=axis_id, agency=agency, detail=detail)
