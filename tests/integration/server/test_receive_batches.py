"""`edoc receive`'s receiver: many documents per fetch, one at a time from an axis without it."""

from __future__ import annotations

import base64
import io
import random
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from edoc_axis.cli import receive_store
from edoc_axis.cli.receive_store import Receiver, ReceiveStore
from edoc_axis.client import AxisClient
from edoc_axis.edxml import Attachment
from edoc_axis.errors import NotFound
from edoc_axis.server import inbox as inbox_routes
from edoc_axis.signature import VerificationPolicy
from tests.integration.server.conftest import AgencyKit, RunningAxis, serve_axis

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


def _attachment_bytes(result: dict[str, Any]) -> list[bytes]:
    return [Path(path).read_bytes() for path in result["attachments"]]


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


MIB = 1024 * 1024


def _large_file(seed: int, size: int = 2 * MIB + 12_345) -> bytes:
    return random.Random(seed).randbytes(size)  # its base64 over 1 MiB: set aside


async def _send_with(axis: RunningAxis, sender: AgencyKit, *attachments: Attachment) -> str:
    raw = axis.signed(sender, [B], attachments=list(attachments))
    return str((await axis.submit(raw, sender)).headers["Edoc-Axis-Id"])


async def test_large_documents_are_fetched_alone_and_their_attachments_saved_exactly(
    axis: RunningAxis, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[list[str]] = []
    inbox_documents = AxisClient.inbox_documents

    async def recording(client: AxisClient, axis_ids: list[str]) -> Any:
        asked.append(axis_ids)
        return await inbox_documents(client, axis_ids)

    monkeypatch.setattr(AxisClient, "inbox_documents", recording)
    files = {
        "small-1": [Attachment.from_bytes("cid:1", "a.txt", b"nho")],
        "sdk-zip": [Attachment.from_bytes("cid:1", "qd.pdf", _large_file(1), zip=True)],
        "small-2": [],
        "plain": [
            Attachment.from_bytes("cid:1", "qd.pdf", _large_file(2)),
            # A file the sender named .zip is saved as it is, not unwrapped.
            Attachment.from_bytes("cid:2", "ho-so.zip", _large_file(3), zip=True),
        ],
    }
    a, b = await axis.register(A), await axis.register(B)
    ids = {name: await _send_with(axis, a, *attachments) for name, attachments in files.items()}
    receiver = Receiver(_out_folder(tmp_path / "out"), VerificationPolicy())
    async with AxisClient(axis.url, b.token) as client:
        sizes = {item["id"]: item["size"] for item in await receive_store.waiting(client)}
        results = [r async for r in receiver.receive_many(client, [*ids.values()], sizes)]
        sent = {axis_id: (await client.inbox_document(axis_id)).body for axis_id in ids.values()}
    assert [r["outcome"] for r in results] == ["saved"] * 4
    assert asked == [[ids["small-1"]], [ids["small-2"]]]  # the large ones alone, by GET
    for result in results:
        assert _saved_bytes(result) == sent[result["id"]]
    saved = {result["id"]: _attachment_bytes(result) for result in results}
    for name, attachments in files.items():
        assert saved[ids[name]] == [attachment.data() for attachment in attachments], name
    assert saved[ids["sdk-zip"]] == [_large_file(1)]  # the SDK's one-entry ZIP unwrapped


async def test_a_large_document_is_received_holding_it_about_once(
    axis: RunningAxis, tmp_path: Path
) -> None:
    a, b = await axis.register(A), await axis.register(B)
    data = _large_file(4, 8 * MIB)
    axis_id = await _send_with(axis, a, Attachment.from_bytes("cid:1", "qd.pdf", data, zip=True))
    receiver = Receiver(_out_folder(tmp_path / "out"), VerificationPolicy())
    async with AxisClient(axis.url, b.token) as client:
        size = (await receive_store.waiting(client))[0]["size"]
        tracemalloc.start()
        try:
            results = [r async for r in receiver.receive_many(client, [axis_id], {axis_id: size})]
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert [r["outcome"] for r in results] == ["saved"]
    assert _attachment_bytes(results[0]) == [data]
    # The document once, and pieces of 1 MiB. It was held about 4 times (its
    # answer read and joined, its attachment's text, decoded, then unzipped).
    assert peak < size + 8 * MIB


async def test_an_attachment_that_cannot_be_unwrapped_refuses_the_document_leaving_nothing(
    axis: RunningAxis, tmp_path: Path
) -> None:
    a, b = await axis.register(A), await axis.register(B)
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("qd.doc", bytes(64 * MIB))  # 64 MiB of zeros in ~64 KB
    axis_id = await _send_with(
        axis,
        a,
        Attachment.from_bytes("cid:1", "fine.txt", b"written first"),
        # Named .doc, so read as the SDK's one-entry ZIP: the bomb is found while saving.
        Attachment("cid:2", "application/msword", "qd.doc", None, encode_base64(bomb)),
    )
    out = tmp_path / "out"
    receiver = Receiver(_out_folder(out), VerificationPolicy())
    receiver.store.prepare()  # as `edoc receive` does: refused/ too
    async with AxisClient(axis.url, b.token) as client:
        (result,) = [r async for r in receiver.receive_many(client, [axis_id])]
        still_waiting = [item["id"] for item in await receive_store.waiting(client)]
    assert (result["outcome"], result["code"]) == ("refused", "schema.invalid")
    assert "expands more than" in result["detail"]
    assert Path(result["path"]) == out / "refused" / f"{axis_id}.edxml"
    assert sorted(p.name for p in (out / axis_id).iterdir()) == []  # "fine.txt" taken back
    assert not (out / f"{axis_id}.edxml").exists()
    assert still_waiting == [axis_id]  # not acknowledged: the caller acks only what it saved


def encode_base64(buffer: io.BytesIO) -> str:
    return base64.b64encode(buffer.getvalue()).decode("ascii")
