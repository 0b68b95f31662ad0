"""A stored document's exact bytes as an answer: whole when small, a piece at a time when large.

A 50 MiB document read whole costs the process twice its size for as long as
the answer is being sent, for every recipient fetching one at once. A document
of ``PIECEWISE_BYTES`` or more is instead read from the store one piece at a
time as the client takes the last one (``response.write`` waits while the
connection's buffer is full), with its Content-Length announced: a store
error midway closes the connection short of it, never a complete-looking
answer.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import structlog
from aiohttp import web

from edoc_axis.server.problems import REQUEST_ID
from edoc_axis.store import Store, StoredDocument
from edoc_axis.store.base import document_pieces
from edoc_axis.store.records import PIECEWISE_BYTES

log = structlog.get_logger(__name__)


def is_large(document: StoredDocument) -> bool:
    """Whether the document is read a piece at a time rather than whole."""
    return document.size >= PIECEWISE_BYTES


async def send_document(
    request: web.Request,
    store: Store,
    document: StoredDocument,
    raw: bytes | None,
    *,
    content_type: str,
    headers: Mapping[str, str],
) -> web.StreamResponse:
    """The exact bytes: ``raw`` (or a read of them) when small, pieces when large."""
    if not is_large(document):
        body = raw if raw is not None else await store.document_bytes(document.axis_id)
        return web.Response(body=body, content_type=content_type, headers=headers)
    return await _stream(
        request, document_pieces(store, document), document.size, content_type, headers
    )


async def send_document_base64_in_json(
    request: web.Request,
    store: Store,
    document: StoredDocument,
    before: Mapping[str, Any],
    field: str,
    after: Mapping[str, Any],
) -> web.StreamResponse:
    """``{**before, field: base64 of the bytes, **after}`` as ``web.json_response`` writes it.

    For a large document the base64 is written a piece at a time: the JSON
    holding it (4/3 of the document, then decoded and encoded again) is never
    built.
    """
    if not is_large(document):
        raw = await store.document_bytes(document.axis_id)
        encoded = base64.b64encode(raw).decode("ascii")
        return web.json_response({**before, field: encoded, **after})
    head = json.dumps({**before, field: ""})[: -len('""}')].encode("utf-8") + b'"'
    tail = b'"' + (", " + json.dumps(after)[1:] if after else "}").encode("utf-8")
    encoded_size = (document.size + 2) // 3 * 4

    async def pieces() -> AsyncIterator[bytes]:
        yield head
        async for piece in _base64(document_pieces(store, document)):
            yield piece
        yield tail

    size = len(head) + encoded_size + len(tail)
    return await _stream(request, pieces(), size, "application/json", {})


async def _base64(pieces: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The base64 of the concatenated pieces, encoded as they come (3-byte groups carried over)."""
    carry = b""
    async for piece in pieces:
        data = carry + piece
        whole = len(data) // 3 * 3
        carry = data[whole:]
        if whole:
            yield base64.b64encode(data[:whole])
    if carry:
        yield base64.b64encode(carry)


async def _stream(
    request: web.Request,
    pieces: AsyncIterator[bytes],
    size: int,
    content_type: str,
    headers: Mapping[str, str],
) -> web.StreamResponse:
    response = web.StreamResponse(headers=headers)
    response.content_type = content_type
    response.content_length = size
    if REQUEST_ID in request:  # the middleware's header comes too late for a sent answer
        response.headers["X-Request-Id"] = request[REQUEST_ID]
    await response.prepare(request)
    try:
        async for piece in pieces:
            await response.write(piece)
    except Exception as exc:
        cut_short(request, exc)
        return response
    await response.write_eof()
    return response


def cut_short(request: web.Request, exc: Exception) -> None:
    """An answer failed after its head went: close the connection short of its end.

    No refusal can follow a head already sent (aiohttp would write it into the
    body), and a client must not take what came for the whole answer.
    """
    log.warning("answer.cut_short", path=request.path, error=repr(exc))
    if request.transport is not None:
        request.transport.abort()
