"""`edoc receive`'s receiver: many documents per fetch, one at a time from an axis without it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from edoc_axis.cli import receive_store
from edoc_axis.cli.receive_store import Receiver, ReceiveStore
from edoc_axis.client import AxisClient
from edoc_axis.errors import NotFound
from edoc_axis.server import inbox as inbox_routes
from edoc_axis.signature import VerificationPolicy
from tests.integration.server.conftest import RunningAxis, serve_axis

A, B = "000.00.00.G22", "000.00.00.H49"


async def _send(axis: RunningAxis, count: int) -> tuple[str, dict[str, bytes]]:
    a, b = await axis.register(A), await axis.register(B)
    sent = {}
    for _ in range(count):
        raw = axis.signed(a, [B])
        sent[(await axis.submit(raw, a)).headers["Edoc-Axis-Id"]] = raw
    return b.token, sent


def _saved_bytes(result: dict[str, Any]) -> bytes:
    return Path(result["path"]).read_bytes()


def _out_folder(path: Path) -> ReceiveStore:
    path.mkdir()  # as `edoc receive --out` makes it
    return ReceiveStore(path)


async def _receive_all(
    axis: RunningAxis, token: str, ids: list[str], out: Path
) -> list[dict[str, Any]]:
    receiver = Receiver(_out_folder(out), VerificationPolicy())
    async with AxisClient(axis.url, token) as client:
        return [result async for result in receiver.receive_many(client, ids)]


async def test_documents_come_in_batches_and_are_saved_exactly(
    axis: RunningAxis, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(receive_store, "FETCH_BATCH", 2)  # 5 documents: three requests
    token, sent = await _send(axis, 5)
    ids = [*sent, "01nosuchdocument000000000", "../etc/passwd"]
    results = await _receive_all(axis, token, ids, tmp_path / "out")
    by_id = {r["id"]: r for r in results}
    assert sorted(by_id) == sorted(ids)
    for axis_id, raw in sent.items():
        assert by_id[axis_id]["outcome"] == "saved"
        assert _saved_bytes(by_id[axis_id]) == raw
    assert by_id[ids[-2]]["outcome"] == "failed" and by_id[ids[-2]]["code"] == "not-found"
    assert by_id[ids[-1]]["outcome"] == "refused"


async def test_an_axis_without_batch_fetch_is_asked_one_document_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def no_batch_fetch(request: web.Request) -> web.Response:
        raise NotFound("no such resource")  # as an axis from before the batch resource

    monkeypatch.setattr(inbox_routes, "fetch_batch", no_batch_fetch)
    async with serve_axis(tmp_path, lambda config: config) as axis:
        token, sent = await _send(axis, 3)
        async with AxisClient(axis.url, token) as client:
            response, parts = await client.inbox_documents(list(sent))
            assert (response.status, parts) == (404, [])
        results = await _receive_all(axis, token, list(sent), tmp_path / "out")
    assert [r["outcome"] for r in results] == ["saved"] * 3
    for result in results:
        assert _saved_bytes(result) == sent[result["id"]]
