"""VDXP, the sending side and the registry: getSentEdocList, getAgenciesList(QD20)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aiohttp import web

from edoc_axis.edxml import StatusCode
from edoc_axis.errors import RequestInvalid
from edoc_axis.server.context import AxisServices
from edoc_axis.server.vdxp_protocol import (
    SERVICE_TYPE,
    Caller,
    answer,
    check_service_type,
    iso,
    message_type,
)
from edoc_axis.store import Agency, StoredDocument, StoredStatus

_QD20_102_CODE = "."  # QCVN 102 codes are dotted (000.00.00.G22); QĐ 20 codes are not

# -- the sending side ------------------------------------------------------------


def _notation(document_id: str) -> str:
    parts = document_id.split(",")
    return parts[-1] if len(parts) == 3 else document_id


async def _sent_documents(
    services: AxisServices, caller: Caller, doc_id: str | None
) -> Iterable[StoredDocument]:
    store, limit = services.store, services.config.vdxp.list_limit
    if doc_id is not None:
        document = await store.get_document(doc_id)
        ours = document is not None and document.sender_code in caller.codes
        return [document] if ours and document is not None else []
    # The latest of each code, then the latest of them all, oldest first.
    latest = [d for code in caller.codes for d in await store.latest_sent(code, "document", limit)]
    if len(caller.codes) > 1:  # one code's list is already in the store's order
        latest.sort(key=lambda d: (d.received_at, d.axis_id))
    return latest[-limit:]


async def _sent_rows(services: AxisServices, document: StoredDocument) -> list[dict[str, Any]]:
    rows = []
    for delivery in await services.store.deliveries_of(document.axis_id):
        code = delivery.status_code
        received = delivery.acked_at or delivery.delivered_at
        rows.append(
            {
                "serviceType": SERVICE_TYPE,
                "messageType": "edoc",
                "senderDocId": document.axis_id,
                "receiverDocId": document.axis_id,
                "fromCode": document.sender_code,
                "toCode": delivery.recipient_code,
                "title": document.subject,
                "notation": _notation(document.document_id),
                "sentTime": iso(document.received_at),
                "receivedTime": iso(received),
                "sendStatus": delivery.state,
                "sendStatusDesc": delivery.last_error or delivery.state,
                "receiveStatus": code or "",
                "receiveStatusDesc": StatusCode(code).info.meaning if code else "",
            }
        )
    return rows


def _sent_status_row(status: StoredStatus) -> dict[str, Any]:
    code = status.status_code or ""
    return {
        "serviceType": SERVICE_TYPE,
        "messageType": "status",
        "senderDocId": status.status_id,
        "receiverDocId": status.axis_id,
        "fromCode": status.from_code,
        "toCode": status.to_code,
        "title": f"status {code} about {status.document_id}",
        "notation": _notation(status.document_id),
        "sentTime": iso(status.received_at),
        "receivedTime": iso(status.received_at),
        "sendStatus": "accepted",
        "sendStatusDesc": "accepted",
        "receiveStatus": code,
        "receiveStatusDesc": StatusCode(code).info.meaning if code else "",
    }


async def sent_list(_request: web.Request, services: AxisServices, caller: Caller) -> web.Response:
    check_service_type(caller)
    doc_id = caller.param("docId", required=False)
    doc_id = doc_id.strip().strip('"') if doc_id else None
    rows: list[dict[str, Any]] = []
    if message_type(caller) == "edoc":
        for document in await _sent_documents(services, caller, doc_id):
            rows.extend(await _sent_rows(services, document))
    else:
        limit = services.config.vdxp.list_limit
        for code in caller.codes:
            for status in await services.store.statuses_from(code, limit):
                if doc_id is None or doc_id in (status.status_id, status.axis_id):
                    rows.append(_sent_status_row(status))
    return answer({"data": rows})


# -- the registry ----------------------------------------------------------------


def _old_code(agency: Agency) -> str:
    return agency.alias_codes[0] if agency.alias_codes else ""


def qd20_code(agency: Agency) -> str:
    """The agency's QĐ 20 code: its first alias that is not in the dotted QCVN 102 form."""
    for alias in agency.alias_codes:
        if _QD20_102_CODE not in alias:
            return alias
    return agency.code


async def agencies(_request: web.Request, services: AxisServices, _caller: Caller) -> web.Response:
    rows = [
        {
            "id": agency.code,
            "pid": "",
            "code": agency.code,
            "name": agency.name,
            "mail": "",
            "oldCode": _old_code(agency),
        }
        for agency in await services.store.list_agencies()
        if agency.state == "active"
    ]
    return answer({"data": rows})


async def agencies_qd20(
    _request: web.Request, services: AxisServices, caller: Caller
) -> web.Response:
    level = caller.param("level", required=False) or ""
    if level and not level.isdigit():
        raise RequestInvalid(f"level {level!r} must be a number")
    rows = [
        {
            "id": agency.code,
            "code": qd20_code(agency),
            "name": agency.name,
            "mail": "",
            "code102": agency.code,
        }
        for agency in await services.store.list_agencies()
        if agency.state == "active"
    ]
    return answer({"data": rows})
