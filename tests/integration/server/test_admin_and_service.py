"""The operator API, service endpoints, store outage and log hygiene."""

from __future__ import annotations

from structlog.testing import capture_logs

from edoc_axis.pki import cert_to_pem
from tests.integration.server.conftest import RunningAxis

G22, H49 = "000.00.00.G22", "000.00.00.H49"


async def test_operator_api_needs_the_operator_token(axis: RunningAxis) -> None:
    agency = await axis.register(G22)
    for token in (None, agency.token, "op_wrong"):
        response = await axis.call("GET", "/admin/v1/agencies", token=token)
        assert (response.status, response.code) == (401, "auth.required")


async def test_registry_round_trip_over_http(axis: RunningAxis) -> None:
    await axis.register(G22, aliases=("G22",))
    op = axis.operator_token
    listing = (await axis.call("GET", "/admin/v1/agencies", token=op)).json()
    assert [a["code"] for a in listing["agencies"]] == [G22]
    shown = (await axis.call("GET", "/admin/v1/agencies/G22", token=op)).json()
    assert shown["code"] == G22 and shown["alias_codes"] == ["G22"]
    assert "token" not in shown and "token_hash" not in shown

    extra = axis.issue(G22, key_type="ec")
    added = await axis.call(
        "POST",
        f"/admin/v1/agencies/{G22}/certificates",
        token=op,
        json_body={"certificate": cert_to_pem(extra.cert).decode()},
    )
    fingerprints = added.json()["certificate_fingerprints"]
    assert len(fingerprints) == 2
    removed = await axis.call(
        "DELETE", f"/admin/v1/agencies/{G22}/certificates/{fingerprints[0]}", token=op
    )
    assert len(removed.json()["certificate_fingerprints"]) == 1
    disabled = await axis.call("POST", f"/admin/v1/agencies/{G22}/disable", token=op)
    assert disabled.json()["state"] == "disabled"


async def test_registration_refusals(axis: RunningAxis) -> None:
    await axis.register(G22)
    op = axis.operator_token
    cert = cert_to_pem(axis.issue(H49).cert).decode()
    cases = [
        ({"code": G22, "name": "again", "certificates": [cert]}, 409, "agency.exists"),
        ({"code": "bad code!", "name": "x", "certificates": [cert]}, 400, "schema.invalid"),
        ({"code": H49, "name": "x", "certificates": ["not a pem"]}, 400, "schema.invalid"),
        (
            {"code": H49, "name": "x", "certificates": [cert], "delivery_mode": "push"},
            400,
            "schema.invalid",
        ),
        ({"name": "no code"}, 400, "schema.invalid"),
    ]
    for body, status, code in cases:
        response = await axis.call("POST", "/admin/v1/agencies", token=op, json_body=body)
        assert (response.status, response.code) == (status, code), body
    missing = await axis.call("GET", "/admin/v1/agencies/000.00.00.X99", token=op)
    assert (missing.status, missing.code) == (404, "not-found")


async def test_health_readiness_and_metrics(axis: RunningAxis) -> None:
    sender = await axis.register(G22)
    await axis.register(H49)
    assert (await axis.submit(axis.signed(sender, [H49]), sender)).status == 202
    assert (await axis.submit(axis.document(sender, [H49]), sender)).status == 422
    assert (await axis.call("GET", "/healthz")).status == 200
    assert (await axis.call("GET", "/readyz")).json() == {"status": "ready"}
    metrics = (await axis.call("GET", "/metrics")).body.decode()
    assert "edoc_documents_accepted_total 1.0" in metrics
    assert 'edoc_documents_rejected_total{code="signature.missing"} 1.0' in metrics
    assert "edoc_delivery_queue_depth 1.0" in metrics


async def test_store_outage_is_503_and_stores_nothing(axis: RunningAxis) -> None:
    sender = await axis.register(G22)
    await axis.register(H49)
    raw = axis.signed(sender, [H49])
    await axis.store.close()
    response = await axis.submit(raw, sender)
    assert (response.status, response.code) == (503, "unavailable")
    ready = await axis.call("GET", "/readyz")
    assert ready.status == 503


async def test_logs_name_the_document_but_never_the_token(axis: RunningAxis) -> None:
    sender = await axis.register(G22)
    await axis.register(H49)
    with capture_logs() as logs:
        response = await axis.submit(axis.signed(sender, [H49]), sender)
    accepted = [e for e in logs if e["event"] == "document.accepted"]
    assert len(accepted) == 1
    assert accepted[0]["axis_id"] == response.headers["Edoc-Axis-Id"]
    assert sender.token not in repr(logs)


async def test_me_names_the_calling_agency(axis: RunningAxis) -> None:
    kit = await axis.register(G22, aliases=("G22",))
    me = (await axis.call("GET", "/api/v1/me", token=kit.token)).json()
    assert me == {
        "code": G22,
        "name": f"Agency {G22}",
        "alias_codes": ["G22"],
        "delivery_mode": "pull",
    }
