"""The operator API for VDXP systems: /admin/v1/systems (the CLI's `system` over HTTP)."""

from __future__ import annotations

from aiohttp import web

from edoc_axis.errors import SchemaInvalid
from edoc_axis.server.auth import require_operator
from edoc_axis.server.bodies import read_json_object
from edoc_axis.server.context import SERVICES
from edoc_axis.service.systems import (
    check_system_id,
    register_system,
    rotate_system_secret,
    system_json,
)


async def create_system(request: web.Request) -> web.Response:
    """Register a system; the answer carries its secret, this once."""
    require_operator(request)
    services = request.app[SERVICES]
    body = await read_json_object(request)
    try:
        system_id = str(body["system_id"])
        agencies = [str(code) for code in body["agencies"]]
        check_system_id(system_id)
    except (ValueError, KeyError, TypeError) as exc:
        raise SchemaInvalid(f'want {{"system_id": ID, "agencies": [CODE, ...]}}: {exc}') from None
    if not agencies:
        raise SchemaInvalid("a system must be bound to at least one agency")
    system, secret = await register_system(
        services.store,
        services.config.vdxp_key_file(),
        system_id,
        agencies,
        services.clock.now(),
    )
    return web.json_response({**system_json(system), "secret": secret}, status=201)


async def list_systems(request: web.Request) -> web.Response:
    require_operator(request)
    systems = await request.app[SERVICES].store.list_systems()
    return web.json_response({"items": [system_json(s) for s in systems]})


async def rotate_secret(request: web.Request) -> web.Response:
    require_operator(request)
    services = request.app[SERVICES]
    system, secret = await rotate_system_secret(
        services.store,
        services.config.vdxp_key_file(),
        request.match_info["system_id"],
        services.clock.now(),
    )
    return web.json_response({**system_json(system), "secret": secret})


async def _set_state(request: web.Request, state: str) -> web.Response:
    require_operator(request)
    services = request.app[SERVICES]
    system = await services.store.set_system_state(
        request.match_info["system_id"],
        "active" if state == "active" else "disabled",
        services.clock.now(),
    )
    return web.json_response(system_json(system))


async def disable_system(request: web.Request) -> web.Response:
    return await _set_state(request, "disabled")


async def enable_system(request: web.Request) -> web.Response:
    return await _set_state(request, "active")


def add_routes(app: web.Application) -> None:
    app.router.add_post("/admin/v1/systems", create_system)
    app.router.add_get("/admin/v1/systems", list_systems)
    app.router.add_post("/admin/v1/systems/{system_id}/rotate", rotate_secret)
    app.router.add_post("/admin/v1/systems/{system_id}/disable", disable_system)
    app.router.add_post("/admin/v1/systems/{system_id}/enable", enable_system)
