"""POST /api/v1/documents: authenticate, admit, then the shared intake use case."""

from __future__ import annotations

import structlog
from aiohttp import web

from edoc_axis.errors import EdocError, RateLimited, Unavailable
from edoc_axis.server.admission import BodyReader, admitted
from edoc_axis.server.auth import calling_agency
from edoc_axis.server.bodies import read_package_body
from edoc_axis.server.context import SERVICES, AxisServices
from edoc_axis.service import accept_document
from edoc_axis.store import AcceptResult, Agency, StoredDocument

log = structlog.get_logger("edoc_axis.intake")


def receipt_response(document: StoredDocument, created: bool) -> web.Response:
    return web.Response(
        status=202 if created else 200,
        body=document.receipt,
        content_type="application/xml",
        headers={
            "Location": f"/api/v1/documents/{document.axis_id}",
            "Edoc-Axis-Id": document.axis_id,
        },
    )


async def submit_document(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    caller = await calling_agency(request)
    result = await intake_document(request, services, caller, read_package_body)
    return receipt_response(result.document, result.created)


async def intake_document(
    request: web.Request, services: AxisServices, caller: Agency, read_body: BodyReader
) -> AcceptResult:
    """Admit the request's package and accept it from ``caller``; refusals are audited.

    Every transport that takes documents (the native API, VDXP) comes through here.
    """
    structlog.contextvars.bind_contextvars(sender=caller.code)
    try:
        async with admitted(
            request, services, caller, expect_kind="document", read_body=read_body
        ) as examined:
            result = await accept_document(services, caller, examined)
    except EdocError as error:
        services.metrics.rejected.labels(code=error.code).inc()
        if isinstance(error, RateLimited | Unavailable):
            raise  # auditing a flood or an outage would only feed it
        await services.store.append_audit(
            "document.refused",
            services.clock.now(),
            agency=caller.code,
            detail={"code": error.code, "detail": error.detail[:500]},
        )
        raise
    if result.created:
        services.metrics.accepted.inc()
    return result
