"""The operator API (/admin/v1): the agency registry over HTTP."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from edoc_axis.errors import NotFound, SchemaInvalid
from edoc_axis.server.auth import require_operator
from edoc_axis.server.bodies import read_json_object
from edoc_axis.server.context import SERVICES
from edoc_axis.service.registry import (
    add_certificates,
    register_agency,
    require_trusted,
    rotate_token,
)
from edoc_axis.service.views import agency_json
from edoc_axis.store import Agency, AgencyState


async def _agency(request: web.Request) -> Agency:
    code = request.match_info["code"]
    agency = await request.app[SERVICES].store.get_agency(code)
    if agency is None:
        raise NotFound(f"no agency {code}")
    return agency


def _flag(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise SchemaInvalid(f"{name} must be true or false")
    return value


async def create_agency(request: web.Request) -> web.Response:
    require_operator(request)
    services = request.app[SERVICES]
    body = await read_json_object(request)
    pems = [str(p).encode() for p in body.get("certificates", [])]
    require_trusted(services.trust_files.current(), pems)
    try:
        agency, token = await register_agency(
            services.store,
            code=str(body["code"]),
            name=str(body["name"]),
            aliases=[str(a) for a in body.get("aliases", [])],
            delivery_mode=str(body.get("delivery_mode", "pull")),
            endpoint_url=body.get("endpoint_url"),
            certificate_pems=pems,
            at=services.clock.now(),
            test=_flag(body, "test"),
        )
    except KeyError as exc:
        raise SchemaInvalid(f"missing field {exc.args[0]}") from exc
    return web.json_response({**agency_json(agency), "token": token}, status=201)


async def list_agencies(request: web.Request) -> web.Response:
    require_operator(request)
    agencies = await request.app[SERVICES].store.list_agencies()
    return web.json_response({"agencies": [agency_json(a) for a in agencies]})


async def show_agency(request: web.Request) -> web.Response:
    require_operator(request)
    return web.json_response(agency_json(await _agency(request)))


async def _set_state(request: web.Request, state: AgencyState) -> web.Response:
    require_operator(request)
    agency = await _agency(request)
    store = request.app[SERVICES].store
    await store.set_agency_state(agency.code, state)
    return web.json_response(agency_json(await _agency(request)))


async def disable_agency(request: web.Request) -> web.Response:
    return await _set_state(request, "disabled")


async def enable_agency(request: web.Request) -> web.Response:
    return await _set_state(request, "active")


async def rotate_agency_token(request: web.Request) -> web.Response:
    require_operator(request)
    agency = await _agency(request)
    services = request.app[SERVICES]
    token = await rotate_token(services.store, agency.code, services.clock.now())
    return web.json_response({"code": agency.code, "token": token})


async def add_certificate(request: web.Request) -> web.Response:
    require_operator(request)
    agency = await _agency(request)
    body = await read_json_object(request)
    services = request.app[SERVICES]
    pem = str(body.get("certificate", "")).encode()
    require_trusted(services.trust_files.current(), [pem])
    await add_certificates(services.store, agency.code, pem)
    return web.json_response(agency_json(await _agency(request)))


async def remove_certificate(request: web.Request) -> web.Response:
    require_operator(request)
    agency = await _agency(request)
    fingerprint = request.match_info["fingerprint"].lower()
    if fingerprint not in agency.certificate_fingerprints:
        raise NotFound(f"agency {agency.code} has no certificate {fingerprint}")
    await request.app[SERVICES].store.remove_certificate(agency.code, fingerprint)
    return web.json_response(agency_json(await _agency(request)))


async def remove_agency(request: web.Request) -> web.Response:
    """Remove a test agency with what it sent and received (409 for any other agency)."""
    require_operator(request)
    agency = await _agency(request)
    removed = await request.app[SERVICES].store.remove_test_agency(agency.code)
    return web.json_response({"code": agency.code, "removed": removed})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/admin/v1/agencies", create_agency)
    app.router.add_get("/admin/v1/agencies", list_agencies)
    app.router.add_get("/admin/v1/agencies/{code}", show_agency)
    app.router.add_delete("/admin/v1/agencies/{code}", remove_agency)
    app.router.add_post("/admin/v1/agencies/{code}/disable", disable_agency)
    app.router.add_post("/admin/v1/agencies/{code}/enable", enable_agency)
    app.router.add_post("/admin/v1/agencies/{code}/rotate-token", rotate_agency_token)
    app.router.add_post("/admin/v1/agencies/{code}/certificates", add_certificate)
    app.router.add_delete(
        "/admin/v1/agencies/{code}/certificates/{fingerprint}", remove_certificate
    )
