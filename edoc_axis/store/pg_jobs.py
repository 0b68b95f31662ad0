"""Write verbs for documents and deliveries on PostgreSQL (each inside its transaction)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from edoc_axis.errors import DocumentConflict, NotFound, RecipientUnknown
from edoc_axis.store import pg_queries as q
from edoc_axis.store.codec import POSTGRES, claim_record, join_path
from edoc_axis.store.pg_reads import delivery_by_id, delivery_for, find_document
from edoc_axis.store.pg_writer import PgWrite
from edoc_axis.store.records import (
    PIECE_BYTES,
    PIECEWISE_BYTES,
    AcceptResult,
    Claim,
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

_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
_COPY_TRAILER = (-1).to_bytes(2, "big", signed=True)


async def insert_blob(w: PgWrite, sha256: str, raw: bytes) -> None:
    """The exact bytes, once per digest (an identical body is already there).

    A bound parameter goes through asyncpg's send buffer, which grows by
    doubling: a 50 MiB body cost about 145 MiB more for a moment. A large
    one is sent with COPY instead, a piece at a time, in a savepoint of its
    own so that a twin committed meanwhile by another node only undoes it.
    """
    if len(raw) < PIECEWISE_BYTES:
        await w.conn.execute(q.INSERT_BLOB, sha256, len(raw), raw)
        return
    if await w.conn.fetchval(q.BLOB_EXISTS, sha256):
        return
    try:
        async with w.conn.transaction():
            await w.conn.copy_to_table(
                "blobs",
                source=_copy_rows(sha256, raw),
                columns=["sha256", "size", "data"],
                format="binary",
            )
    except asyncpg.UniqueViolationError:
        return  # the same bytes, stored by another transaction since the check


async def _copy_rows(sha256: str, raw: bytes) -> AsyncIterator[bytes | memoryview]:
    """One row of PostgreSQL's binary COPY format: (sha256, size, data), the data in pieces."""
    digest = sha256.encode("ascii")
    yield (
        _COPY_HEADER
        + (3).to_bytes(2, "big")
        + len(digest).to_bytes(4, "big")
        + digest
        + (8).to_bytes(4, "big")
        + len(raw).to_bytes(8, "big", signed=True)
        + len(raw).to_bytes(4, "big")
    )
    whole = memoryview(raw)
    for start in range(0, len(raw), PIECE_BYTES):
        yield whole[start : start + PIECE_BYTES]
    yield _COPY_TRAILER


async def _recipient_modes(w: PgWrite, doc: NewDocument) -> list[str]:
    if len(set(doc.recipients)) != len(doc.recipients):
        raise ValueError(f"recipients repeat: {doc.recipients}")
    rows = await w.conn.fetch(q.AGENCY_MODES, list(doc.recipients))
    modes = {row["code"]: str(row["delivery_mode"]) for row in rows}
    for recipient in doc.recipients:
        if recipient not in modes:
            raise RecipientUnknown(f"unknown recipient {recipient!r}", document_id=doc.document_id)
    return [modes[r] for r in doc.recipients]


async def accept_document(w: PgWrite, doc: NewDocument) -> AcceptResult:
    check_digest(doc.raw, doc.sha256)
    modes = await _recipient_modes(w, doc)
    await insert_blob(w, doc.sha256, doc.raw)
    seq = await w.conn.fetchval(
        q.INSERT_DOCUMENT,
        doc.axis_id,
        doc.sender_code,
        doc.document_id,
        doc.key,
        doc.kind,
        doc.business_type,
        doc.references_document_id,
        doc.subject,
        doc.sha256,
        doc.received_at,
        doc.receipt,
        doc.legacy_policy,
        join_path(doc.relay_path),
    )
    if seq is None:
        # UNIQUE (sender_code, idempotency_key) decides "never twice", also for
        # identical submissions arriving at two nodes at once.
        existing = await find_document(w.conn, doc.sender_code, doc.key)
        if existing is None:
            raise RuntimeError("the conflicting document is not visible")
        if existing.sha256 != doc.sha256:
            raise DocumentConflict(
                "this DocumentId was already used by the sender with other content",
                document_id=doc.document_id,
            )
        return AcceptResult(created=False, document=existing)
    try:
        await w.conn.execute(q.INSERT_DELIVERIES, seq, list(doc.recipients), modes, doc.received_at)
    except asyncpg.ForeignKeyViolationError as exc:
        # A recipient read above was removed (a test agency) on another node
        # before this transaction could reference it.
        raise RecipientUnknown(
            "a recipient was removed meanwhile", document_id=doc.document_id
        ) from exc
    if "push" in modes:
        w.work_became_due()
    audit_accepted(w, doc)
    return AcceptResult(created=True, document=stored_as_written(doc))


async def _delivery(w: PgWrite, delivery_id: int) -> Delivery:
    delivery = await delivery_by_id(w.conn, delivery_id)
    if delivery is None:
        raise NotFound(f"unknown delivery {delivery_id}")
    return delivery


async def acknowledge(w: PgWrite, axis_id: str, recipient: str, at: datetime) -> Delivery:
    delivery = await delivery_for(w.conn, axis_id, recipient)
    if delivery is None:
        raise NotFound(f"document {axis_id!r} is not addressed to {recipient!r}")
    if delivery.state == "acknowledged":
        return delivery
    # Of two nodes acknowledging at once, the second waits on the row and then
    # updates nothing: only the first writes the audit event.
    if await w.conn.fetchval(q.ACKNOWLEDGE, delivery.id, at) is not None:
        detail = {"delivery_id": delivery.id, "previous_state": delivery.state}
        w.audit("delivery.acknowledged", at, axis_id=axis_id, agency=recipient, detail=detail)
    return await _delivery(w, delivery.id)


async def claim_due(
    w: PgWrite, now: datetime, limit: int, lease_s: float, worker_id: str
) -> list[Claim]:
    lease_until = now + timedelta(seconds=lease_s)
    rows = await w.conn.fetch(q.CLAIM_DUE, now, limit, lease_until, worker_id)
    return [claim_record(row, POSTGRES) for row in rows]


async def record_outcome(
    w: PgWrite, delivery_id: int, attempt: int, outcome: Outcome, at: datetime
) -> bool:
    event, extra = outcome_event(outcome)
    if isinstance(outcome, Delivered):
        row = await w.conn.fetchrow(q.OUTCOME_DELIVERED, delivery_id, attempt, at)
    elif isinstance(outcome, RetryAt):
        row = await w.conn.fetchrow(
            q.OUTCOME_RETRY, delivery_id, attempt, outcome.next_attempt_at, outcome.error
        )
    else:
        row = await w.conn.fetchrow(q.OUTCOME_DEAD, delivery_id, attempt, outcome.error)
    if row is None:
        return False  # another attempt owns it now, or it is no longer pending
    axis_id = await w.conn.fetchval(q.AXIS_ID_OF_SEQ, row["document_seq"])
    detail = {"delivery_id": delivery_id, "attempt": attempt, **extra}
    w.audit(event, at, axis_id=axis_id, agency=row["recipient_code"], detail=detail)
    return True


async def _dead_letter_move(
    w: PgWrite, delivery_id: int, at: datetime, sql: str, args: tuple[Any, ...], event: str
) -> Delivery:
    if await w.conn.fetchval(sql, *args) is None:
        raise NotFound(f"no dead letter {delivery_id}")
    delivery = await _delivery(w, delivery_id)
    detail = {"delivery_id": delivery_id}
    w.audit(event, at, axis_id=delivery.axis_id, agency=delivery.recipient_code, detail=detail)
    return delivery


async def retry_dead_letter(w: PgWrite, delivery_id: int, at: datetime) -> Delivery:
    delivery = await _dead_letter_move(
        w, delivery_id, at, q.RETRY_DEAD, (delivery_id, at), "delivery.requeued"
    )
    if delivery.mode == "push":
        w.work_became_due()
    return delivery


async def discard_dead_letter(w: PgWrite, delivery_id: int, at: datetime) -> Delivery:
    return await _dead_letter_move(
        w, delivery_id, at, q.DISCARD_DEAD, (delivery_id,), "delivery.discarded"
    )


async def expire_leases(w: PgWrite, owner: str, at: datetime) -> int:
    released = int(await w.conn.fetchval(q.EXPIRE_LEASES, owner, at))
    if released:
        w.audit("delivery.leases_released", at, detail={"owner": owner, "count": released})
        w.work_became_due()
    return released


async def append_audit(
    w: PgWrite,
    event: str,
    at: datetime,
    axis_id: str | None,
    agency: str | None,
    detail: Mapping[str, Any] | None,
) -> None:
    w.audit(event, at, axis_id=axis_id, agency=agency, detail=detail)
