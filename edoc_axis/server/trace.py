"""GET /api/v1/documents/{id}/trace: per recipient, everything that happened.

The trace itself is ``service.trace.document_trace``, shared with the console.
"""

from __future__ import annotations

from aiohttp import web

from edoc_axis.server.auth import calling_agency
from edoc_axis.server.context import SERVICES
from edoc_axis.server.documents import visible_document
from edoc_axis.server.relay import with_hops
from edoc_axis.service.trace import document_trace


async def trace(request: web.Request) -> web.Response:
    caller = await calling_agency(request)
    document = await visible_document(request, caller)
    services = request.app[SERVICES]
    body = await document_trace(services.store, document, caller.code)
    if document.sender_code == caller.code:  # the later axes of relayed deliveries
        await with_hops(services, body, document)
    return web.json_response(body)
