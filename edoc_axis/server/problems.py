"""One middleware turns every EdocError into application/problem+json."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from edoc_axis.errors import EdocError, NotFound, PayloadTooLarge, RequestTimeout, Unavailable
from edoc_axis.problems import problem_response

log = structlog.get_logger("edoc_axis.server")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# A client's X-Request-Id is kept only when it is short and plain (a UUID, a
# ULID, "agency-123/4"); anything else is replaced, so that a client cannot
# put megabytes or control characters into every log line and answer.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:/+=@-]{1,128}")
# Refusals that leave most of the body unread: close instead of draining it.
_CLOSE_AFTER = (PayloadTooLarge, RequestTimeout, Unavailable)


REQUEST_ID = web.RequestKey("request_id", str)
"""Where the request's id waits for a handler that sends its answer itself."""


def request_id_of(request: web.Request) -> str:
    """The client's X-Request-Id when it is acceptable, else a fresh one."""
    given = request.headers.get("X-Request-Id", "")
    return given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Bind a request id to every log line and map refusals to problem+json."""
    request_id = request[REQUEST_ID] = request_id_of(request)
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id)
    try:
        response = await handler(request)
    except EdocError as error:
        log.info("request.refused", code=error.code, detail=error.detail, path=request.path)
        response = problem_response(error)
        if isinstance(error, _CLOSE_AFTER):
            # Close rather than drain the rest of an oversized or stalled body.
            response.force_close()
    except ConnectionResetError:
        # The client went away mid-request: one line, no traceback. Nothing can
        # be answered; the response only lets aiohttp finish the request.
        log.info("request.client_gone", path=request.path, method=request.method)
        response = web.Response(status=400)
        response.force_close()
    except web.HTTPNotFound:
        response = problem_response(NotFound(f"no resource at {request.path}"))
    response.headers["X-Request-Id"] = request_id
    return response
