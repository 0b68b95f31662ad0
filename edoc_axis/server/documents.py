"""GET /api/v1/documents/{id}: the exact original bytes, to the sender and recipients."""

from __future__ import annotations

from aiohttp import web

from edoc_axis.errors import NotFound
from edoc_axis.server.auth import calling_agency
from edoc_axis.server.context import SERVICES
from edoc_axis.server.document_answers import send_document
from edoc_axis.store import Agency, StoredDocument


async def visible_document(request: web.Request, caller: Agency) -> StoredDocument:
    """The document named in the path if the caller sent it or receives it.

    Anything else is 404, never 403, so that ids of other agencies' documents
    do not leak.
    """
    services = request.app[SERVICES]
    axis_id = request.match_info["axis_id"]
    document = await services.store.get_document(axis_id)
    if document is None:
        raise NotFound(f"no document {axis_id}")
    if document.sender_code == caller.code:
        return document
    if await services.store.delivery_for(axis_id, caller.code) is not None:
        return document
    raise NotFound(f"no document {axis_id}")


async def whoami(request: web.Request) -> web.Response:
    """The calling agency, so that tools need no separate setting for their own code."""
    caller = await calling_agency(request)
    return web.json_response(
        {
            "code": caller.code,
            "name": caller.name,
            "alias_codes": list(caller.alias_codes),
            "delivery_mode": caller.delivery_mode,
        }
    )


async def get_document(request: web.Request) -> web.StreamResponse:
    caller = await calling_agency(request)
    document = await visible_document(request, caller)
    return await send_document(
        request,
        request.app[SERVICES].store,
        document,
        None,
        content_type="application/xml",
        headers={"Edoc-Axis-Id": document.axis_id, "Edoc-Sha256": document.sha256},
    )


async def get_receipt(request: web.Request) -> web.Response:
    """The signed receipt of a document, again, to its sender (e.g. one sent over VDXP)."""
    caller = await calling_agency(request)
    document = await visible_document(request, caller)
    if document.sender_code != caller.code or document.kind != "document":
        raise NotFound(f"no receipt of yours for {document.axis_id}")
    return web.Response(
        body=document.receipt,
        content_type="application/xml",
        headers={"Edoc-Axis-Id": document.axis_id},
    )
