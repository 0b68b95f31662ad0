"""Write job for status messages: compare-and-set on the delivery's current status."""

from __future__ import annotations

import sqlite3
from typing import Any

from edoc_axis.errors import DocumentConflict, NotFound, StatusTransition
from edoc_axis.store import queries as q
from edoc_axis.store.codec import to_db
from edoc_axis.store.records import Delivery, NewDocument, NewStatus, StoredStatus
from edoc_axis.store.shared import audit_status, check_digest, status_recipient
from edoc_axis.store.sqlite_jobs import accept_document, insert_blob
from edoc_axis.store.sqlite_reads import delivery_for, get_document, status_by_id
from edoc_axis.store.sqlite_writer import WriteContext


def _status_target(ctx: WriteContext, status: NewStatus) -> Delivery:
    """The delivery a status is about: the recipient's, whichever way it travels."""
    document = get_document(ctx.conn, status.axis_id)
    if document is None:
        raise NotFound(f"no document {status.axis_id!r}")
    recipient = status_recipient(status, document)
    delivery = delivery_for(ctx.conn, status.axis_id, recipient)
    if delivery is None:
        raise NotFound(f"{recipient!r} did not receive document {status.axis_id!r}")
    return delivery


def record_status(
    ctx: WriteContext, status: NewStatus, expected_current: str | None, updates_progress: bool
) -> StoredStatus:
    existing = status_by_id(ctx.conn, status.status_id)
    if existing is not None:
        if existing.sha256 != status.sha256:
            raise DocumentConflict(
                "this status id was already used with other content",
                document_id=status.status_id,
            )
        return existing
    check_digest(status.raw, status.sha256)
    delivery = _status_target(ctx, status)
    if updates_progress and status.kind == "status":
        _compare_and_set(ctx, delivery, status, expected_current)
    insert_blob(ctx.conn, status.sha256, status.raw)
    try:
        ctx.conn.execute(q.INSERT_STATUS, _status_params(status))
    except sqlite3.IntegrityError as exc:
        if status.recall_round is None:
            raise
        # statuses_one_recall_per_round / statuses_one_answer_per_round: another
        # 13 or answer got into this round first (two answers racing).
        raise StatusTransition(
            f"round {status.recall_round} already has its "
            f"{'recall' if status.status_code == '13' else 'answer'}"
        ) from exc
    audit_status(ctx, status, delivery.status_code)
    stored = status_by_id(ctx.conn, status.status_id)
    if stored is None:
        raise RuntimeError("status vanished inside its own transaction")
    return stored


def _compare_and_set(
    ctx: WriteContext, delivery: Delivery, status: NewStatus, expected: str | None
) -> None:
    # The WHERE re-checks the current value inside the write: of two updates
    # from the same state, the second finds the state moved and fails.
    cas = {
        "id": delivery.id,
        "new": status.status_code,
        "at": to_db(status.received_at),
        "expected": expected,
    }
    if ctx.conn.execute(q.CAS_STATUS, cas).rowcount == 0:
        raise StatusTransition(f"current status is {delivery.status_code!r}, not {expected!r}")


def _status_params(status: NewStatus) -> dict[str, Any]:
    return {
        "status_id": status.status_id,
        "axis_id": status.axis_id,
        "from_code": status.from_code,
        "to_code": status.to_code,
        "kind": status.kind,
        "status_code": status.status_code,
        "sha256": status.sha256,
        "timestamp": to_db(status.timestamp),
        "received_at": to_db(status.received_at),
        "recall_round": status.recall_round,
    }


def record_arrival(ctx: WriteContext, arrival: NewStatus, forward: NewDocument | None) -> bool:
    """The 01 (and its push copy) that an acknowledgement or a push outcome makes, in
    that write's job; False, writing nothing, when the delivery has a status already."""
    try:
        record_status(ctx, arrival, None, True)
    except StatusTransition:
        return False
    if forward is not None:
        accept_document(ctx, forward)
    return True
