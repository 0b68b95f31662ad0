"""The operator API for peer axes: /admin/v1/peers (the CLI's `peer` over HTTP)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from edoc_axis.errors import SchemaInvalid
from edoc_axis.server.auth import require_operator
from edoc_axis.server.bodies import read_json_object
from edoc_axis.server.context import SERVICES
from edoc_axis.server.relay import sync_peer
from edoc_axis.service import peers

_SHAPE = (
    '{"name": AXIS, "url": URL, "axis_cert_pem": PEM, "serves": [PATTERN, ...],'
    ' "token": TOKEN-FOR-THE-PEER (optional), "test": false}'
)


def _optional_text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise SchemaInvalid(f"{key} must be text; want {_SHAPE}")
    return value


def _serves(body: dict[str, Any]) -> tuple[str, ...] | None:
    value = body.get("serves")
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise SchemaInvalid(f"serves must be a list of patterns; want {_SHAPE}")
    return tuple(value)


async def create_peer(request: web.Request) -> web.Response:
    """Register a peer axis; the answer carries the token it must present here, this once."""
    require_operator(request)
    services = request.app[SERVICES]
    body = await read_json_object(request)
    name, url = _optional_text(body, "name"), _optional_text(body, "url")
    pem = _optional_text(body, "axis_cert_pem")
    if not name or not url or not pem:
        raise SchemaInvalid(f"name, url and axis_cert_pem are required; want {_SHAPE}")
    peer, token = await peers.add_peer(
        services.store,
        services.config,
        name=name,
        url=url,
        axis_cert_pem=pem.encode("ascii", errors="replace"),
        serves=_serves(body) or (),
        token=_optional_text(body, "token"),
        test=body.get("test") is True,
        at=services.clock.now(),
    )
    return web.json_response({**peers.peer_json(peer), "token": token}, status=201)


async def list_peers(request: web.Request) -> web.Response:
    require_operator(request)
    items = await request.app[SERVICES].store.list_peers()
    return web.json_response({"items": [peers.peer_json(p) for p in items]})


async def update_peer(request: web.Request) -> web.Response:
    """Change a peer's URL, certificate, patterns or the token presented to it."""
    require_operator(request)
    services = request.app[SERVICES]
    body = await read_json_object(request)
    pem = _optional_text(body, "axis_cert_pem")
    peer = await peers.update_peer(
        services.store,
        services.config,
        request.match_info["name"],
        url=_optional_text(body, "url"),
        axis_cert_pem=None if pem is None else pem.encode("ascii", errors="replace"),
        serves=_serves(body),
        token=_optional_text(body, "token"),
        at=services.clock.now(),
    )
    return web.json_response(peers.peer_json(peer))


async def rotate_token(request: web.Request) -> web.Response:
    require_operator(request)
    services = request.app[SERVICES]
    name = request.match_info["name"]
    token = await peers.rotate_peer_token(services.store, name, services.clock.now())
    return web.json_response({"name": name, "token": token})


async def _set_state(request: web.Request, state: str) -> web.Response:
    require_operator(request)
    services = request.app[SERVICES]
    peer = await services.store.set_peer_state(
        request.match_info["name"],
        "active" if state == "active" else "disabled",
        services.clock.now(),
    )
    return web.json_response(peers.peer_json(peer))


async def disable_peer(request: web.Request) -> web.Response:
    return await _set_state(request, "disabled")


async def enable_peer(request: web.Request) -> web.Response:
    return await _set_state(request, "active")


async def sync(request: web.Request) -> web.Response:
    """Fetch the peer's directory now and apply what changed."""
    require_operator(request)
    services = request.app[SERVICES]
    peer = await peers.require_peer(services.store, request.match_info["name"])
    report = await sync_peer(services, peer)
    return web.json_response({"name": peer.name, **report.as_json()})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/admin/v1/peers", create_peer)
    app.router.add_get("/admin/v1/peers", list_peers)
    app.router.add_post("/admin/v1/peers/{name}", update_peer)
    app.router.add_post("/admin/v1/peers/{name}/token", rotate_token)
    app.router.add_post("/admin/v1/peers/{name}/disable", disable_peer)
    app.router.add_post("/admin/v1/peers/{name}/enable", enable_peer)
    app.router.add_post("/admin/v1/peers/{name}/sync", sync)
