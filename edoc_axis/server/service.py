"""Service endpoints: /healthz, /readyz, /metrics."""

from __future__ import annotations

from aiohttp import web

from edoc_axis.server.connections import CONNECTIONS
from edoc_axis.server.context import SERVICES
from edoc_axis.server.operator_metrics import OPERATOR_METRICS


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    try:
        await services.store.ping()
    except Exception as exc:  # any store failure means not ready
        return web.json_response({"status": "unavailable", "detail": str(exc)}, status=503)
    return web.json_response({"status": "ready"})


async def metrics(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    stats = await services.store.stats(services.clock.now())
    services.metrics.queue_depth.set(stats.by_state.get("pending", 0))
    services.metrics.oldest_pending_age.set(stats.oldest_pending_age_s or 0.0)
    services.metrics.connections_open.set(request.app[CONNECTIONS].open)
    services.metrics.inflight_bytes.set(services.inflight.used)
    if OPERATOR_METRICS in request.app:
        await request.app[OPERATOR_METRICS].refresh()
    return web.Response(body=services.metrics.render(), content_type="text/plain", charset="utf-8")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
