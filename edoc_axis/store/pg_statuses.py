"""Write verb for status messages on PostgreSQL: compare-and-set on the delivery's status."""

from __future__ import annotations

from typing import Any

import asyncpg

from edoc_axis.errors import DocumentConflict, NotFound, StatusTransition
from edoc_axis.store import pg_queries as q
from edoc_axis.store.pg_jobs import accept_document, insert_blob
from edoc_axis.store.pg_reads import delivery_for, get_document, status_by_id
from edoc_axis.store.pg_writer import PgWrite
from edoc_axis.store.records import Delivery, NewDocument, NewStatus, StoredStatus
from edoc_axis.store.shared import audit_status, check_digest, status_recipient


async def _status_target(w: PgWrite, status: NewStatus) -> Delivery:
    """The recipient's delivery, whichever way the status travels."""
    document = await get_document(w.conn, status.axis_id)
    if document is None:
        raise NotFound(f"no document {status.axis_id!r}")
    recipient = status_recipient(status, document)
    delivery = await delivery_for(w.conn, status.axis_id, recipient)
    if delivery is None:
        raise NotFound(f"{recipient!r} did not receive document {status.axis_id!r}")
    return delivery


def _same_or_conflict(existing: StoredStatus, status: NewStatus) -> StoredStatus:
    if existing.sha256 != status.sha256:
        raise DocumentConflict(
            "this status id was already used with other content", document_id=status.status_id
        )
    return existing


async def record_status(
    w: PgWrite, status: NewStatus, expected_current: str | None, updates_progress: bool
) -> StoredStatus:
    existing = await status_by_id(w.conn, status.status_id)
    if existing is not None:
        return _same_or_conflict(existing, status)
    check_digest(status.raw, status.sha256)
    delivery = await _status_target(w, status)
    await insert_blob(w, status.sha256, status.raw)
    params = (
        status.status_id,
        status.axis_id,
        status.from_code,
        status.to_code,
        status.kind,
        status.status_code,
        status.sha256,
        status.timestamp,
        status.received_at,
        status.recall_round,
    )
    if status.recall_round is None:
        seq = await w.conn.fetchval(q.INSERT_STATUS, *params)
    else:
        seq = await _insert_round_status(w, status, params)
    if seq is None:  # the same status id committed meanwhile on another node
        committed = await status_by_id(w.conn, status.status_id)
        if committed is None:
            raise RuntimeError("the conflicting status is not visible")
        return _same_or_conflict(committed, status)
    if updates_progress and status.kind == "status":
        # The UPDATE re-checks the current value under the row lock: of two
        # updates from one state (on any nodes), the second finds it moved.
        changed = await w.conn.fetchval(
            q.CAS_STATUS, delivery.id, status.status_code, status.received_at, expected_current
        )
        if changed is None:
            raise StatusTransition(
                f"current status is {delivery.status_code!r}, not {expected_current!r}"
            )
    audit_status(w, status, delivery.status_code)
    stored = await status_by_id(w.conn, status.status_id)
    if stored is None:
        raise RuntimeError("status vanished inside its own transaction")
    return stored


async def _insert_round_status(w: PgWrite, status: NewStatus, params: tuple[object, ...]) -> Any:
    """Insert a 13/15/16 under a savepoint: its round's unique index may refuse it.

    statuses_one_recall_per_round / statuses_one_answer_per_round: another 13
    or answer got into this round first (two answers racing, on any nodes).
    The savepoint keeps the transaction usable to tell that apart from the same
    status committed meanwhile on another node (idempotent, handled by the caller).
    """
    try:
        async with w.conn.transaction():
            return await w.conn.fetchval(q.INSERT_STATUS, *params)
    except asyncpg.UniqueViolationError as exc:
        if await status_by_id(w.conn, status.status_id) is not None:
            return None  # the same status id: the caller compares the content
        raise StatusTransition(
            f"round {status.recall_round} already has its "
            f"{'recall' if status.status_code == '13' else 'answer'}"
        ) from exc


async def record_arrival(w: PgWrite, arrival: NewStatus, forward: NewDocument | None) -> bool:
    """The 01 (and its push copy) that an acknowledgement or a push outcome makes, in
    that write's transaction; False when the delivery has a status already (a status
    another node recorded first: undone to the savepoint)."""
    try:
        async with w.conn.transaction():
            await record_status(w, arrival, None, True)
    except StatusTransition:
        return False
    if forward is not None:
        await accept_document(w, forward)
    return True
