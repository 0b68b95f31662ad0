"""Service endpoints: /healthz, /readyz, /metrics."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator

from aiohttp import web

from edoc_axis.server.connections import CONNECTIONS
from edoc_axis.server.context import SERVICES
from edoc_axis.server.metrics import multiprocess_dir
from edoc_axis.server.operator_metrics import OPERATOR_METRICS
from edoc_axis.server.run_dir import shared_run_dir
from edoc_axis.server.shared_health import publish

LIVE_GAUGES_EVERY_S = 1.0


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    try:
        await services.store.ping()
    except Exception as exc:  # any store failure means not ready
        return web.json_response({"status": "unavailable", "detail": str(exc)}, status=503)
    return web.json_response({"status": "ready"})


def _set_live_gauges(app: web.Application) -> None:
    services = app[SERVICES]
    services.metrics.connections_open.set(app[CONNECTIONS].open)
    services.metrics.inflight_bytes.set(services.inflight.used)


async def metrics(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    stats = await services.store.stats(services.clock.now())
    services.metrics.queue_depth.set(stats.by_state.get("pending", 0))
    services.metrics.oldest_pending_age.set(stats.oldest_pending_age_s or 0.0)
    _set_live_gauges(request.app)
    if OPERATOR_METRICS in request.app:
        await request.app[OPERATOR_METRICS].refresh()
    return web.Response(body=services.metrics.render(), content_type="text/plain", charset="utf-8")


async def _share_every_second(app: web.Application) -> AsyncIterator[None]:
    """With several processes, each writes its connection and body-byte counts and
    what it knows of the push endpoints every second, so that a scrape or a console
    page answered by another process shows fresh figures of all of them."""
    services = app[SERVICES]
    run_dir = shared_run_dir()

    async def refresh() -> None:
        while True:
            _set_live_gauges(app)
            if run_dir is not None:
                health = [h for hook in services.endpoint_health for h in hook()]
                with contextlib.suppress(OSError):  # the run is ending: the folder is gone
                    publish(run_dir, os.getpid(), health)
            await asyncio.sleep(LIVE_GAUGES_EVERY_S)

    task = asyncio.create_task(refresh())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def add_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    if multiprocess_dir() is not None or shared_run_dir() is not None:
        app.cleanup_ctx.append(_share_every_second)
