"""make_http_app: the HTTP adapter alone (routes, middlewares, loaded services).

The whole axis, push delivery included, is wired by ``edoc_axis.app.make_app``.
"""

from __future__ import annotations

from aiohttp import web

from edoc_axis.clock import Clock, SystemClock
from edoc_axis.config import AxisConfig
from edoc_axis.server import (
    admin,
    console,
    inbox,
    operator_api,
    operators_admin,
    peers_admin,
    relay,
    service,
    statuses,
    vdxp,
    vdxp_admin,
)
from edoc_axis.server.connections import (
    CONNECTIONS,
    ConnectionGuard,
    close_after_the_last,
    connection_middleware,
)
from edoc_axis.server.context import SERVICES, load_services
from edoc_axis.server.documents import get_document, get_receipt, whoami
from edoc_axis.server.intake import submit_document
from edoc_axis.server.problems import problem_middleware
from edoc_axis.server.trace import trace
from edoc_axis.store import Store

# aiohttp's own whole-body limit must not undercut ours, which is enforced
# while streaming and answered with our problem code.
_AIOHTTP_SLACK = 1024 * 1024


def make_http_app(config: AxisConfig, store: Store, clock: Clock | None = None) -> web.Application:
    """The axis HTTP application over an opened store, without push delivery."""
    app = web.Application(
        middlewares=[connection_middleware, problem_middleware],
        client_max_size=config.limits.max_body_bytes + _AIOHTTP_SLACK,
    )
    app.on_response_prepare.append(close_after_the_last)
    services = load_services(config, store, clock or SystemClock())
    app[SERVICES] = services
    app[CONNECTIONS] = ConnectionGuard(
        config.limits, lambda reason: services.metrics.connections_closed.labels(reason).inc()
    )
    app.router.add_get("/api/v1/me", whoami)
    app.router.add_post("/api/v1/documents", submit_document)
    app.router.add_get("/api/v1/documents/{axis_id}", get_document)
    app.router.add_get("/api/v1/documents/{axis_id}/trace", trace)
    app.router.add_get("/api/v1/documents/{axis_id}/receipt", get_receipt)
    inbox.add_routes(app)
    statuses.add_routes(app)
    admin.add_routes(app)
    service.add_routes(app)
    vdxp.add_routes(app)
    vdxp_admin.add_routes(app)
    operator_api.add_routes(app)
    console.add_routes(app)
    relay.add_routes(app)
    peers_admin.add_routes(app)
    operators_admin.add_routes(app)

    async def shutdown_executor(_app: web.Application) -> None:
        services.executor.shutdown(wait=True)

    app.on_cleanup.append(shutdown_executor)
    return app
