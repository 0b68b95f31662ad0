"""GET /api/v1/documents/{id}/trace: per recipient, everything that happened.

The trace itself is ``service.trace.document_trace``, shared with the console.
"""

from __future__ import annotations

from aiohttp import web

from edoc_axis.server.auth import calling_agency
from edoc_axis.server.context import SERVICES
from edoc_axis.server.documents import visible_document
from edoc_axis.service.trace import document_trace


async def trace(request: web.Request) -> web.Response:
    caller = await calling_agency(request)
    document = await visible_document(request, caller)
    store = request.app[SERVICES].store
    return web.json_response(await document_trace(store, document, caller.code))
