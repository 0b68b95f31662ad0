"""Reading request bodies with the size limit enforced while they stream in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import BodyPartReader, web

from edoc_axis.errors import MediaUnsupported, PayloadTooLarge, SchemaInvalid, Unavailable

XML_TYPES = ("application/xml", "text/xml")
MULTIPART = "multipart/form-data"
REFERENCE_PART = "file_doc"  # the reference SDK's transport puts the package here
_CHUNK = 256 * 1024


class InflightBudget:
    """Bytes of request bodies the process holds at once (``[limits] max_inflight_bytes``).

    A body takes from the budget as it streams in and gives everything back
    when its request ends; one that does not fit is refused with 503 and
    Retry-After, so several large bodies at once slow down instead of running
    the process out of memory. A body is always admitted when nothing else
    is in flight, so one document up to ``max_body_bytes`` always gets
    through. Used from the event loop only.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def lease(self) -> BodyLease:
        return BodyLease(self)


class BodyLease:
    """One request's share of the in-flight budget; ``release`` when the request ends."""

    def __init__(self, budget: InflightBudget) -> None:
        self._budget = budget
        self.held = 0

    def take(self, size: int) -> None:
        budget = self._budget
        if budget.used > self.held and budget.used + size > budget.limit:
            raise Unavailable(
                f"the axis holds {budget.used} bytes of request bodies (budget "
                f"{budget.limit}); retry shortly",
                retry_after_s=1,
            )
        budget.used += size
        self.held += size

    def release(self) -> None:
        self._budget.used -= self.held
        self.held = 0


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"body exceeds the limit of {limit} bytes")


async def _read_stream(
    read_chunk: Callable[[int], Awaitable[bytes]],
    limit: int,
    lease: BodyLease | None,
    expected: int | None,
) -> bytes:
    """The body; the lease grows with it (by the declared length at once, when there is one)."""
    buffer = bytearray()
    if expected is not None and lease is not None:
        lease.take(expected)
    while True:
        chunk = await read_chunk(_CHUNK)
        if not chunk:
            return bytes(buffer)
        if len(buffer) + len(chunk) > limit:
            raise _too_large(limit)
        if lease is not None and len(buffer) + len(chunk) > lease.held:
            lease.take(len(buffer) + len(chunk) - lease.held)
        buffer += chunk


async def read_package_body(
    request: web.Request, limit: int, lease: BodyLease | None = None
) -> bytes:
    """The package bytes from an XML body or the reference multipart form.

    A declared Content-Length over the limit is refused before reading; the
    streamed total is checked as it grows, so a lying client gets no further.
    """
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(limit)
    content_type = request.content_type
    if content_type in XML_TYPES:
        return await _read_stream(request.content.read, limit, lease, request.content_length)
    if content_type == MULTIPART:
        return await _read_multipart(request, limit, lease)
    raise MediaUnsupported(
        f"content type {content_type or '(none)'} not accepted; "
        "use application/xml or multipart/form-data with a file_doc part"
    )


async def read_stream_body(
    request: web.Request, limit: int, lease: BodyLease | None = None
) -> bytes:
    """The whole body whatever its content type, within ``limit``."""
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(limit)
    return await _read_stream(request.content.read, limit, lease, request.content_length)


async def _read_multipart(request: web.Request, limit: int, lease: BodyLease | None) -> bytes:
    reader = await request.multipart()
    while True:
        part = await reader.next()
        if part is None:
            raise SchemaInvalid(f"multipart body has no {REFERENCE_PART} part")
        if isinstance(part, BodyPartReader) and part.name == REFERENCE_PART:
            return await _read_stream(part.read_chunk, limit, lease, None)
        if isinstance(part, BodyPartReader):
            await part.release()
