"""The pull side: GET /api/v1/inbox, GET /api/v1/inbox/{id}, POST /api/v1/inbox/{id}/ack,
and POST /api/v1/inbox/fetch and POST /api/v1/inbox/ack for many at once."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import structlog
from aiohttp import MultipartWriter, web

from edoc_axis import service
from edoc_axis.errors import EdocError, NotFound, RequestInvalid, SchemaInvalid, problem_object
from edoc_axis.problems import PROBLEM_JSON
from edoc_axis.server.auth import calling_agency
from edoc_axis.server.bodies import read_json_object
from edoc_axis.server.context import SERVICES
from edoc_axis.server.document_answers import cut_short, is_large, send_document
from edoc_axis.server.listing import page_params
from edoc_axis.server.problems import REQUEST_ID
from edoc_axis.store import Addressed, Delivery, InboxItem, InvalidCursor, StoredDocument
from edoc_axis.store.base import document_pieces

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


def _document_headers(document: StoredDocument, axis_name: str) -> dict[str, str]:
    received = document.received_at.isoformat()
    return {
        "Edoc-Axis-Id": document.axis_id,
        "Edoc-Sender": document.sender_code,
        "Edoc-Sha256": document.sha256,
        "Edoc-Received-At": received,
        "Edoc-Hop": f'axis="{axis_name}"; received="{received}"',
    }


async def get_inbox_document(request: web.Request) -> web.StreamResponse:
    """The exact bytes; the axis's hop is told in headers, never by rewriting the package."""
    services = request.app[SERVICES]
    caller = await calling_agency(request)
    found = await _addressed(request, caller.code, with_bytes=True)
    return await send_document(
        request,
        services.store,
        found.document,
        found.raw,
        content_type="application/xml",
        headers=_document_headers(found.document, services.config.axis_name),
    )


MAX_BATCH_FETCH = 100
"""Ids in one batch fetch."""
MAX_FETCH_BYTES = 16 * 1024 * 1024
"""Document bytes in one batch fetch answer; a larger first document still comes whole."""


async def fetch_batch(request: web.Request) -> web.Response:
    """Many inbox documents in one answer: ``multipart/mixed``, one part per id, in order.

    A found document's part is its exact bytes (``application/xml``) with the
    headers of ``GET /api/v1/inbox/{id}`` and its own Content-Length; an id not
    in the caller's inbox gets a ``not-found`` problem part. When the bytes
    would pass MAX_FETCH_BYTES the answer stops early: ``Edoc-Fetch-Left`` says
    how many of the ids (the last ones) were left for another request.
    Fetching acknowledges nothing: ``POST /api/v1/inbox/ack`` does.
    """
    services = request.app[SERVICES]
    caller = await calling_agency(request)
    ids = _batch_ids(await read_json_object(request), MAX_BATCH_FETCH)
    async with services.batch_fetches.slot(caller.code):
        return await _fetch_answer(request, caller.code, ids)


async def _fetch_answer(request: web.Request, caller: str, ids: list[str]) -> web.Response:
    services = request.app[SERVICES]
    found = await services.store.addressed_many(ids, caller, max_bytes=MAX_FETCH_BYTES)
    answer = MultipartWriter("mixed")
    for axis_id, one in zip(ids, found, strict=False):
        part: bytes | AsyncIterator[bytes] | None = None
        if one is not None and is_large(one.document):  # read a piece at a time as it is sent
            part = document_pieces(services.store, one.document)
        elif one is not None:
            part = one.raw
        if one is None or part is None:
            error = NotFound(f"no document {axis_id} in your inbox")
            problem = problem_object(error.http_status, error.code, error.title, error.detail)
            body = json.dumps(problem, ensure_ascii=False).encode("utf-8")
            answer.append(body, {"Content-Type": PROBLEM_JSON, "Edoc-Axis-Id": axis_id})
        else:
            headers = _document_headers(one.document, services.config.axis_name)
            headers["Content-Length"] = str(one.document.size)
            answer.append(part, {"Content-Type": "application/xml", **headers})
    left = len(ids) - len(found)
    log.info("delivery.fetched_batch", recipient=caller, ids=len(ids), left=left)
    response = web.Response(body=answer, headers={"Edoc-Fetch-Left": str(left)})
    if REQUEST_ID in request:  # the middleware's header comes too late for a sent answer
        response.headers["X-Request-Id"] = request[REQUEST_ID]
    await response.prepare(request)  # sent within the slot: the bytes go while it is held
    try:
        await response.write_eof()  # a large document's part is read as it goes
    except Exception as exc:
        cut_short(request, exc)
    return response


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


MAX_BATCH_ACK = 500
"""Ids in one batch acknowledgement: five pages of the inbox at its default size."""


def _batch_ids(body: dict[str, object], most: int) -> list[str]:
    ids = body.get("ids")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise SchemaInvalid('want {"ids": ["<axis id>", ...]}')
    if not 1 <= len(ids) <= most:
        raise SchemaInvalid(f"ids must hold 1 to {most} axis ids, not {len(ids)}")
    return list(dict.fromkeys(ids))  # the same id twice is asked once


def _outcome_json(axis_id: str, outcome: Delivery | EdocError) -> dict[str, object]:
    if isinstance(outcome, EdocError):
        return {"id": axis_id, "error": {"code": outcome.code, "detail": outcome.detail}}
    return {"id": axis_id, "state": outcome.state, "status_code": outcome.status_code}


async def acknowledge_batch(request: web.Request) -> web.Response:
    """Delivery receipts for many documents at once (each as its own ``/ack``).

    200 with one item per distinct id, in the order given: the delivery's state, or
    the refusal for that id alone (an id not in the caller's inbox is ``not-found``).
    """
    services = request.app[SERVICES]
    caller = await calling_agency(request)
    ids = _batch_ids(await read_json_object(request), MAX_BATCH_ACK)
    outcomes = await service.acknowledge_many(
        services, ids, caller.code, "acknowledged through the axis"
    )
    done = sum(1 for outcome in outcomes if not isinstance(outcome, EdocError))
    log.info("delivery.acknowledged_batch", recipient=caller.code, ids=len(ids), acked=done)
    return web.json_response(
        {"items": [_outcome_json(i, o) for i, o in zip(ids, outcomes, strict=True)]}
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v1/inbox", list_inbox)
    app.router.add_post("/api/v1/inbox/ack", acknowledge_batch)  # before {axis_id}
    app.router.add_post("/api/v1/inbox/fetch", fetch_batch)
    app.router.add_get("/api/v1/inbox/{axis_id}", get_inbox_document)
    app.router.add_post("/api/v1/inbox/{axis_id}/ack", acknowledge)
