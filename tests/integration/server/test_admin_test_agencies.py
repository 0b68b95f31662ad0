"""Operator API for test agencies: registered with "test": true, removed with DELETE.

Their pending deliveries stay out of /metrics' queue depth and oldest age.
"""

from __future__ import annotations

from typing import Any

from edoc_axis.pki import cert_to_pem
from tests.integration.server.conftest import AgencyKit, RunningAxis

REAL, CF1, CF2 = "000.00.00.G22", "CFAB12.1", "CFAB12.2"


async def _test_agency(axis: RunningAxis, code: str, **extra: Any) -> AgencyKit:
    issued = axis.issue(code)
    body = {
        "code": code,
        "name": f"Conformance {code}",
        "certificates": [cert_to_pem(issued.cert).decode()],
        "test": True,
        **extra,
    }
    response = await axis.call(
        "POST", "/admin/v1/agencies", token=axis.operator_token, json_body=body
    )
    assert response.status == 201, response.body
    assert response.json()["test"] is True
    return AgencyKit(code, body["name"], issued, response.json()["token"])


def _metric(text: str, name: str) -> float:
    line = next(line for line in text.splitlines() if line.startswith(name + " "))
    return float(line.split()[1])


async def test_test_agencies_are_left_out_of_the_alarms_and_removed_with_their_traffic(
    axis: RunningAxis,
) -> None:
    real = await axis.register(REAL)
    cf1, _cf2 = await _test_agency(axis, CF1), await _test_agency(axis, CF2)
    sent = await axis.submit(axis.signed(cf1, [CF2]), cf1)
    assert sent.status == 202
    metrics = (await axis.call("GET", "/metrics")).body.decode()
    assert _metric(metrics, "edoc_delivery_queue_depth") == 0
    assert _metric(metrics, "edoc_oldest_undelivered_age_seconds") == 0
    assert not (
        await axis.call("GET", f"/admin/v1/agencies/{REAL}", token=axis.operator_token)
    ).json()["test"]

    removed = await axis.call("DELETE", f"/admin/v1/agencies/{CF1}", token=axis.operator_token)
    assert removed.json() == {"code": CF1, "removed": {"documents": 1, "statuses": 0}}
    gone = await axis.call(
        "GET", f"/api/v1/documents/{sent.headers['Edoc-Axis-Id']}", token=real.token
    )
    assert gone.status == 404
    assert (await axis.call("GET", "/api/v1/me", token=cf1.token)).status == 401
    again = await axis.call("DELETE", f"/admin/v1/agencies/{CF1}", token=axis.operator_token)
    assert (again.status, again.code) == (404, "not-found")


async def test_only_test_agencies_are_removed(axis: RunningAxis) -> None:
    real = await axis.register(REAL)
    refused = await axis.call("DELETE", f"/admin/v1/agencies/{REAL}", token=axis.operator_token)
    assert (refused.status, refused.code) == (409, "agency.not-removable")
    cf1 = await _test_agency(axis, CF1)
    assert (await axis.submit(axis.signed(cf1, [REAL]), cf1)).status == 202
    mixed = await axis.call("DELETE", f"/admin/v1/agencies/{CF1}", token=axis.operator_token)
    assert (mixed.status, mixed.code) == (409, "agency.not-removable")
    assert len((await axis.call("GET", "/api/v1/inbox", token=real.token)).json()["items"]) == 1
    no_token = await axis.call("DELETE", f"/admin/v1/agencies/{CF1}")
    assert no_token.status == 401
    bad = await axis.call(
        "POST",
        "/admin/v1/agencies",
        token=axis.operator_token,
        json_body={"code": CF2, "name": "x", "test": "yes"},
    )
    assert (bad.status, bad.code) == (400, "schema.invalid")
