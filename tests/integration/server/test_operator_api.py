"""The operator API: dead letters, statistics, the audit chain, certificates,
search; who did what lands in the audit chain; nothing under /admin answers
an agency token."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from edoc_axis.service.operator import verify_lines
from edoc_axis.store import DeadLetter
from tests.integration.server.conftest import AgencyKit, RunningAxis, admin_routes
from tests.waiting import eventually

G22, H49 = "000.00.00.G22", "000.00.00.H49"


async def _dead_letter(axis: RunningAxis, sender: AgencyKit, recipient: str) -> int:
    """A document from sender whose push to recipient failed for good."""
    response = await axis.submit(axis.signed(sender, [recipient]), sender)
    assert response.status in (200, 201, 202), response.body
    axis_id = response.headers["Edoc-Axis-Id"]
    far = datetime.now(UTC) + timedelta(minutes=5)

    async def dead() -> int | None:
        # The axis's own dispatcher may claim it first (its lease ends before ``far``).
        for claim in await axis.store.claim_due_deliveries(far, 10, 30, "test"):
            await axis.store.record_outcome(
                claim.delivery_id, claim.attempt, DeadLetter("HTTP 410"), far
            )
        (delivery,) = await axis.store.deliveries_of(axis_id)
        return delivery.id if delivery.state == "dead" else None

    return await eventually(dead, what="the delivery to be dead-lettered")


async def _operator_actions(axis: RunningAxis) -> list[dict[str, object]]:
    return [
        {"agency": e.agency, **e.detail}
        async for e in axis.store.iter_audit()
        if e.event == "operator.action"
    ]


async def test_dead_letters_listed_shown_retried_and_discarded_with_the_operator_named(
    axis: RunningAxis,
) -> None:
    op = axis.operator_token
    sender = await axis.register(G22)
    await axis.register(H49, mode="push", endpoint="https://h49.example.test/edoc")
    first = await _dead_letter(axis, sender, H49)
    second = await _dead_letter(axis, sender, H49)
    third = await _dead_letter(axis, sender, H49)

    listing = (await axis.call("GET", f"/admin/v1/dead-letters?agency={H49}", token=op)).json()
    assert [d["id"] for d in listing["items"]] == [first, second, third]
    paged = (await axis.call("GET", "/admin/v1/dead-letters?limit=2", token=op)).json()
    assert [d["id"] for d in paged["items"]] == [first, second] and paged["next_cursor"]
    assert listing["items"][0]["last_error"] == "HTTP 410"
    for query in (f"agency={G22}", "since=2999-01-01T00:00:00%2B00:00"):
        other = (await axis.call("GET", f"/admin/v1/dead-letters?{query}", token=op)).json()
        assert other["items"] == []
    unknown = await axis.call("GET", "/admin/v1/dead-letters?agency=X.Y", token=op)
    assert (unknown.status, unknown.code) == (404, "not-found")
    naive = await axis.call("GET", "/admin/v1/dead-letters?since=2026-01-01T00:00:00", token=op)
    assert (naive.status, naive.code) == (400, "schema.invalid")

    shown = (await axis.call("GET", f"/admin/v1/dead-letters/{first}", token=op)).json()
    assert (shown["sender"], shown["state"], shown["agency"]) == (G22, "dead", H49)

    retried = await axis.call("POST", f"/admin/v1/dead-letters/{first}/retry", token=op)
    assert (retried.status, retried.json()["state"]) == (200, "pending")
    again = await axis.call("POST", f"/admin/v1/dead-letters/{first}/retry", token=op)
    assert (again.status, again.code) == (404, "not-found")  # no longer a dead letter

    bulk = await axis.call(
        "POST", "/admin/v1/dead-letters/discard", token=op, json_body={"ids": [second, 999999]}
    )
    result = bulk.json()
    assert (result["succeeded"], result["total"]) == (1, 2)
    assert result["results"][1]["error"]["code"] == "not-found"
    by_filter = await axis.call(
        "POST", "/admin/v1/dead-letters/retry", token=op, json_body={"filter": {"agency": H49}}
    )
    assert [r["id"] for r in by_filter.json()["results"]] == [third]
    both = await axis.call(
        "POST", "/admin/v1/dead-letters/retry", token=op, json_body={"ids": [1], "filter": {}}
    )
    assert (both.status, both.code) == (400, "schema.invalid")

    actions = await _operator_actions(axis)
    dead_actions = [(a["action"], a["delivery"]) for a in actions if "delivery" in a]
    assert dead_actions == [
        ("deadletter.retry", first),
        ("deadletter.discard", second),
        ("deadletter.retry", third),
    ]
    assert {a["actor"] for a in actions} == {"operator"}


async def test_agency_changes_are_audited_with_the_operator(axis: RunningAxis) -> None:
    op = axis.operator_token
    await axis.register(G22)
    await axis.call("POST", f"/admin/v1/agencies/{G22}/disable", token=op)
    refused = await axis.call("POST", "/admin/v1/agencies/X.Y/disable", token=op)
    assert refused.status == 404
    actions = [(a["action"], a["agency"], a["actor"]) for a in await _operator_actions(axis)]
    assert actions == [
        ("POST /admin/v1/agencies", None, "operator"),
        (f"POST /admin/v1/agencies/{G22}/disable", G22, "operator"),
    ]  # the refused change is not recorded as done


async def test_statistics_per_agency_and_hour(axis: RunningAxis) -> None:
    op = axis.operator_token
    sender = await axis.register(G22)
    await axis.register(H49)
    assert (await axis.submit(axis.signed(sender, [H49]), sender)).status == 202
    unsigned = await axis.submit(axis.document(sender, [H49]), sender)
    assert unsigned.status >= 400
    stats = (await axis.call("GET", "/admin/v1/stats", token=op)).json()
    assert len(stats["hour_starts"]) == 24
    (row,) = [h for h in stats["hours"] if h["agency"] == G22]
    assert row["accepted"] == 1 and row["refused"] == {unsigned.code: 1}
    assert row["hour"] == stats["hour_starts"][-1]
    h49 = next(a for a in stats["agencies"] if a["agency"] == H49)
    assert h49["deliveries"] == {"pending": 1} and h49["oldest_pending_age_s"] >= 0
    only = (await axis.call("GET", f"/admin/v1/stats?agency={H49}", token=op)).json()
    assert [a["agency"] for a in only["agencies"]] == [H49] and only["hours"] == []
    wide = await axis.call("GET", "/admin/v1/stats?since=2020-01-01T00:00:00%2B00:00", token=op)
    assert (wide.status, wide.code) == (400, "schema.invalid")


async def test_audit_head_verify_and_an_export_that_verifies_offline(axis: RunningAxis) -> None:
    op = axis.operator_token
    sender = await axis.register(G22)
    await axis.register(H49)
    await axis.submit(axis.signed(sender, [H49]), sender)
    head = (await axis.call("GET", "/admin/v1/audit/head", token=op)).json()
    chain = (await axis.call("GET", "/admin/v1/audit/verify", token=op)).json()
    assert chain["ok"] and chain["entries"] == head["seq"] and chain["scope"] == "chain"
    part = (await axis.call("GET", "/admin/v1/audit/verify?from=2&to=3", token=op)).json()
    assert (part["ok"], part["entries"], part["scope"]) == (True, 2, "range")

    export = await axis.call("GET", "/admin/v1/audit/export", token=op)
    assert export.headers["Content-Type"].startswith("application/x-ndjson")
    lines = export.body.decode().splitlines()
    assert len(lines) == head["seq"] and json.loads(lines[-1])["hash"] == head["hash"]
    assert verify_lines(lines).ok
    tail = (await axis.call("GET", "/admin/v1/audit/export?from=2", token=op)).body
    assert verify_lines(tail.decode().splitlines()).ok
    edited = json.loads(lines[1])
    edited["agency"] = "000.00.00.X99"
    report = verify_lines([lines[0], json.dumps(edited), *lines[2:]])
    assert (report.ok, report.first_broken_seq) == (False, 2)


async def test_certificates_with_expiry_and_agency_search(axis: RunningAxis) -> None:
    op = axis.operator_token
    kit = await axis.register(G22, aliases=("UBND.HN",))
    await axis.register(H49)
    certs = (await axis.call("GET", f"/admin/v1/agencies/{G22}/certificates", token=op)).json()
    (cert,) = certs["certificates"]
    assert cert["not_after"] == kit.issued.cert.not_valid_after_utc.isoformat()
    assert cert["expires_in_days"] > 30
    found = (await axis.call("GET", "/admin/v1/search/agencies?q=ubnd", token=op)).json()
    assert [a["code"] for a in found["items"]] == [G22]
    by_name = (await axis.call("GET", "/admin/v1/search/agencies?q=agency%20", token=op)).json()
    assert [a["code"] for a in by_name["items"]] == [G22, H49]
    empty = await axis.call("GET", "/admin/v1/search/agencies?q=", token=op)
    assert (empty.status, empty.code) == (400, "schema.invalid")


async def test_no_admin_route_answers_an_agency_token_or_none(axis: RunningAxis) -> None:
    agency = await axis.register(G22)
    routes = admin_routes(axis, G22)
    for method, path in routes:
        for token in (agency.token, None):
            response = await axis.call(method, path, token=token, json_body={})
            assert response.status in (401, 403), (method, path, response.status)
    assert len(routes) >= 25
