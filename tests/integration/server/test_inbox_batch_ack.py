"""POST /api/v1/inbox/ack: many delivery receipts in one request, each as its own /ack."""

from __future__ import annotations

import json

from tests.integration.server.conftest import RunningAxis

A, B, C = "000.00.00.G22", "000.00.00.H49", "000.00.00.G14"


async def _batch(axis: RunningAxis, token: str, body: object) -> tuple[int, dict[str, object]]:
    response = await axis.call(
        "POST", "/api/v1/inbox/ack", token=token, data=json.dumps(body).encode()
    )
    return response.status, response.json()


async def test_a_batch_acknowledges_each_document_once_with_its_01(axis: RunningAxis) -> None:
    a, b, c = [await axis.register(code) for code in (A, B, C)]
    mine = [(await axis.submit(axis.signed(a, [B]), a)).headers["Edoc-Axis-Id"] for _ in range(3)]
    only_c = (await axis.submit(axis.signed(a, [C]), a)).headers["Edoc-Axis-Id"]

    asked = [mine[0], only_c, mine[1], "01nosuchdocument000000000", mine[2], mine[0]]
    status, answer = await _batch(axis, b.token, {"ids": asked})
    assert status == 200
    items = answer["items"]
    assert isinstance(items, list)
    assert [item["id"] for item in items] == [mine[0], only_c, mine[1], asked[3], mine[2]]
    by_id = {item["id"]: item for item in items}
    for axis_id in mine:
        assert by_id[axis_id] == {"id": axis_id, "state": "acknowledged", "status_code": "01"}
    for foreign in (only_c, asked[3]):  # C's document is not in B's inbox: refused alone
        assert by_id[foreign]["error"]["code"] == "not-found"

    inbox = (await axis.call("GET", "/api/v1/inbox", token=b.token)).json()["items"]
    assert inbox == []
    feed = (await axis.call("GET", "/api/v1/statuses", token=a.token)).json()["items"]
    assert sorted(s["id"] for s in feed if s["status_code"] == "01") == sorted(mine)
    c_inbox = (await axis.call("GET", "/api/v1/inbox", token=c.token)).json()["items"]
    assert [item["id"] for item in c_inbox] == [only_c]  # untouched by B's batch

    status, again = await _batch(axis, b.token, {"ids": mine})  # idempotent, no second 01
    assert status == 200 and all(item["status_code"] == "01" for item in again["items"])
    feed = (await axis.call("GET", "/api/v1/statuses", token=a.token)).json()["items"]
    assert len([s for s in feed if s["status_code"] == "01"]) == 3


async def test_a_malformed_batch_is_refused_whole(axis: RunningAxis) -> None:
    b = await axis.register(B)
    for body in ({}, {"ids": []}, {"ids": "x"}, {"ids": [1]}, [], {"ids": ["x"] * 501}):
        status, answer = await _batch(axis, b.token, body)
        assert (status, answer["code"]) == (400, "schema.invalid"), body
    response = await axis.call("POST", "/api/v1/inbox/ack", token=b.token, data=b"{nope")
    assert (response.status, response.code) == (400, "schema.invalid")
    huge = json.dumps({"ids": ["x" * 1000] * 300}).encode()  # over 256 KiB
    response = await axis.call("POST", "/api/v1/inbox/ack", token=b.token, data=huge)
    assert (response.status, response.code) == (413, "payload.too-large")
    response = await axis.call("POST", "/api/v1/inbox/ack", token=None, data=b'{"ids": ["x"]}')
    assert response.status == 401
