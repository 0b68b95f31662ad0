"""One middleware turns every EdocError into application/problem+json."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from edoc_axis.errors import EdocError, NotFound, PayloadTooLarge

log = structlog.get_logger("edoc_axis.server")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def problem_response(error: EdocError) -> web.Response:
    headers = {}
    if error.retry_after_s is not None:
        headers["Retry-After"] = str(error.retry_after_s)
    return web.Response(
        status=error.http_status,
        body=json.dumps(error.to_problem(), ensure_ascii=False).encode("utf-8"),
        content_type="application/problem+json",
        headers=headers,
    )


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Bind a request id to every log line and map refusals to problem+json."""
    request_id = request.headers.get("X-Request-Id") or uuid.uuid4().hex
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id)
    try:
        response = await handler(request)
    except EdocError as error:
        log.info("request.refused", code=error.code, detail=error.detail, path=request.path)
        response = problem_response(error)
        if isinstance(error, PayloadTooLarge):
            # Close rather than drain the rest of an oversized body.
            response.force_close()
    except web.HTTPNotFound:
        response = problem_response(NotFound(f"no resource at {request.path}"))
    response.headers["X-Request-Id"] = request_id
    return response
