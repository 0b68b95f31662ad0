"""The VDXP transport: the reference client's methods over the axis's own store.

Every call goes to ``<prefix>/<method>`` with its parameters as HMAC-signed
``XroadVnpt-*`` headers (``core.vdxp_auth``) and is answered with a JSON
object: ``status`` OK/FAIL, ``ErrorCode`` ("0" or the axis's stable error
code), ``ErrorDesc``, and the method's payload. A refusal is answered 200 with
status FAIL, because the client reads the JSON of a 200 answer only.

Documents and statuses go through the same intake as the native API
(``intake_document`` / ``intake_status``), and the inbox, status feed and
trace are the native ones: one store, two dialects.
"""

from __future__ import annotations

import base64
import hashlib
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from aiohttp import web

from edoc_axis.core.vdxp_auth import SignedRequest, signed_pairs, verify_request
from edoc_axis.edxml import StatusCode
from edoc_axis.errors import (
    AuthSenderMismatch,
    EdocError,
    NotFound,
    RequestInvalid,
    StatusTransition,
    VdxpAuthFailed,
    VdxpHashFile,
    VdxpMethodUnknown,
)
from edoc_axis.server.admission import BodyReader
from edoc_axis.server.bodies import MULTIPART, BodyLease, read_package_body, read_stream_body
from edoc_axis.server.context import SERVICES, AxisServices
from edoc_axis.server.intake import intake_document
from edoc_axis.server.statuses import intake_status
from edoc_axis.service import acknowledge_delivery
from edoc_axis.store import (
    Agency,
    Delivery,
    StoredDocument,
    StoredStatus,
    VdxpReport,
    VdxpSystem,
)
from edoc_axis.system_secrets import SecretBox, SecretKeyMissing, read_key_file

log = structlog.get_logger("edoc_axis.vdxp")

SERVICE_TYPE = "eDoc"
MESSAGE_TYPES = ("edoc", "status")
REPORTS: dict[str, VdxpReport] = {"processing": "processing", "done": "done", "fail": "fail"}
_QD20_102_CODE = "."  # QCVN 102 codes are dotted (000.00.00.G22); QĐ 20 codes are not


@dataclass
class _Secrets:
    """The secret key, read when first needed (systems may be added while the axis runs)."""

    services: AxisServices
    box: SecretBox | None = field(default=None)

    def current(self) -> SecretBox | None:
        if self.box is None:
            try:
                self.box = SecretBox(read_key_file(self.services.config.vdxp_key_file()))
            except SecretKeyMissing:
                return None
        return self.box


@dataclass(frozen=True)
class Caller:
    """An authenticated VDXP call: the system, its active agencies and the signed values."""

    system: VdxpSystem
    agencies: tuple[Agency, ...]
    signed: SignedRequest

    def param(self, name: str, *, required: bool = True) -> str | None:
        value = self.signed.get(name)
        if required and not value:
            raise RequestInvalid(f"the signed XroadVnpt-{name} header is required")
        return value

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(a.code for a in self.agencies)


def answer(payload: dict[str, Any] | None = None, desc: str = "Success") -> web.Response:
    return web.json_response(
        {"status": "OK", "ErrorCode": "0", "ErrorDesc": desc, **(payload or {})}
    )


def refusal(error: EdocError, empty: dict[str, Any] | None = None) -> web.Response:
    """A FAIL answer; ``empty`` is the method's payload with no value, which the
    client needs to read the answer at all (it reads every field it knows)."""
    body = {"status": "FAIL", "ErrorCode": error.code, "ErrorDesc": error.detail, **(empty or {})}
    return web.json_response(body, headers={"Edoc-Error-Code": error.code})


async def authenticate(request: web.Request, services: AxisServices) -> Caller:
    store, settings = services.store, services.config.vdxp
    box = request.app[_SECRETS].current()
    headers = request.headers
    # Look the system up before verifying: the HMAC needs its secret.
    _, pairs = signed_pairs(headers)
    system = await store.get_system(pairs["XroadVnpt-systemid"])

    def secret_of(system_id: str) -> str | None:
        if system is None or box is None or system.state != "active":
            return None
        return box.open(system_id, system.sealed_secret)

    signed = verify_request(
        headers, secret_of, now=services.clock.now(), freshness_s=settings.freshness_s
    )
    assert system is not None  # verify_request refuses an unknown system
    agencies = []
    for code in system.agencies:
        agency = await store.get_agency(code)
        if agency is not None and agency.state == "active":
            agencies.append(agency)
    if not agencies:
        raise VdxpAuthFailed(f"system {system.system_id} speaks for no active agency")
    structlog.contextvars.bind_contextvars(vdxp_system=system.system_id)
    return Caller(system, tuple(agencies), signed)


Method = Callable[[web.Request, AxisServices, Caller], Awaitable[web.StreamResponse]]
_SECRETS = web.AppKey("vdxp_secrets", _Secrets)


def _endpoint(
    method: Method, empty: dict[str, Any]
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        services = request.app[SERVICES]
        try:
            caller = await authenticate(request, services)
            return await method(request, services, caller)
        except EdocError as error:
            log.info("vdxp.refused", code=error.code, detail=error.detail, path=request.path)
            return refusal(error, empty)

    return handle


# -- sendEdoc --------------------------------------------------------------------


def _hex_forms(raw: bytes) -> set[str]:
    digest = hashlib.sha256(raw).digest()
    # The client writes each byte with Integer.toHexString, without zero padding.
    return {digest.hex(), "".join(format(b, "x") for b in digest)}


def file_reader(hash_file: str) -> BodyReader:
    """The file of a sendEdoc request, as identified by its ``hash-file``.

    The client sends the file as the whole body (and its signed Content-Type
    says application/octet-stream) followed by CRLF; a multipart form with a
    ``file_doc`` part is read as the native API reads it. Of the body and the
    body without a final CRLF, the one whose SHA-256 is ``hash-file`` is the file.
    """
    wanted = hash_file.strip().lower()

    async def read(request: web.Request, limit: int, lease: BodyLease) -> bytes:
        if request.content_type == MULTIPART:
            body = await read_package_body(request, limit, lease)
        else:
            body = await read_stream_body(request, limit + 2, lease)
        candidates = [body, body[:-2]] if body.endswith(b"\r\n") else [body]
        for candidate in candidates:
            if wanted in _hex_forms(candidate):
                return candidate
        raise VdxpHashFile(
            f"hash-file {wanted} is not the SHA-256 of the {len(body)}-byte file sent"
        )

    return read


async def send_edoc(request: web.Request, services: AxisServices, caller: Caller) -> web.Response:
    _check_service_type(caller)
    message_type = _message_type(caller)
    sender_code = caller.param("from")
    assert sender_code is not None
    sender = await services.store.get_agency(sender_code)
    if sender is None or sender.code not in caller.codes:
        raise AuthSenderMismatch(
            f"system {caller.system.system_id} may not send from {sender_code}; "
            f"it speaks for {', '.join(caller.codes)}"
        )
    hash_file = caller.param("hash-file")
    assert hash_file is not None
    reader = file_reader(hash_file)
    if message_type == "edoc":
        result = await intake_document(request, services, sender, reader)
        # The client reads DocId only; the axis's signed receipt rides along for
        # systems that keep it (also at GET /api/v1/documents/{id}/receipt).
        receipt = base64.b64encode(result.document.receipt).decode("ascii")
        return answer({"DocId": result.document.axis_id, "Receipt": receipt})
    stored, _ = await intake_status(request, services, sender, reader)
    return answer({"DocId": stored.status_id})


def _check_service_type(caller: Caller) -> None:
    service_type = caller.param("servicetype", required=False) or SERVICE_TYPE
    if service_type.lower() != SERVICE_TYPE.lower():
        raise RequestInvalid(f"servicetype {service_type!r} is not served; only eDoc")


def _message_type(caller: Caller) -> str:
    message_type = (caller.param("messagetype", required=False) or "edoc").lower()
    if message_type not in MESSAGE_TYPES:
        raise RequestInvalid(f"messagetype {message_type!r} must be edoc or status")
    return message_type


# -- the receiving side ----------------------------------------------------------


def _iso(value: datetime | None) -> str:
    return "" if value is None else value.isoformat()


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
                    "created_time": _iso(item.received_at),
                    "updated_time": _iso(item.received_at),
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
        "created_time": _iso(status.received_at),
        "updated_time": _iso(status.received_at),
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
    _check_service_type(caller)
    if _message_type(caller) == "edoc":
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


def _doc_id(caller: Caller) -> str:
    doc_id = caller.param("docId")
    assert doc_id is not None
    # The SDK's example sends the id from unquoted JSON; a quoted one is the same id.
    return doc_id.strip().strip('"')


async def get_edoc(_request: web.Request, services: AxisServices, caller: Caller) -> web.Response:
    message = await _addressed(services, caller, _doc_id(caller))
    raw = await _message_bytes(services, message)
    return answer({"data": base64.b64encode(raw).decode("ascii"), "filePath": ""})


async def download_edoc(
    _request: web.Request, services: AxisServices, caller: Caller
) -> web.Response:
    message = await _addressed(services, caller, _doc_id(caller))
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
    message = await _addressed(services, caller, _doc_id(caller))
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
        await acknowledge_delivery(
            store, clock, axis_id, recipient, "acknowledged through VDXP (updateStatus done)"
        )
        await store.record_vdxp_report(axis_id, recipient, "done", None, clock.now())
        return
    delivery = await store.delivery_for(axis_id, recipient)
    if report == "fail" and delivery is not None and delivery.state == "acknowledged":
        raise StatusTransition(f"{recipient} already acknowledged {axis_id}; fail comes too late")
    reason = f"{recipient} reported fail through VDXP" if report == "fail" else None
    await store.record_vdxp_report(axis_id, recipient, report, reason, clock.now())


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
    latest: deque[StoredDocument] = deque(maxlen=limit)
    for code in caller.codes:
        cursor: str | None = None
        while True:
            page = await store.documents_sent_by(code, limit, cursor)
            latest.extend(d for d in page.items if d.kind == "document")
            cursor = page.next_cursor
            if cursor is None:
                break
    return list(latest)


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
                "sentTime": _iso(document.received_at),
                "receivedTime": _iso(received),
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
        "sentTime": _iso(status.received_at),
        "receivedTime": _iso(status.received_at),
        "sendStatus": "accepted",
        "sendStatusDesc": "accepted",
        "receiveStatus": code,
        "receiveStatusDesc": StatusCode(code).info.meaning if code else "",
    }


async def sent_list(_request: web.Request, services: AxisServices, caller: Caller) -> web.Response:
    _check_service_type(caller)
    doc_id = caller.param("docId", required=False)
    doc_id = doc_id.strip().strip('"') if doc_id else None
    rows: list[dict[str, Any]] = []
    if _message_type(caller) == "edoc":
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


# -- wiring ----------------------------------------------------------------------

_LIST: dict[str, Any] = {"data": []}
# name: (HTTP verbs, handler, the payload of a FAIL answer)
METHODS: dict[str, tuple[tuple[str, ...], Method, dict[str, Any]]] = {
    "sendEdoc": (("POST",), send_edoc, {"DocId": ""}),
    "getReceivedEdocList": (("POST",), received_list, _LIST),
    "getEdoc": (("POST",), get_edoc, {"data": "", "filePath": ""}),
    "downloadEdoc": (("GET", "POST"), download_edoc, {"data": "", "filePath": ""}),
    "updateStatus": (("POST",), update_status, {}),
    "getSentEdocList": (("POST",), sent_list, _LIST),
    "countReceiveEdoc": (("POST", "GET"), count_edoc, {"count": 0}),
    "countReceiveStatus": (("POST", "GET"), count_status, {"count": 0}),
    "getAgenciesList": (("POST",), agencies, _LIST),
    "getAgenciesListQD20": (("POST",), agencies_qd20, _LIST),
}


async def _unknown_method(request: web.Request) -> web.Response:
    method = request.match_info.get("method", "")
    return refusal(
        VdxpMethodUnknown(
            f"{request.method} {method!r} is not a VDXP method; "
            f"the methods are {', '.join(METHODS)}"
        )
    )


def add_routes(app: web.Application) -> None:
    """Serve VDXP under ``[vdxp] path_prefix`` when ``[vdxp] enabled``."""
    services = app[SERVICES]
    settings = services.config.vdxp
    if not settings.enabled:
        return
    app[_SECRETS] = _Secrets(services)
    prefix = settings.path_prefix
    for name, (verbs, method, empty) in METHODS.items():
        for verb in verbs:
            app.router.add_route(verb, f"{prefix}/{name}", _endpoint(method, empty))
    app.router.add_route("*", prefix + "/{method}", _unknown_method)
