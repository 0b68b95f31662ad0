"""GET /api/v1/documents/{id}/trace: per recipient, everything that happened.

Each recipient's entry also shows its recall rounds for the document identity
(sender, DocumentId): what asked (13, a revoke, an update) and the one answer.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from edoc_axis.core.notice import notice_reason
from edoc_axis.core.statuses import RecallEvent, RecallRound
from edoc_axis.edxml import REAL_WORLD, StatusPackage, read_package
from edoc_axis.errors import EdocError
from edoc_axis.server.auth import calling_agency
from edoc_axis.server.context import SERVICES, AxisServices
from edoc_axis.server.documents import visible_document
from edoc_axis.service.conversation import rounds_by_recipient
from edoc_axis.service.views import delivery_json, iso, status_json
from edoc_axis.store import StoredDocument, StoredStatus


async def _status_entry(services: AxisServices, status: StoredStatus) -> dict[str, Any]:
    entry = status_json(status)
    if status.kind == "notice":
        entry["description"] = notice_reason(await services.store.status_bytes(status.status_id))
        return entry
    try:
        raw = await services.store.status_bytes(status.status_id)
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


def _document_summary(document: StoredDocument) -> dict[str, Any]:
    return {
        "id": document.axis_id,
        "document_id": document.document_id,
        "sender": document.sender_code,
        "subject": document.subject,
        "business_type": document.business_type,
        "received_at": iso(document.received_at),
        "recipients": list(document.recipients),
    }


async def trace(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    store = services.store
    caller = await calling_agency(request)
    document = await visible_document(request, caller)
    is_sender = document.sender_code == caller.code
    deliveries = [
        d
        for d in await store.deliveries_of(document.axis_id)
        if is_sender or d.recipient_code == caller.code
    ]
    statuses = await store.statuses_of(document.axis_id)
    rounds = await rounds_by_recipient(
        store, document.sender_code, document.document_id, [d.recipient_code for d in deliveries]
    )
    recipients = []
    for delivery in deliveries:
        mine = [s for s in statuses if delivery.recipient_code in (s.from_code, s.to_code)]
        entries = [await _status_entry(services, s) for s in mine]
        entry = {**delivery_json(delivery), "statuses": entries}
        entry["recall_rounds"] = [_round_json(r) for r in rounds[delivery.recipient_code]]
        recipients.append(entry)
    followups = await store.business_followups(document.sender_code, document.document_id)
    body = {
        **_document_summary(document),
        "sha256": document.sha256,
        "deliveries": recipients,
        "followups": [
            _document_summary(f) for f in followups if is_sender or caller.code in f.recipients
        ],
    }
    if document.references_document_id is not None:
        original = await store.find_document(document.sender_code, document.references_document_id)
        if original is not None:
            body["acts_on"] = _document_summary(original)
    return web.json_response(body)
