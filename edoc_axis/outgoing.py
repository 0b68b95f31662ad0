"""How the axis's own HTTP clients pool their connections and carry large bodies: `edoc`,
the VDXP client, push delivery and relays to peer axes, and the bench's load generator.

A server closes a keep-alive connection once it has been idle for its limit. A
client that reuses a pooled connection at that very moment loses the request
("Server disconnected", or a reset), and a POST is not retried. The client is
safe only if it stops reusing a connection clearly before the server closes
it: aiohttp's default reuse window (15 s) equals the idle limit of axes made
before this was understood (``keepalive_timeout_s = 15.0``), which let one
request in many thousands fail under load (seen twice in `edoc-axis bench`).
So our clients reuse an idle connection for at most ``REUSE_IDLE_S``, and the
axis now keeps idle connections for 75 s (config.py), longer than the usual
clients' windows.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

REUSE_IDLE_S = 10.0
PIECE_BYTES = 1024 * 1024


def connector(**options: Any) -> aiohttp.TCPConnector:
    """A connection pool that never reuses a connection idle for ``REUSE_IDLE_S`` or more."""
    return aiohttp.TCPConnector(keepalive_timeout=REUSE_IDLE_S, **options)


Body = bytes | AsyncIterator[memoryview] | None


def request_body(data: bytes | None) -> tuple[Body, dict[str, str]]:
    """A request body aiohttp sends without copying it, and the headers it needs.

    aiohttp writes bytes in one call (what the socket does not take at once
    is copied into the transport's buffer; it warns past 1 MiB), and it
    copies a BytesIO whole when it measures it (``getbuffer()``). A body over
    PIECE_BYTES goes as views of it, a piece at a time, with its
    Content-Length (not chunked).
    """
    if data is None or len(data) <= PIECE_BYTES:
        return data, {}
    return _views(data), {"Content-Length": str(len(data))}


async def _views(data: bytes) -> AsyncIterator[memoryview]:
    view = memoryview(data)
    for start in range(0, len(view), PIECE_BYTES):
        yield view[start : start + PIECE_BYTES]


async def read_body(response: aiohttp.ClientResponse) -> bytes:
    """The answer's body, held once.

    ``response.read()`` joins the pieces it has gathered into new bytes, so a
    large document would be held twice for a moment. A BytesIO's ``getvalue()``
    hands over its own buffer instead.
    """
    length = response.content_length
    if length is not None and length <= PIECE_BYTES:
        return await response.read()
    buffer = io.BytesIO()
    async for piece in response.content.iter_chunked(PIECE_BYTES):
        buffer.write(piece)
    return buffer.getvalue()
