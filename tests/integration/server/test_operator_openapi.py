"""/admin/v1/openapi.json against the implementation: every documented
operation is called on a running axis and its answer validated with the
documented schema; every /admin route of the router is documented."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema

from edoc_axis.app import make_app
from edoc_axis.pki import cert_to_pem
from tests.integration.server.conftest import RunningAxis
from tests.integration.server.test_operator_api import _dead_letter

G22, H49, T01 = "000.00.00.G22", "000.00.00.H49", "000.00.00.T01"


def _validate(document: dict[str, Any], schema: dict[str, Any], value: Any) -> None:
    jsonschema.validate(
        value,
        {**schema, "components": document["components"]},
        format_checker=jsonschema.FormatChecker(),
    )


async def test_every_documented_operation_answers_as_documented(axis: RunningAxis) -> None:
    op = axis.operator_token
    sender = await axis.register(G22)
    await axis.register(H49, mode="push", endpoint="https://h49.example.test/edoc")
    dead = await _dead_letter(axis, sender, H49)
    retry_me = await _dead_letter(axis, sender, H49)
    discard_me = await _dead_letter(axis, sender, H49)
    extra = axis.issue(G22, key_type="ec")
    pem = cert_to_pem(extra.cert).decode()
    axis_pem = axis.config.axis_cert.read_text()
    peer_change: dict[str, Any] = {"serves": ["*.H98"]}
    doc_response = await axis.call("GET", "/admin/v1/openapi.json", token=op)
    document = doc_response.json()

    # (method, template) -> (concrete path, JSON body); order matters for the changes
    calls: list[tuple[str, str, str, Any]] = [
        ("get", "/admin/v1/openapi.json", "/admin/v1/openapi.json", None),
        (
            "post",
            "/admin/v1/agencies",
            "/admin/v1/agencies",
            {"code": T01, "name": "Test", "test": True},
        ),
        ("get", "/admin/v1/agencies", "/admin/v1/agencies", None),
        ("get", "/admin/v1/agencies/{code}", f"/admin/v1/agencies/{G22}", None),
        (
            "post",
            "/admin/v1/agencies/{code}/certificates",
            f"/admin/v1/agencies/{G22}/certificates",
            {"certificate": pem},
        ),
        (
            "get",
            "/admin/v1/agencies/{code}/certificates",
            f"/admin/v1/agencies/{G22}/certificates",
            None,
        ),
        ("delete", "/admin/v1/agencies/{code}/certificates/{fingerprint}", "", None),
        ("post", "/admin/v1/agencies/{code}/disable", f"/admin/v1/agencies/{T01}/disable", None),
        ("post", "/admin/v1/agencies/{code}/enable", f"/admin/v1/agencies/{T01}/enable", None),
        (
            "post",
            "/admin/v1/agencies/{code}/rotate-token",
            f"/admin/v1/agencies/{T01}/rotate-token",
            None,
        ),
        ("get", "/admin/v1/search/agencies", "/admin/v1/search/agencies?q=G2", None),
        ("get", "/admin/v1/dead-letters", f"/admin/v1/dead-letters?agency={H49}&limit=5", None),
        ("get", "/admin/v1/dead-letters/{id}", f"/admin/v1/dead-letters/{dead}", None),
        (
            "post",
            "/admin/v1/dead-letters/{id}/retry",
            f"/admin/v1/dead-letters/{retry_me}/retry",
            None,
        ),
        (
            "post",
            "/admin/v1/dead-letters/{id}/discard",
            f"/admin/v1/dead-letters/{discard_me}/discard",
            None,
        ),
        ("post", "/admin/v1/dead-letters/retry", "/admin/v1/dead-letters/retry", {"ids": [dead]}),
        (
            "post",
            "/admin/v1/dead-letters/discard",
            "/admin/v1/dead-letters/discard",
            {"filter": {"agency": H49}},
        ),
        ("get", "/admin/v1/stats", "/admin/v1/stats", None),
        ("get", "/admin/v1/audit/head", "/admin/v1/audit/head", None),
        ("get", "/admin/v1/audit/verify", "/admin/v1/audit/verify?from=1&to=4", None),
        ("get", "/admin/v1/audit/export", "/admin/v1/audit/export?from=2", None),
        (
            "post",
            "/admin/v1/systems",
            "/admin/v1/systems",
            {"system_id": "sys-1", "agencies": [G22]},
        ),
        ("get", "/admin/v1/systems", "/admin/v1/systems", None),
        ("post", "/admin/v1/systems/{system_id}/rotate", "/admin/v1/systems/sys-1/rotate", None),
        ("post", "/admin/v1/systems/{system_id}/disable", "/admin/v1/systems/sys-1/disable", None),
        ("post", "/admin/v1/systems/{system_id}/enable", "/admin/v1/systems/sys-1/enable", None),
        ("delete", "/admin/v1/agencies/{code}", f"/admin/v1/agencies/{T01}", None),
        (
            "post",
            "/admin/v1/peers",
            "/admin/v1/peers",
            {"name": "PEER-1", "url": axis.url, "axis_cert_pem": axis_pem, "serves": ["*.H99"]},
        ),
        ("get", "/admin/v1/peers", "/admin/v1/peers", None),
        # the peer is this axis itself: the token set here is the one it issued above
        ("post", "/admin/v1/peers/{name}", "/admin/v1/peers/PEER-1", peer_change),
        ("post", "/admin/v1/peers/{name}/sync", "/admin/v1/peers/PEER-1/sync", None),
        ("post", "/admin/v1/peers/{name}/disable", "/admin/v1/peers/PEER-1/disable", None),
        ("post", "/admin/v1/peers/{name}/enable", "/admin/v1/peers/PEER-1/enable", None),
        ("post", "/admin/v1/peers/{name}/token", "/admin/v1/peers/PEER-1/token", None),
        ("post", "/admin/v1/operators", "/admin/v1/operators", {"name": "lan"}),
        ("get", "/admin/v1/operators", "/admin/v1/operators", None),
        ("delete", "/admin/v1/operators/{name}", "/admin/v1/operators/lan", None),
    ]
    documented = {(method, path) for path, item in document["paths"].items() for method in item}
    assert {(m, t) for m, t, _, _ in calls} == documented

    for method, template, path, body in calls:
        if template.endswith("{fingerprint}"):
            agency = (await axis.call("GET", f"/admin/v1/agencies/{G22}", token=op)).json()
            path = f"/admin/v1/agencies/{G22}/certificates/{agency['certificate_fingerprints'][-1]}"
        operation = document["paths"][template][method]
        if body is not None:  # what we send is what the document asks for
            request_body = operation["requestBody"]["content"]["application/json"]
            _validate(document, request_body["schema"], body)
        response = await axis.call(method.upper(), path, token=op, json_body=body)
        if path == "/admin/v1/peers" and method == "post":
            peer_change["token"] = response.json()["token"]
        status = str(response.status)
        assert status in operation["responses"], (method, path, response.status, response.body)
        assert response.status < 300, (method, path, response.body)
        ((media, content),) = operation["responses"][status]["content"].items()
        assert response.headers["Content-Type"].startswith(media), (path, response.headers)
        if media == "application/x-ndjson":
            for line in response.body.decode().splitlines():
                json.loads(line)
        elif content["schema"]:
            _validate(document, content["schema"], response.json())

        unauthorized = await axis.call(method.upper(), path, json_body=body)
        problem = operation["responses"]["401"]["content"]["application/problem+json"]
        _validate(document, problem["schema"], unauthorized.json())


async def test_every_admin_route_is_documented(axis: RunningAxis) -> None:
    op = axis.operator_token
    document = (await axis.call("GET", "/admin/v1/openapi.json", token=op)).json()
    app = make_app(axis.config, axis.store)
    routes = set()
    for route in app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if path.startswith("/admin") and route.method != "HEAD":
            routes.add((route.method.lower(), re.sub(r"\{(\w+)[^}]*\}", r"{\1}", path)))
    documented = {(method, path) for path, item in document["paths"].items() for method in item}
    assert routes == documented
