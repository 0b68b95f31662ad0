"""Our HTTP clients (`edoc`'s and the VDXP one) send and read a large body without a copy.

aiohttp copies a BytesIO body whole when it measures it, writes a bytes body in
one call, and joins an answer it reads into new bytes: each held a 50 MiB
document twice in the agency's process.
"""

from __future__ import annotations

import hashlib
import os
import tracemalloc
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from edoc_axis.client import AxisClient
from edoc_axis.vdxp_client import VdxpClient

MIB = 1024 * 1024
LARGE = os.urandom(16 * MIB)


async def _count(request: web.Request) -> web.Response:
    """What arrived, without keeping it."""
    digest, size = hashlib.sha256(), 0
    async for piece in request.content.iter_chunked(MIB):
        digest.update(piece)
        size += len(piece)
    return web.json_response(
        {
            "sha256": digest.hexdigest(),
            "size": size,
            "content_length": request.headers.get("Content-Length"),
            "chunked": "Transfer-Encoding" in request.headers,
        }
    )


async def _large(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    response.content_length = len(LARGE)
    await response.prepare(request)
    view = memoryview(LARGE)
    for start in range(0, len(view), MIB):
        await response.write(view[start : start + MIB])
    return response


@pytest.fixture
async def server() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/{tail:.*}", _count)
    app.router.add_get("/large", _large)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def _traced_peak_start() -> None:
    tracemalloc.start()
    tracemalloc.reset_peak()


def _traced_peak_stop() -> int:
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def _arrived_whole(answer: dict[str, object]) -> None:
    assert answer["sha256"] == hashlib.sha256(LARGE).hexdigest()
    assert answer["size"] == len(LARGE)
    # Announced by its length, so the axis's byte budget can judge it at once.
    assert (answer["content_length"], answer["chunked"]) == (str(len(LARGE)), False)


async def test_the_axis_client_sends_a_large_body_without_copying_it(server: str) -> None:
    async with AxisClient(server, "token") as client:
        _traced_peak_start()
        try:
            response = await client.submit(LARGE)
        finally:
            peak = _traced_peak_stop()
    _arrived_whole(response.json())
    assert peak < 4 * MIB  # the server's pieces; a BytesIO body cost 16 MiB more


async def test_the_axis_client_reads_a_large_answer_holding_it_once(server: str) -> None:
    async with AxisClient(server, "token") as client:
        _traced_peak_start()
        try:
            response = await client.request("GET", "/large")
        finally:
            peak = _traced_peak_stop()
    assert response.body == LARGE
    assert peak < len(LARGE) + 4 * MIB  # response.read() held it twice


async def test_the_vdxp_client_sends_a_large_file_without_copying_it(server: str) -> None:
    async with aiohttp.ClientSession() as session:
        client = VdxpClient(session, server + "/vdxp", "system", "secret", "stamp")
        _traced_peak_start()
        try:
            answer = await client.raw_call("sendEdoc", {"Content-Type": "x"}, body=LARGE)
        finally:
            peak = _traced_peak_stop()
    _arrived_whole(answer.json())
    assert peak < 4 * MIB
