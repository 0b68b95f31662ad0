"""Named operators over the operator API: /admin/v1/operators (the CLI's `operator`)."""

from __future__ import annotations

from aiohttp import web

from edoc_axis.errors import SchemaInvalid
from edoc_axis.server.auth import require_operator
from edoc_axis.server.bodies import read_json_object
from edoc_axis.server.context import SERVICES
from edoc_axis.service.operators import add_operator, operator_json


async def create_operator(request: web.Request) -> web.Response:
    """Register a named operator; the answer carries its token, this once."""
    require_operator(request)
    services = request.app[SERVICES]
    body = await read_json_object(request)
    try:
        name = body["name"]
    except (ValueError, KeyError, TypeError) as exc:
        raise SchemaInvalid(f'want {{"name": NAME}}: {exc}') from None
    if not isinstance(name, str):
        raise SchemaInvalid("name must be a string")
    operator, token = await add_operator(services.store, name, services.clock.now())
    return web.json_response({**operator_json(operator), "token": token}, status=201)


async def list_operators(request: web.Request) -> web.Response:
    require_operator(request)
    operators = await request.app[SERVICES].store.list_operators()
    return web.json_response({"items": [operator_json(o) for o in operators]})


async def remove_operator(request: web.Request) -> web.Response:
    require_operator(request)
    services = request.app[SERVICES]
    name = request.match_info["name"]
    await services.store.remove_operator(name, services.clock.now())
    return web.json_response({"name": name, "removed": True})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/admin/v1/operators", create_operator)
    app.router.add_get("/admin/v1/operators", list_operators)
    app.router.add_delete("/admin/v1/operators/{name}", remove_operator)
