"""A document's trace: per recipient, everything that happened to it.

The native API (GET /api/v1/documents/{id}/trace) shows it to the sender and
to each recipient (their own delivery only); the operator's console shows it
whole. Each recipient's entry also shows its recall rounds for the document
identity (sender, DocumentId): what asked (13, a revoke, an update) and the answer.
"""

from __future__ import annotations

from typing import Any

from edoc_axis.core.notice import notice_reason
from edoc_axis.core.statuses import RecallEvent, RecallRound
from edoc_axis.edxml import REAL_WORLD, StatusPackage, read_package
from edoc_axis.errors import EdocError
from edoc_axis.service.conversation import rounds_by_recipient
from edoc_axis.service.views import delivery_json, iso, status_json
from edoc_axis.store import Store, StoredDocument, StoredStatus


async def _status_entry(store: Store, status: StoredStatus) -> dict[str, Any]:
    entry = status_json(status)
    if status.kind == "notice":
        entry["description"] = notice_reason(await store.status_bytes(status.status_id))
        return entry
    try:
        raw = await store.status_bytes(status.status_id)
        package = read_package(raw, tolerances=REAL_WORLD)  # accepted once, maybe tolerated
    except EdocError:
        return entry  # stored bytes always parsed once; never fail a trace on them
    if isinstance(package, StatusPackage):
        entry["description"] = package.description
        staff = package.staff_info
        if staff is not None:
            entry["staff"] = {
                "department": staff.department,
                "staff": staff.staff,
                "email": staff.email,
                "mobile": staff.mobile,
            }
    return entry


def _event_json(event: RecallEvent) -> dict[str, Any]:
    key = "id" if event.code in ("revoke", "update") else "status_id"
    kind = "status" if key == "status_id" else "business"
    return {"kind": kind, "code": event.code, key: event.ref, "at": iso(event.at)}


def _round_json(round_: RecallRound) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "round": round_.number,
        "state": round_.state,
        "asked": [_event_json(q) for q in round_.questions],
        "answer": None if round_.answer is None else _event_json(round_.answer),
    }
    if round_.extra_answers:  # only in data stored before one answer per round
        entry["extra_answers"] = [_event_json(a) for a in round_.extra_answers]
    return entry


def document_summary(document: StoredDocument) -> dict[str, Any]:
    return {
        "id": document.axis_id,
        "document_id": document.document_id,
        "sender": document.sender_code,
        "subject": document.subject,
        "business_type": document.business_type,
        "received_at": iso(document.received_at),
        "recipients": list(document.recipients),
    }


async def document_trace(
    store: Store, document: StoredDocument, viewer: str | None
) -> dict[str, Any]:
    """The trace as ``viewer`` (an agency code) may see it; everything when None (the operator).

    The sender sees every recipient; a recipient sees its own delivery and the
    follow-ups addressed to it.
    """
    sees_all = viewer is None or document.sender_code == viewer
    deliveries = [
        d
        for d in await store.deliveries_of(document.axis_id)
        if sees_all or d.recipient_code == viewer
    ]
    statuses = await store.statuses_of(document.axis_id)
    rounds = await rounds_by_recipient(
        store, document.sender_code, document.document_id, [d.recipient_code for d in deliveries]
    )
    recipients = []
    for delivery in deliveries:
        mine = [s for s in statuses if delivery.recipient_code in (s.from_code, s.to_code)]
        entries = [await _status_entry(store, s) for s in mine]
        entry = {**delivery_json(delivery), "statuses": entries}
        entry["recall_rounds"] = [_round_json(r) for r in rounds[delivery.recipient_code]]
        recipients.append(entry)
    followups = await store.business_followups(document.sender_code, document.document_id)
    body = {
        **document_summary(document),
        "sha256": document.sha256,
        "deliveries": recipients,
        "followups": [document_summary(f) for f in followups if sees_all or viewer in f.recipients],
    }
    if document.references_document_id is not None:
        original = await store.find_document(document.sender_code, document.references_document_id)
        if original is not None:
            body["acts_on"] = document_summary(original)
    return body
