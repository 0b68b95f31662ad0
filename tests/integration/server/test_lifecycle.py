"""The document life cycle for pull agencies, end to end over HTTP (issue: pull + statuses).

A sends to B and C; B receives, acks, answers 03, 04, 05, 06; C refuses with 02;
A recalls with 13 and C answers 16; A updates, adding D and removing C. A's
trace and status feed show all of it in order; B never sees C's part.
"""

from __future__ import annotations

from datetime import datetime

from edoc_axis.core.compose import new_status
from edoc_axis.edxml import BusinessDocType, StatusCode, build_status, read_package
from tests.integration.server.conftest import AgencyKit, Response, RunningAxis

A, B, C, D = "000.00.00.G22", "000.00.00.H49", "000.00.00.G14", "000.00.00.G15"
WHEN = datetime(2026, 11, 23, 9, 30)


def status_package(
    kit: AgencyKit,
    document_id: str,
    counterparty: str,
    code: str,
    *,
    signed: bool = True,
    staff: str | None = None,
) -> bytes:
    raw = build_status(
        new_status(
            sender=kit.code,
            about_document_id=document_id,
            counterparty=counterparty,
            code=StatusCode(code),
            at=WHEN,
            staff=staff,
            department="Văn thư" if staff else None,
        )
    )
    return kit.sign(raw) if signed else raw


async def post_status(axis: RunningAxis, kit: AgencyKit, raw: bytes) -> Response:
    return await axis.call("POST", "/api/v1/statuses", token=kit.token, data=raw)


async def test_whole_life_cycle(axis: RunningAxis) -> None:
    a, b, c, d = [await axis.register(code) for code in (A, B, C, D)]
    original = axis.signed(a, [B, C], document_id="G22-LIFE-1")
    axis_id = (await axis.submit(original, a)).headers["Edoc-Axis-Id"]

    # B pulls: listing, exact bytes with the hop in headers, ack (idempotent) makes 01.
    listing = (await axis.call("GET", "/api/v1/inbox", token=b.token)).json()
    assert [item["id"] for item in listing["items"]] == [axis_id]
    fetched = await axis.call("GET", f"/api/v1/inbox/{axis_id}", token=b.token)
    assert fetched.body == original
    assert fetched.headers["Edoc-Sender"] == A and "received=" in fetched.headers["Edoc-Hop"]
    for _ in range(2):
        acked = await axis.call("POST", f"/api/v1/inbox/{axis_id}/ack", token=b.token)
        assert acked.json() == {"id": axis_id, "state": "acknowledged", "status_code": "01"}
    assert (await axis.call("GET", "/api/v1/inbox", token=b.token)).json()["items"] == []

    for code in ("03", "04", "05", "06"):
        raw = status_package(b, "G22-LIFE-1", A, code, staff="Nguyễn Thị Ngọc Trâm")
        assert (await post_status(axis, b, raw)).status == 202, code
    assert (await post_status(axis, c, status_package(c, "G22-LIFE-1", A, "02"))).status == 202

    recall = status_package(a, "G22-LIFE-1", C, "13")
    assert (await post_status(axis, a, recall)).status == 202
    c_feed = (await axis.call("GET", "/api/v1/statuses", token=c.token)).json()["items"]
    assert [(s["status_code"], s["from"]) for s in c_feed] == [("13", A)]
    assert (await post_status(axis, c, status_package(c, "G22-LIFE-1", A, "16"))).status == 202

    update = axis.signed(
        a,
        [B, D],
        business_type=BusinessDocType.UPDATE,
        business_reference="G22-LIFE-1",
        added_recipients=[D],
        removed_recipients=[C],
    )
    update_response = await axis.submit(update, a)
    assert update_response.status == 202
    update_id = update_response.headers["Edoc-Axis-Id"]
    # Kept, added and removed recipients all get the update (C never acked the original).
    for kit, expected in ((b, [update_id]), (d, [update_id]), (c, [axis_id, update_id])):
        inbox = (await axis.call("GET", "/api/v1/inbox", token=kit.token)).json()["items"]
        assert [i["id"] for i in inbox] == expected, kit.code
        assert inbox[-1]["business_type"] == 2

    feed = (await axis.call("GET", "/api/v1/statuses", token=a.token)).json()["items"]
    assert [(s["from"], s["status_code"]) for s in feed] == [
        (B, "01"),
        (B, "03"),
        (B, "04"),
        (B, "05"),
        (B, "06"),
        (C, "02"),
        (C, "16"),
    ]
    signed_03 = await axis.call("GET", f"/api/v1/statuses/{feed[1]['status_id']}", token=a.token)
    assert read_package(signed_03.body).status_code == StatusCode.ACCEPTED

    trace = (await axis.call("GET", f"/api/v1/documents/{axis_id}/trace", token=a.token)).json()
    by_agency = {entry["agency"]: entry for entry in trace["deliveries"]}
    assert set(by_agency) == {B, C}
    assert by_agency[B]["state"] == "acknowledged" and by_agency[B]["status_code"] == "06"
    assert [s["status_code"] for s in by_agency[B]["statuses"]] == ["01", "03", "04", "05", "06"]
    assert by_agency[B]["statuses"][1]["staff"]["staff"] == "Nguyễn Thị Ngọc Trâm"
    assert [s["status_code"] for s in by_agency[C]["statuses"]] == ["02", "13", "16"]
    assert [f["id"] for f in trace["followups"]] == [update_id]
    update_trace = (
        await axis.call("GET", f"/api/v1/documents/{update_id}/trace", token=a.token)
    ).json()
    assert update_trace["acts_on"]["id"] == axis_id
    assert {e["agency"] for e in update_trace["deliveries"]} == {B, C, D}

    b_trace = (await axis.call("GET", f"/api/v1/documents/{axis_id}/trace", token=b.token)).json()
    assert [e["agency"] for e in b_trace["deliveries"]] == [B]
    assert C not in repr(b_trace["deliveries"])


async def test_illegal_and_foreign_statuses_are_refused_and_not_stored(
    axis: RunningAxis,
) -> None:
    a, b, c, d = [await axis.register(code) for code in (A, B, C, D)]
    await axis.submit(axis.signed(a, [B, C], document_id="G22-RULES"), a)
    assert (await post_status(axis, b, status_package(b, "G22-RULES", A, "06"))).status == 202
    assert (await post_status(axis, c, status_package(c, "G22-RULES", A, "02"))).status == 202
    before = (await axis.call("GET", "/api/v1/statuses", token=a.token)).json()["items"]

    cases = [
        (b, status_package(b, "G22-RULES", A, "04"), 409, "status.transition"),
        (c, status_package(c, "G22-RULES", A, "03"), 409, "status.transition"),
        (b, status_package(b, "G22-RULES", A, "15"), 409, "status.transition"),
        (b, status_package(b, "G22-RULES", C, "13"), 404, "not-found"),
        (a, status_package(a, "G22-RULES", B, "03"), 422, "status.not-allowed"),
        (b, status_package(b, "G22-RULES", A, "13"), 422, "status.not-allowed"),
        (d, status_package(d, "G22-RULES", A, "03"), 404, "not-found"),
        (b, status_package(b, "G22-NOPE", A, "03"), 404, "not-found"),
        (b, status_package(c, "G22-RULES", A, "03"), 403, "auth.sender-mismatch"),
        (
            b,
            c.sign(status_package(b, "G22-RULES", A, "05", signed=False)),
            422,
            "certificate.not-agency",
        ),
        (
            b,
            status_package(b, "G22-RULES", A, "05").replace(b"05<", b"04<"),
            422,
            "signature.invalid",
        ),
    ]
    for kit, raw, status, code in cases:
        response = await post_status(axis, kit, raw)
        assert (response.status, response.code) == (status, code), (kit.code, response.body)
    after = (await axis.call("GET", "/api/v1/statuses", token=a.token)).json()["items"]
    assert after == before


async def test_recipient_status_unsigned_is_accepted_and_resubmission_is_idempotent(
    axis: RunningAxis,
) -> None:
    a, b = await axis.register(A), await axis.register(B)
    await axis.submit(axis.signed(a, [B], document_id="G22-IDEM"), a)
    raw = status_package(b, "G22-IDEM", A, "03", signed=False)
    first, again = await post_status(axis, b, raw), await post_status(axis, b, raw)
    assert (first.status, again.status) == (202, 200)
    assert first.json()["status_id"] == again.json()["status_id"]
    feed = (await axis.call("GET", "/api/v1/statuses", token=a.token)).json()["items"]
    assert [s["status_code"] for s in feed] == ["03"]


async def test_inbox_pagination_and_foreign_inbox(axis: RunningAxis) -> None:
    a, b, c = [await axis.register(code) for code in (A, B, C)]
    ids = [(await axis.submit(axis.signed(a, [B]), a)).headers["Edoc-Axis-Id"] for _ in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (await axis.call("GET", f"/api/v1/inbox{query}", token=b.token)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids
    for path in (f"/api/v1/inbox/{ids[0]}", f"/api/v1/documents/{ids[0]}/trace"):
        response = await axis.call("GET", path, token=c.token)
        assert (response.status, response.code) == (404, "not-found")
    foreign_ack = await axis.call("POST", f"/api/v1/inbox/{ids[0]}/ack", token=c.token)
    assert (foreign_ack.status, foreign_ack.code) == (404, "not-found")
    bad = await axis.call("GET", "/api/v1/inbox?cursor=garbage", token=b.token)
    assert (bad.status, bad.code) == (400, "request.invalid")
    bad_limit = await axis.call("GET", "/api/v1/inbox?limit=0", token=b.token)
    assert (bad_limit.status, bad_limit.code) == (400, "request.invalid")
