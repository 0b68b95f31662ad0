"""The operator API beyond agencies: dead letters, statistics, the audit chain,
certificates with their expiry, agency search, and the OpenAPI document.

Every /admin request that changes something and succeeds is recorded in the
audit chain with the operator's identity (``operator_audit_middleware``), so
the agency and system handlers need no code of their own for it.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from aiohttp import web
from cryptography import x509

from edoc_axis.errors import NotFound, SchemaInvalid
from edoc_axis.server.auth import OPERATOR, operator_auth_middleware, require_operator
from edoc_axis.server.bodies import read_json_object
from edoc_axis.server.context import SERVICES
from edoc_axis.server.operator_metrics import OPERATOR_METRICS, install_metrics
from edoc_axis.server.operator_openapi import openapi_document
from edoc_axis.service import operator as ops
from edoc_axis.service.operators import LEGACY_OPERATOR
from edoc_axis.service.views import delivery_json

_ACTOR = web.RequestKey("operator_actor", str)
_AUDITED = web.RequestKey("operator_audited", bool)
_MAX_LIMIT = 500


def operator_identity(request: web.Request) -> str:
    """Who the operator is, for the audit chain: a named operator's name; for the
    unnamed token 'operator', or the subject of the TLS client certificate it
    came with (under mTLS)."""
    name: str | None = request.get(OPERATOR)
    if name is not None and name != LEGACY_OPERATOR:
        return name
    transport = request.transport
    ssl_object = None if transport is None else transport.get_extra_info("ssl_object")
    der = None if ssl_object is None else ssl_object.getpeercert(binary_form=True)
    if der:
        try:
            return "operator:" + x509.load_der_x509_certificate(der).subject.rfc4514_string()
        except ValueError:
            pass
    return "operator"


def require_actor(request: web.Request) -> str:
    require_operator(request)
    actor = operator_identity(request)
    request[_ACTOR] = actor
    return actor


@web.middleware
async def operator_audit_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Append ``operator.action`` for every successful change under /admin.

    Handlers that record their own, richer event (dead letters) mark the
    request so it is not recorded twice. A change reaches a 2xx only past
    ``require_operator``, so the caller here is the operator.
    """
    response: web.StreamResponse = await handler(request)
    if (
        request.path.startswith("/admin/")
        and request.method not in ("GET", "HEAD", "OPTIONS")
        and response.status < 400
        and not request.get(_AUDITED)
    ):
        services = request.app[SERVICES]
        await ops.audit_action(
            services.store,
            services.clock.now(),
            request.get(_ACTOR) or operator_identity(request),
            f"{request.method} {request.path}",
            agency=request.match_info.get("code"),
            detail={"status": response.status},
        )
    return response


# -- parameters -------------------------------------------------------------------
def _time(request: web.Request, name: str) -> datetime | None:
    text = request.query.get(name)
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise SchemaInvalid(f"{name} is not an ISO 8601 time: {exc}") from exc
    if value.tzinfo is None:
        raise SchemaInvalid(f"{name} must carry a UTC offset")
    return value


def _int(request: web.Request, name: str, default: int | None, low: int, high: int) -> int | None:
    text = request.query.get(name)
    if text is None:
        return default
    if not text.isdigit() or len(text) > 12:
        raise SchemaInvalid(f"{name} must be a whole number")
    value = int(text)
    if not low <= value <= high:
        raise SchemaInvalid(f"{name} must be between {low} and {high}")
    return value


async def _canonical_agency(request: web.Request, code: str | None) -> str | None:
    if code is None:
        return None
    agency = await request.app[SERVICES].store.get_agency(code)
    if agency is None:
        raise NotFound(f"no agency {code}")
    return agency.code


async def _filter(
    request: web.Request, agency: str | None, since: datetime | None
) -> ops.DeadLetterFilter:
    return ops.DeadLetterFilter(await _canonical_agency(request, agency), since)


# -- dead letters -----------------------------------------------------------------
async def list_dead_letters(request: web.Request) -> web.Response:
    require_actor(request)
    where = await _filter(request, request.query.get("agency"), _time(request, "since"))
    limit = _int(request, "limit", 100, 1, _MAX_LIMIT) or 100
    store = request.app[SERVICES].store
    try:
        found, cursor = await ops.dead_letter_page(store, where, limit, request.query.get("cursor"))
    except ValueError as exc:  # InvalidCursor
        raise SchemaInvalid(f"cursor: {exc}") from exc
    return web.json_response({"items": [delivery_json(d) for d in found], "next_cursor": cursor})


def _delivery_id(request: web.Request) -> int:
    text = request.match_info["id"]
    if not text.isdigit() or len(text) > 18:
        raise NotFound(f"no delivery {text}")
    return int(text)


async def show_dead_letter(request: web.Request) -> web.Response:
    require_actor(request)
    store = request.app[SERVICES].store
    delivery = await ops.dead_letter(store, _delivery_id(request))
    document = await store.get_document(delivery.axis_id)
    data = delivery_json(delivery)
    if document is not None:
        data["sender"] = document.sender_code
        data["document_id"] = document.document_id
        data["subject"] = document.subject
        data["received_at"] = document.received_at.isoformat()
    return web.json_response(data)


async def _act_one(request: web.Request, action: str) -> web.Response:
    actor = require_actor(request)
    services = request.app[SERVICES]
    delivery = await ops.act_on_dead_letter(
        services.store, action, _delivery_id(request), services.clock.now(), actor
    )
    request[_AUDITED] = True
    _wake_dispatcher(request)
    return web.json_response(delivery_json(delivery))


def _wake_dispatcher(request: web.Request) -> None:
    # A retried dead letter is due now: the push dispatcher should not wait for its poll.
    for wake in request.app[SERVICES].on_accepted:
        wake()


async def retry_dead_letter(request: web.Request) -> web.Response:
    return await _act_one(request, "retry")


async def discard_dead_letter(request: web.Request) -> web.Response:
    return await _act_one(request, "discard")


async def _act_bulk(request: web.Request, action: str) -> web.Response:
    actor = require_actor(request)
    services = request.app[SERVICES]
    body = await read_json_object(request, empty=True)
    ids = body.get("ids")
    where = body.get("filter")
    if (ids is None) == (where is None):
        raise SchemaInvalid("give exactly one of ids (a list) or filter (an object)")
    if ids is not None:
        if not isinstance(ids, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in ids
        ):
            raise SchemaInvalid("ids must be a list of delivery ids")
        chosen = list(ids)
    else:
        if not isinstance(where, dict) or set(where) - {"agency", "since"}:
            raise SchemaInvalid("filter may name agency and since only")
        since = where.get("since")
        try:
            since_at = None if since is None else datetime.fromisoformat(str(since))
        except ValueError as exc:
            raise SchemaInvalid(f"filter.since: {exc}") from exc
        if since_at is not None and since_at.tzinfo is None:
            raise SchemaInvalid("filter.since must carry a UTC offset")
        agency = where.get("agency")
        chosen_filter = await _filter(request, None if agency is None else str(agency), since_at)
        chosen = []
        async for delivery in ops.all_dead_letters(services.store, chosen_filter):
            chosen.append(delivery.id)
            if len(chosen) > ops.MAX_BULK:
                break
    results = await ops.act_on_dead_letters(
        services.store, action, chosen, services.clock.now(), actor
    )
    request[_AUDITED] = True
    _wake_dispatcher(request)
    return web.json_response(
        {"results": results, "succeeded": sum(1 for r in results if r["ok"]), "total": len(results)}
    )


async def bulk_retry(request: web.Request) -> web.Response:
    return await _act_bulk(request, "retry")


async def bulk_discard(request: web.Request) -> web.Response:
    return await _act_bulk(request, "discard")


# -- statistics -------------------------------------------------------------------
async def statistics(request: web.Request) -> web.Response:
    require_actor(request)
    services = request.app[SERVICES]
    now = services.clock.now()
    since, until = ops.stats_window(_time(request, "since"), _time(request, "until"), now)
    agency = await _canonical_agency(request, request.query.get("agency"))
    return web.json_response(await ops.statistics(services.store, since, until, now, agency))


# -- the audit chain --------------------------------------------------------------
async def audit_head(request: web.Request) -> web.Response:
    require_actor(request)
    head = await request.app[SERVICES].store.audit_head()
    return web.json_response({"seq": head.seq, "hash": head.hash})


async def audit_verify(request: web.Request) -> web.Response:
    """The whole chain against its head (no range), or entries from..to."""
    require_actor(request)
    services = request.app[SERVICES]
    first = _int(request, "from", None, 1, 10**12)
    last = _int(request, "to", None, 1, 10**12)
    if first is None and last is None:
        report = await services.store.verify_audit()
        request.app[OPERATOR_METRICS].audit_verified(report.ok, services.clock.now())
        return web.json_response(ops.report_json(report, scope="chain"))
    report = await ops.verify_range(services.store, first or 1, last)
    return web.json_response(
        ops.report_json(report, scope="range", **{"from": first or 1, "to": last})
    )


async def audit_export(request: web.Request) -> web.StreamResponse:
    """Entries from..to as JSON lines, streamed: `edoc-axis audit verify --file` checks them."""
    require_actor(request)
    first = _int(request, "from", 1, 1, 10**12) or 1
    last = _int(request, "to", None, 1, 10**12)
    response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
    await response.prepare(request)
    lines: list[str] = []
    async for entry in ops.audit_entries(request.app[SERVICES].store, first, last):
        lines.append(json.dumps(ops.audit_line(entry), ensure_ascii=False))
        if len(lines) >= 1000:
            await response.write(("\n".join(lines) + "\n").encode())
            lines = []
    if lines:
        await response.write(("\n".join(lines) + "\n").encode())
    await response.write_eof()
    return response


# -- agencies ---------------------------------------------------------------------
async def list_certificates(request: web.Request) -> web.Response:
    require_actor(request)
    services = request.app[SERVICES]
    code = request.match_info["code"]
    agency = await services.store.get_agency(code)
    if agency is None:
        raise NotFound(f"no agency {code}")
    items = await ops.certificates(services.store, agency, services.clock.now())
    return web.json_response({"agency": agency.code, "certificates": items})


async def search_agencies(request: web.Request) -> web.Response:
    require_actor(request)
    text = request.query.get("q", "")
    if not text.strip() or len(text) > 200:
        raise SchemaInvalid("q must be 1 to 200 characters")
    agencies = await request.app[SERVICES].store.list_agencies()
    found = ops.search_agencies(agencies, text.strip())
    return web.json_response(
        {
            "items": [
                {
                    "code": a.code,
                    "name": a.name,
                    "alias_codes": list(a.alias_codes),
                    "state": a.state,
                    "delivery_mode": a.delivery_mode,
                    "test": a.test,
                }
                for a in found
            ]
        }
    )


async def openapi(request: web.Request) -> web.Response:
    """Operator-only like the rest of /admin: it tells what the console can do."""
    require_actor(request)
    return web.json_response(openapi_document())


def add_routes(app: web.Application) -> None:
    """The operator routes, the audit middleware and the per-agency metrics."""
    app.middlewares.append(operator_auth_middleware)
    app.middlewares.append(operator_audit_middleware)
    app[OPERATOR_METRICS] = install_metrics(app[SERVICES])
    r = app.router
    r.add_get("/admin/v1/openapi.json", openapi)
    r.add_get("/admin/v1/dead-letters", list_dead_letters)
    r.add_post("/admin/v1/dead-letters/retry", bulk_retry)
    r.add_post("/admin/v1/dead-letters/discard", bulk_discard)
    r.add_get("/admin/v1/dead-letters/{id}", show_dead_letter)
    r.add_post("/admin/v1/dead-letters/{id}/retry", retry_dead_letter)
    r.add_post("/admin/v1/dead-letters/{id}/discard", discard_dead_letter)
    r.add_get("/admin/v1/stats", statistics)
    r.add_get("/admin/v1/audit/head", audit_head)
    r.add_get("/admin/v1/audit/verify", audit_verify)
    r.add_get("/admin/v1/audit/export", audit_export)
    r.add_get("/admin/v1/agencies/{code}/certificates", list_certificates)
    r.add_get("/admin/v1/search/agencies", search_agencies)
