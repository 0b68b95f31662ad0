"""`edoc receive` acknowledges what it saved many at a time, and copes with an axis
that answers the batch only in part or does not know the batch route."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from edoc_axis.cli.receive_store import acknowledge_saved, outcome
from edoc_axis.client import AxisClient


class FakeAxis:
    """An HTTP peer speaking the two acknowledgement routes, recording what it was asked."""

    def __init__(self, *, batch: bool) -> None:
        self.batch = batch
        self.calls: list[str] = []

    async def ack_many(self, request: web.Request) -> web.Response:
        ids = (await request.json())["ids"]
        self.calls.append(f"batch {len(ids)}")
        if not self.batch:
            raise web.HTTPNotFound()
        items = [
            {"id": i, "error": {"code": "not-found", "detail": f"no document {i}"}}
            if i.startswith("gone")
            else {"id": i, "state": "acknowledged", "status_code": "01"}
            for i in ids
        ]
        return web.json_response({"items": items})

    async def ack_one(self, request: web.Request) -> web.Response:
        self.calls.append(f"one {request.match_info['axis_id']}")
        return web.json_response({"id": request.match_info["axis_id"], "state": "acknowledged"})


@pytest.fixture(params=[True, False], ids=["batch", "no-batch-route"])
async def peer(request: pytest.FixtureRequest) -> AsyncIterator[tuple[FakeAxis, str]]:
    fake = FakeAxis(batch=request.param)
    app = web.Application()
    app.router.add_post("/api/v1/inbox/ack", fake.ack_many)
    app.router.add_post("/api/v1/inbox/{axis_id}/ack", fake.ack_one)
    server = TestServer(app)
    await server.start_server()
    yield fake, str(server.make_url(""))
    await server.close()


async def test_saved_documents_are_acknowledged_together(peer: tuple[FakeAxis, str]) -> None:
    fake, url = peer
    saved = [outcome(i, "saved", path=f"{i}.edxml") for i in ("a1", "gone2", "a3")]
    async with AxisClient(url, "token") as client:
        ended = await acknowledge_saved(client, saved)
    if fake.batch:
        assert fake.calls == ["batch 3"]
        assert [r["outcome"] for r in ended] == ["saved", "failed", "saved"]
        assert ended[1]["code"] == "not-found"
    else:  # an older axis: one request per document
        assert fake.calls == ["batch 3", "one a1", "one gone2", "one a3"]
        assert [r["outcome"] for r in ended] == ["saved", "saved", "saved"]


async def test_nothing_saved_asks_nothing(peer: tuple[FakeAxis, str]) -> None:
    fake, url = peer
    async with AxisClient(url, "token") as client:
        assert await acknowledge_saved(client, []) == []
    assert fake.calls == []
