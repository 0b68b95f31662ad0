"""Status messages: POST /api/v1/statuses and the counterpart's feed."""

from __future__ import annotations

import hashlib

import structlog
from aiohttp import web

from edoc_axis.clock import from_vietnam_local
from edoc_axis.core.statuses import (
    check_progress,
    check_sender_role,
    check_signed_by_policy,
    round_for,
)
from edoc_axis.edxml import StatusCode, StatusPackage
from edoc_axis.errors import (
    AuthSenderMismatch,
    CertificateNotAgency,
    NotFound,
    RequestInvalid,
)
from edoc_axis.forwarding import push_copy
from edoc_axis.server.admission import admitted
from edoc_axis.server.auth import calling_agency
from edoc_axis.server.context import SERVICES, AxisServices
from edoc_axis.server.conversation import recipient_message, rounds_with
from edoc_axis.server.listing import page_params
from edoc_axis.store import Agency, Delivery, InvalidCursor, NewStatus, StoredDocument, StoredStatus

log = structlog.get_logger("edoc_axis.statuses")


def status_json(status: StoredStatus) -> dict[str, object]:
    return {
        "status_id": status.status_id,
        "id": status.axis_id,
        "document_id": status.document_id,
        "from": status.from_code,
        "to": status.to_code,
        "kind": status.kind,
        "status_code": status.status_code,
        "timestamp": status.timestamp.isoformat(),
        "received_at": status.received_at.isoformat(),
        "recall_round": status.recall_round,
    }


async def store_status(
    services: AxisServices,
    raw: bytes,
    package: StatusPackage,
    document: StoredDocument,
    *,
    from_code: str,
    to_code: str,
    expected: str | None,
    updates_progress: bool,
    status_id: str,
    recall_round: int | None = None,
) -> StoredStatus:
    status = NewStatus(
        status_id=status_id,
        axis_id=document.axis_id,
        from_code=from_code,
        to_code=to_code,
        status_code=package.status_code.value,
        raw=raw,
        sha256=hashlib.sha256(raw).hexdigest(),
        timestamp=from_vietnam_local(package.timestamp),
        received_at=services.clock.now(),
        recall_round=recall_round,
    )
    forward = await push_copy(services.store, status, document)
    stored = await services.store.record_status(
        status, expected, updates_progress=updates_progress, forward=forward
    )
    if forward is not None:
        for hook in services.on_accepted:
            hook()
    return stored


async def _target(
    services: AxisServices, caller: Agency, status: StatusPackage
) -> tuple[StoredDocument, Delivery, bool]:
    """The message and delivery a status is about, and whether the caller is its sender.

    A status names a document by (sender, DocumentId) whatever its business
    type; it applies to the newest message of that document the recipient has
    got (``recipient_message``). The caller's role comes from the document, not
    from the code, so that a code sent by the wrong party is refused as such
    (``status.not-allowed``). The counterparty's document to the caller is
    looked up first, then the caller's document to the counterparty.
    """
    store = services.store
    counterparty = await store.get_agency(status.response_for.organ_id)
    document_id = status.response_for.document_id
    if counterparty is None:
        raise NotFound(f"unknown counterparty {status.response_for.organ_id}")
    for sender, recipient, by_sender in (
        (counterparty.code, caller.code, False),
        (caller.code, counterparty.code, True),
    ):
        found = await recipient_message(store, sender, document_id, recipient)
        if found is not None:
            return found[0], found[1], by_sender
    raise NotFound(f"no document {document_id} between {caller.code} and {counterparty.code}")


async def submit_status(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    caller = await calling_agency(request)
    async with admitted(
        request, services, caller, expect_kind="status", signature_required=False
    ) as examined:
        status = examined.package
        assert isinstance(status, StatusPackage)
        check_signed_by_policy(
            status.status_code,
            signed=examined.signer_fingerprint is not None,
            required=services.config.require_signed_statuses,
            allow_legacy=services.config.allow_legacy,
        )
        await _check_status_sender(services, caller, status, examined.signer_fingerprint)
        status_id = "st" + examined.sha256[:40]
        existing = await services.store.get_status(status_id)
        if existing is not None:
            return web.json_response(status_json(existing), status=200)
        stored = await _apply(services, caller, status, status.raw, status_id)
    log.info("status.accepted", axis_id=stored.axis_id, status_code=stored.status_code)
    return web.json_response(status_json(stored), status=202)


async def _check_status_sender(
    services: AxisServices, caller: Agency, status: StatusPackage, fingerprint: str | None
) -> None:
    """The token's agency must be the status's From, and its signer if it is signed."""
    declared = await services.store.get_agency(status.sender.organ_id)
    if declared is None or declared.code != caller.code:
        raise AuthSenderMismatch(
            f"the token belongs to {caller.code}, the status's From is {status.sender.organ_id}"
        )
    if fingerprint is not None and fingerprint not in caller.certificate_fingerprints:
        raise CertificateNotAgency(f"the signing certificate is not registered to {caller.code}")


async def _apply(
    services: AxisServices, caller: Agency, status: StatusPackage, raw: bytes, status_id: str
) -> StoredStatus:
    document, delivery, by_sender = await _target(services, caller, status)
    code = status.status_code
    check_sender_role(code, is_sender=by_sender, is_recipient=not by_sender)
    progress = code.info.progress_rank is not None
    if progress:
        current = StatusCode(delivery.status_code) if delivery.status_code else None
        check_progress(current, code)
    recall_round = None
    if not progress:
        recipient = delivery.recipient_code
        rounds = await rounds_with(
            services.store, document.sender_code, document.document_id, recipient
        )
        recall_round = round_for(code, rounds)
    return await store_status(
        services,
        raw,
        status,
        document,
        from_code=caller.code,
        to_code=delivery.recipient_code if by_sender else document.sender_code,
        expected=delivery.status_code,
        updates_progress=progress,
        status_id=status_id,
        recall_round=recall_round,
    )


async def status_feed(request: web.Request) -> web.Response:
    caller = await calling_agency(request)
    limit, cursor = page_params(request)
    try:
        page = await request.app[SERVICES].store.statuses_for(caller.code, cursor, limit)
    except InvalidCursor as exc:
        raise RequestInvalid(f"unknown cursor: {exc}") from exc
    return web.json_response(
        {
            "items": [status_json(s) for s in page.items],
            "next_cursor": page.next_cursor,
            "resume_cursor": page.resume_cursor,
        }
    )


async def get_status(request: web.Request) -> web.Response:
    """The exact bytes of a status message, to the two agencies it travels between."""
    store = request.app[SERVICES].store
    caller = await calling_agency(request)
    status_id = request.match_info["status_id"]
    status = await store.get_status(status_id)
    if status is None or caller.code not in (status.from_code, status.to_code):
        raise NotFound(f"no status {status_id}")
    return web.Response(body=await store.status_bytes(status_id), content_type="application/xml")


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/v1/statuses", submit_status)
    app.router.add_get("/api/v1/statuses", status_feed)
    app.router.add_get("/api/v1/statuses/{status_id}", get_status)
