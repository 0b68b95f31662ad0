"""The pull side: GET /api/v1/inbox, GET /api/v1/inbox/{id}, POST /api/v1/inbox/{id}/ack."""

from __future__ import annotations

import structlog
from aiohttp import web

from edoc_axis import service
from edoc_axis.errors import NotFound, RequestInvalid
from edoc_axis.server.auth import calling_agency
from edoc_axis.server.context import SERVICES
from edoc_axis.server.listing import page_params
from edoc_axis.store import Addressed, InboxItem, InvalidCursor

log = structlog.get_logger("edoc_axis.inbox")


def inbox_item_json(item: InboxItem) -> dict[str, object]:
    return {
        "id": item.axis_id,
        "sender": item.sender_code,
        "document_id": item.document_id,
        "kind": item.kind,
        "business_type": item.business_type,
        "subject": item.subject,
        "sha256": item.sha256,
        "size": item.size,
        "received_at": item.received_at.isoformat(),
        "state": item.state,
        "attempts": item.attempts,
    }


async def list_inbox(request: web.Request) -> web.Response:
    caller = await calling_agency(request)
    limit, cursor = page_params(request)
    try:
        page = await request.app[SERVICES].store.inbox(caller.code, limit, cursor)
    except InvalidCursor as exc:
        raise RequestInvalid(f"unknown cursor: {exc}") from exc
    return web.json_response(
        {
            "items": [inbox_item_json(i) for i in page.items],
            "next_cursor": page.next_cursor,
            "resume_cursor": page.resume_cursor,
        }
    )


async def _addressed(
    request: web.Request, recipient: str, *, with_bytes: bool = False
) -> Addressed:
    """The document in the path and its delivery to ``recipient`` (one read); 404 otherwise."""
    store = request.app[SERVICES].store
    axis_id = request.match_info["axis_id"]
    found = await store.addressed(axis_id, recipient, with_bytes=with_bytes)
    if found is None:
        raise NotFound(f"no document {axis_id} in your inbox")
    return found


async def get_inbox_document(request: web.Request) -> web.Response:
    """The exact bytes; the axis's hop is told in headers, never by rewriting the package."""
    services = request.app[SERVICES]
    caller = await calling_agency(request)
    found = await _addressed(request, caller.code, with_bytes=True)
    document, raw = found.document, found.raw
    if raw is None:
        raise RuntimeError(f"the store gave no bytes for {document.axis_id}")
    received = document.received_at.isoformat()
    return web.Response(
        body=raw,
        content_type="application/xml",
        headers={
            "Edoc-Axis-Id": document.axis_id,
            "Edoc-Sender": document.sender_code,
            "Edoc-Sha256": document.sha256,
            "Edoc-Received-At": received,
            "Edoc-Hop": f'axis="{services.config.axis_name}"; received="{received}"',
        },
    )


async def acknowledge(request: web.Request) -> web.Response:
    """The delivery receipt: the recipient has stored the document. Makes status 01."""
    services = request.app[SERVICES]
    caller = await calling_agency(request)
    document = (await _addressed(request, caller.code)).document
    delivery = await service.acknowledge(
        services,
        document.axis_id,
        caller.code,
        "acknowledged through the axis",
        document=document,
    )
    log.info("delivery.acknowledged", axis_id=document.axis_id, recipient=caller.code)
    return web.json_response(
        {"id": document.axis_id, "state": delivery.state, "status_code": delivery.status_code}
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v1/inbox", list_inbox)
    app.router.add_get("/api/v1/inbox/{axis_id}", get_inbox_document)
    app.router.add_post("/api/v1/inbox/{axis_id}/ack", acknowledge)
