"""POST /api/v1/inbox/fetch: many inbox documents in one answer, each with its exact bytes."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os

import aiohttp
import pytest

from edoc_axis.client import AxisClient, MultipartInvalid, split_multipart
from edoc_axis.edxml import Attachment
from edoc_axis.errors import NotFound
from edoc_axis.server import inbox as inbox_routes
from edoc_axis.store.records import PIECEWISE_BYTES
from tests.integration.server.conftest import Response, RunningAxis

A, B, C = "000.00.00.G22", "000.00.00.H49", "000.00.00.G14"


async def test_a_batch_fetch_gives_each_documents_exact_bytes_in_order(axis: RunningAxis) -> None:
    a, b, _ = [await axis.register(code) for code in (A, B, C)]
    sent = [axis.signed(a, [B]) for _ in range(2)]
    sent.append(
        axis.signed(a, [B], attachments=[Attachment.from_bytes("cid:1", "x.bin", b"\0" * 3000)])
    )
    mine = [(await axis.submit(raw, a)).headers["Edoc-Axis-Id"] for raw in sent]
    only_c = (await axis.submit(axis.signed(a, [C]), a)).headers["Edoc-Axis-Id"]

    asked = [mine[0], only_c, *mine[1:], mine[0]]
    async with AxisClient(axis.url, b.token) as client:
        response, parts = await client.inbox_documents(asked)
    assert response.status == 200 and response.headers["Edoc-Fetch-Left"] == "0"
    assert [part.axis_id for part in parts] == [mine[0], only_c, *mine[1:]]  # twice: once
    by_id = {part.axis_id: part for part in parts}
    for axis_id, raw in zip(mine, sent, strict=True):
        part = by_id[axis_id]
        assert part.ok and part.body == raw
        assert part.headers["edoc-sha256"] == hashlib.sha256(raw).hexdigest()
        assert part.headers["edoc-sender"] == A
    refused = by_id[only_c]  # C's document is not in B's inbox: refused alone, no bytes
    assert not refused.ok and json.loads(refused.body)["code"] == "not-found"
    assert refused.as_response().code == "not-found"

    # fetching acknowledges nothing: the documents still wait, no 01 was made
    waiting = (await axis.call("GET", "/api/v1/inbox", token=b.token)).json()["items"]
    assert sorted(item["id"] for item in waiting) == sorted(mine)
    feed = (await axis.call("GET", "/api/v1/statuses", token=a.token)).json()["items"]
    assert feed == []


async def test_an_answer_stops_at_its_byte_limit_and_says_what_is_left(
    axis: RunningAxis, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = await axis.register(A), await axis.register(B)
    sent = [axis.signed(a, [B]) for _ in range(4)]
    ids = [(await axis.submit(raw, a)).headers["Edoc-Axis-Id"] for raw in sent]
    monkeypatch.setattr(inbox_routes, "MAX_FETCH_BYTES", len(sent[0]) + len(sent[1]) + 10)
    async with AxisClient(axis.url, b.token) as client:
        response, parts = await client.inbox_documents(ids)
        assert response.headers["Edoc-Fetch-Left"] == "2"
        assert [p.body for p in parts] == sent[:2]
        monkeypatch.setattr(inbox_routes, "MAX_FETCH_BYTES", 1)  # the first always comes
        response, parts = await client.inbox_documents(ids[2:])
        assert response.headers["Edoc-Fetch-Left"] == "1"
        assert [p.body for p in parts] == sent[2:3]


async def test_a_malformed_fetch_is_refused_whole(axis: RunningAxis) -> None:
    b = await axis.register(B)
    bodies: list[object] = [{}, {"ids": []}, {"ids": "x"}, {"ids": [1]}, [], {"ids": ["x"] * 101}]
    for body in bodies:
        response = await axis.call(
            "POST", "/api/v1/inbox/fetch", token=b.token, data=json.dumps(body).encode()
        )
        assert (response.status, response.code) == (400, "schema.invalid"), body
    response = await axis.call("POST", "/api/v1/inbox/fetch", token=None, data=b'{"ids": ["x"]}')
    assert response.status == 401


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"--b\r\nContent-Length: 3\r\n\r\nabc\r\n--b--\r\n", "application/json"),
        (b"--b\r\nContent-Length: 3\r\n\r\nabc\r\n--b--\r\n", "multipart/mixed"),
        (b"--b\r\nContent-Type: a/b\r\n\r\nabc\r\n--b--\r\n", "multipart/mixed; boundary=b"),
        (b"--b\r\nContent-Length: 9\r\n\r\nabc\r\n--b--\r\n", "multipart/mixed; boundary=b"),
        (b"--b\r\nno colon\r\n\r\nabc\r\n--b--\r\n", "multipart/mixed; boundary=b"),
        (b"--c\r\nContent-Length: 3\r\n\r\nabc\r\n--b--\r\n", "multipart/mixed; boundary=b"),
        (b"--b\r\nContent-Length: 3\r\n\r\nabc\r\n", "multipart/mixed; boundary=b"),
    ],
)
def test_the_client_refuses_an_answer_it_cannot_take_apart_exactly(
    body: bytes, content_type: str
) -> None:
    with pytest.raises(MultipartInvalid):
        split_multipart(body, content_type)


def test_the_client_takes_each_body_by_its_length() -> None:
    body = b"--b\r\nContent-Length: 10\r\nEdoc-Axis-Id: 1\r\n\r\nx\r\n--b--\r\n\r\n--b--\r\n"
    [part] = split_multipart(body, 'multipart/mixed; boundary="b"')
    assert (part.axis_id, part.body) == ("1", b"x\r\n--b--\r\n")


async def test_an_answer_is_sent_within_its_agencys_slot_and_keeps_its_request_id(
    axis: RunningAxis,
) -> None:
    a, b, c = [await axis.register(code) for code in (A, B, C)]
    for_b = (await axis.submit(axis.signed(a, [B]), a)).headers["Edoc-Axis-Id"]
    for_c = (await axis.submit(axis.signed(a, [C]), a)).headers["Edoc-Axis-Id"]
    slots = axis.services.batch_fetches

    async def fetch(token: str, axis_id: str) -> Response:
        return await axis.call(
            "POST",
            "/api/v1/inbox/fetch",
            token=token,
            json_body={"ids": [axis_id]},
            headers={"X-Request-Id": "fetch-" + axis_id},
        )

    async with contextlib.AsyncExitStack() as held:
        for _ in range(slots.per_agency):  # B's batch fetches all busy
            await held.enter_async_context(slots.slot(B))
        waiting = asyncio.create_task(fetch(b.token, for_b))
        other = await fetch(c.token, for_c)  # another agency is not held up
        assert other.status == 200, other.headers
        assert other.headers["X-Request-ID"] == "fetch-" + for_c, other.headers
        assert not waiting.done()
    answer = await waiting
    assert answer.status == 200 and answer.headers["X-Request-ID"] == "fetch-" + for_b
    [part] = split_multipart(answer.body, answer.headers["Content-Type"])
    assert part.axis_id == for_b and part.ok


async def test_a_large_document_comes_whole_by_every_way_of_fetching_it(axis: RunningAxis) -> None:
    # Over PIECEWISE_BYTES: each answer reads it from the store a piece at a time.
    a, b = await axis.register(A), await axis.register(B)
    attachment = Attachment.from_bytes("cid:1", "big.bin", os.urandom(2_500_000))
    large = axis.signed(a, [B], attachments=[attachment])
    small = axis.signed(a, [B])
    assert len(large) >= 3 * PIECEWISE_BYTES
    large_id = (await axis.submit(large, a)).headers["Edoc-Axis-Id"]
    small_id = (await axis.submit(small, a)).headers["Edoc-Axis-Id"]

    got = await axis.call("GET", f"/api/v1/inbox/{large_id}", token=b.token)
    assert got.status == 200 and got.body == large
    assert got.headers["Content-Length"] == str(len(large))
    assert got.headers["Edoc-Sha256"] == hashlib.sha256(large).hexdigest()
    own = await axis.call("GET", f"/api/v1/documents/{large_id}", token=a.token)
    assert own.status == 200 and own.body == large
    async with AxisClient(axis.url, b.token) as client:
        response, parts = await client.inbox_documents([large_id, small_id])
    assert response.status == 200 and response.headers["Edoc-Fetch-Left"] == "0"
    assert [(p.axis_id, p.body) for p in parts] == [(large_id, large), (small_id, small)]
    assert response.headers.get("Transfer-Encoding") == "chunked"  # a part of unknown size


async def test_a_large_answer_the_store_fails_midway_is_cut_short(
    axis: RunningAxis, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Its head has gone with a Content-Length; a refusal cannot follow, so the
    # connection is cut short of it and the client cannot mistake it for whole.
    a, b = await axis.register(A), await axis.register(B)
    attachment = Attachment.from_bytes("cid:1", "big.bin", os.urandom(2_500_000))
    large = axis.signed(a, [B], attachments=[attachment])
    large_id = (await axis.submit(large, a)).headers["Edoc-Axis-Id"]
    real_piece = axis.store.document_piece

    async def failing_after_the_first(sha256: str, offset: int, length: int) -> bytes:
        if offset > 0:
            raise NotFound("the stored bytes are gone")  # a refusal, after the head
        return await real_piece(sha256, offset, length)

    monkeypatch.setattr(axis.store, "document_piece", failing_after_the_first)
    with pytest.raises(aiohttp.ClientPayloadError):
        await axis.call("GET", f"/api/v1/inbox/{large_id}", token=b.token)
    with pytest.raises(aiohttp.ClientPayloadError):  # its part in a batch fetch, the same
        await axis.call("POST", "/api/v1/inbox/fetch", token=b.token, json_body={"ids": [large_id]})
    monkeypatch.undo()
    again = await axis.call("GET", f"/api/v1/inbox/{large_id}", token=b.token)
    assert again.status == 200 and again.body == large
