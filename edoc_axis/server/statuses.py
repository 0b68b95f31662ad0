"""Status messages: POST /api/v1/statuses and the counterpart's feed."""

from __future__ import annotations

import structlog
from aiohttp import web

from edoc_axis.errors import NotFound, RequestInvalid
from edoc_axis.server.admission import BodyReader, admitted
from edoc_axis.server.auth import calling_agency
from edoc_axis.server.bodies import read_package_body
from edoc_axis.server.context import SERVICES, AxisServices
from edoc_axis.server.listing import page_params
from edoc_axis.service import accept_status
from edoc_axis.service.views import status_json
from edoc_axis.store import Agency, InvalidCursor, StoredStatus

log = structlog.get_logger("edoc_axis.statuses")


async def submit_status(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    caller = await calling_agency(request)
    stored, created = await intake_status(request, services, caller, read_package_body)
    return web.json_response(status_json(stored), status=202 if created else 200)


async def intake_status(
    request: web.Request, services: AxisServices, caller: Agency, read_body: BodyReader
) -> tuple[StoredStatus, bool]:
    """Admit the request's status package and record it; (status, whether new).

    Every transport that takes statuses (the native API, VDXP) comes through here.
    """
    async with admitted(
        request,
        services,
        caller,
        expect_kind="status",
        signature_required=False,
        read_body=read_body,
    ) as examined:
        return await accept_status(services, caller, examined)


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
