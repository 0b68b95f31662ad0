"""VDXP, the receiving side: the inbox and status feed of a system's agencies.

getReceivedEdocList / countReceiveEdoc / countReceiveStatus list what the
native inbox and status feed hold; getEdoc / downloadEdoc give the exact
bytes; updateStatus done is the native acknowledgement (status 01 once).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from edoc_axis.edxml import StatusCode
from edoc_axis.errors import NotFound, RequestInvalid, StatusTransition
from edoc_axis.server.context import AxisServices
from edoc_axis.server.document_answers import send_document, send_document_base64_in_json
from edoc_axis.server.vdxp_protocol import (
    REPORTS,
    SERVICE_TYPE,
    Caller,
    answer,
    answer_fields,
    check_service_type,
    doc_id_param,
    iso,
    log,
    message_type,
)
from edoc_axis.service import acknowledge
from edoc_axis.store import Delivery, StoredDocument, StoredStatus, VdxpReport

# -- the receiving side ----------------------------------------------------------


async def _report_of(services: AxisServices, message_id: str, recipient: str) -> str:
    reports = await services.store.vdxp_reports(message_id, recipient)
    for report in ("done", "fail", "processing"):
        if report in reports:
            return report
    return "initial"


_REPORT_DESC = {
    "initial": "waiting to be fetched",
    "processing": "being processed by the recipient",
    "done": "received",
    "fail": "the recipient reported a failure",
}


async def _inbox_rows(services: AxisServices, caller: Caller) -> list[dict[str, Any]]:
    limit = services.config.vdxp.list_limit
    rows: list[dict[str, Any]] = []
    for code in caller.codes:
        page = await services.store.inbox(code, limit)
        for item in page.items:
            if item.kind != "document":
                continue
            report = await _report_of(services, item.axis_id, code)
            rows.append(
                {
                    "docId": item.axis_id,
                    "serviceType": SERVICE_TYPE,
                    "messageType": "edoc",
                    "created_time": iso(item.received_at),
                    "updated_time": iso(item.received_at),
                    "from": item.sender_code,
                    "to": code,
                    "status": report,
                    "status_desc": _REPORT_DESC[report],
                    "contentSha256": item.sha256,
                    "contentLength": item.size,
                    "versionSdk": "",
                    "title": item.subject,
                    "documentId": item.document_id,
                }
            )
    return rows[:limit]


def _status_row(status: StoredStatus, code: str) -> dict[str, Any]:
    meaning = StatusCode(status.status_code).info.meaning if status.status_code else "notice"
    return {
        "docId": status.status_id,
        "serviceType": SERVICE_TYPE,
        "messageType": "status",
        "created_time": iso(status.received_at),
        "updated_time": iso(status.received_at),
        "from": status.from_code,
        "to": code,
        "status": "initial",
        "status_desc": f"status {status.status_code or 'notice'} ({meaning}) "
        f"about {status.document_id}",
        "contentSha256": status.sha256,
        "contentLength": 0,
        "versionSdk": "",
        "statusCode": status.status_code or "",
        "documentId": status.document_id,
    }


async def _status_rows(services: AxisServices, caller: Caller) -> list[dict[str, Any]]:
    limit = services.config.vdxp.list_limit
    rows: list[dict[str, Any]] = []
    for code in caller.codes:
        for status in await services.store.unreported_statuses(code, limit):
            rows.append(_status_row(status, code))
    return rows[:limit]


async def received_list(
    _request: web.Request, services: AxisServices, caller: Caller
) -> web.Response:
    check_service_type(caller)
    if message_type(caller) == "edoc":
        return answer({"data": await _inbox_rows(services, caller)})
    return answer({"data": await _status_rows(services, caller)})


async def count_edoc(_request: web.Request, services: AxisServices, caller: Caller) -> web.Response:
    return answer({"count": len(await _inbox_rows(services, caller))})


async def count_status(
    _request: web.Request, services: AxisServices, caller: Caller
) -> web.Response:
    return answer({"count": len(await _status_rows(services, caller))})


@dataclass(frozen=True)
class _Message:
    """A message addressed to one of the caller's agencies: a document or a status."""

    message_id: str
    recipients: tuple[str, ...]  # the caller's agencies it is addressed to
    document: StoredDocument | None
    status: StoredStatus | None


async def _addressed(services: AxisServices, caller: Caller, message_id: str) -> _Message:
    store = services.store
    document = await store.get_document(message_id)
    if document is not None and document.kind == "document":
        deliveries: list[Delivery] = [
            d for d in await store.deliveries_of(message_id) if d.recipient_code in caller.codes
        ]
        if deliveries:
            recipients = tuple(d.recipient_code for d in deliveries)
            return _Message(message_id, recipients, document, None)
    status = await store.get_status(message_id)
    if status is not None and status.to_code in caller.codes:
        return _Message(message_id, (status.to_code,), None, status)
    raise NotFound(f"no message {message_id} addressed to {', '.join(caller.codes)}")


async def _message_bytes(services: AxisServices, message: _Message) -> bytes:
    if message.document is not None:
        return await services.store.document_bytes(message.message_id)
    return await services.store.status_bytes(message.message_id)


async def get_edoc(
    request: web.Request, services: AxisServices, caller: Caller
) -> web.StreamResponse:
    message = await _addressed(services, caller, doc_id_param(caller))
    if message.document is not None:  # a large one is encoded as it is sent
        return await send_document_base64_in_json(
            request, services.store, message.document, answer_fields(), "data", {"filePath": ""}
        )
    raw = await _message_bytes(services, message)
    return answer({"data": base64.b64encode(raw).decode("ascii"), "filePath": ""})


async def download_edoc(
    request: web.Request, services: AxisServices, caller: Caller
) -> web.StreamResponse:
    message = await _addressed(services, caller, doc_id_param(caller))
    if message.document is not None:
        return await send_document(
            request,
            services.store,
            message.document,
            None,
            content_type="application/octet-stream",
            headers={
                "Content-Disposition": f'attachment; filename="{message.message_id}.edxml"',
                "Edoc-Sha256": message.document.sha256,
            },
        )
    raw = await _message_bytes(services, message)
    return web.Response(
        body=raw,
        content_type="application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="{message.message_id}.edxml"',
            "Edoc-Sha256": hashlib.sha256(raw).hexdigest(),
        },
    )


async def update_status(
    _request: web.Request, services: AxisServices, caller: Caller
) -> web.Response:
    """done acknowledges (01 as for a native ack); processing and fail are recorded.

    Each (message, recipient, report) counts once, so a replayed call changes nothing.
    """
    asked = (caller.param("status") or "").lower()
    if asked not in REPORTS:
        raise RequestInvalid(f"status {asked!r} must be processing, done or fail")
    report = REPORTS[asked]
    message = await _addressed(services, caller, doc_id_param(caller))
    store, clock = services.store, services.clock
    for recipient in message.recipients:
        if message.document is not None:
            await _report_document(services, message.message_id, recipient, report)
        else:
            await store.record_vdxp_report(message.message_id, recipient, report, None, clock.now())
    log.info("vdxp.updated", message_id=message.message_id, report=report)
    return answer()


async def _report_document(
    services: AxisServices, axis_id: str, recipient: str, report: VdxpReport
) -> None:
    store, clock = services.store, services.clock
    if report == "done":
        await acknowledge(
            services, axis_id, recipient, "acknowledged through VDXP (updateStatus done)"
        )
        await store.record_vdxp_report(axis_id, recipient, "done", None, clock.now())
        return
    delivery = await store.delivery_for(axis_id, recipient)
    if report == "fail" and delivery is not None and delivery.state == "acknowledged":
        raise StatusTransition(f"{recipient} already acknowledged {axis_id}; fail comes too late")
    reason = f"{recipient} reported fail through VDXP" if report == "fail" else None
    await store.record_vdxp_report(axis_id, recipient, report, reason, clock.now())
