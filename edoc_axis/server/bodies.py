"""Reading request bodies: the size limit, the in-flight budget and the pace, while they stream in.

A body is charged to the budget by the bytes that actually arrived (a declared
Content-Length reserves nothing), and it must keep coming: a pause longer than
``body_idle_timeout_s``, or falling below ``body_min_rate_bytes_per_s`` after
that grace, ends the request with 408 ``request.timeout``. A multipart body is
read whole under the same rules, every part counted, then parsed in memory in
one linear pass; only the reference part ``file_doc`` is accepted.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from typing import Any

from aiohttp import StreamReader, web

from edoc_axis.errors import (
    MediaUnsupported,
    PayloadTooLarge,
    RequestInvalid,
    RequestTimeout,
    SchemaInvalid,
    Unavailable,
)

XML_TYPES = ("application/xml", "text/xml")
MULTIPART = "multipart/form-data"
REFERENCE_PART = "file_doc"  # the reference SDK's transport puts the package here
_CHUNK = 256 * 1024
# Boundaries and part headers around the package; the package itself still
# gets the whole max_body_bytes.
MULTIPART_SLACK = 64 * 1024
_MAX_PART_HEAD = 8 * 1024


class InflightBudget:
    """Bytes of request bodies the process holds at once (``[limits] max_inflight_bytes``).

    A body takes from the budget as its bytes arrive and gives everything back
    when its request ends; one that does not fit is refused with 503 and
    Retry-After, so several large bodies at once slow down instead of running
    the process out of memory. One agency holds at most ``per_agency`` of it
    (0: no share), so that its own uploads cannot shut out the others. A body
    is always admitted when nothing else is in flight (for the whole budget)
    or nothing else of its agency (for the share), so one document up to
    ``max_body_bytes`` always gets through. Used from the event loop only.
    """

    def __init__(self, limit: int, per_agency: int = 0) -> None:
        self.limit = limit
        self.per_agency = per_agency
        self.used = 0
        self.by_agency: dict[str, int] = {}

    def lease(self, agency: str = "") -> BodyLease:
        return BodyLease(self, agency)


class BodyLease:
    """One request's share of the in-flight budget; ``release`` when the request ends."""

    def __init__(self, budget: InflightBudget, agency: str) -> None:
        self._budget = budget
        self._agency = agency
        self.held = 0

    def take(self, size: int) -> None:
        budget = self._budget
        if budget.used > self.held and budget.used + size > budget.limit:
            raise Unavailable(
                f"the axis holds {budget.used} bytes of request bodies (budget "
                f"{budget.limit}); retry shortly",
                retry_after_s=1,
            )
        mine = budget.by_agency.get(self._agency, 0)
        if budget.per_agency and mine > self.held and mine + size > budget.per_agency:
            raise Unavailable(
                f"agency {self._agency} has {mine} bytes of request bodies in flight (its "
                f"share is {budget.per_agency}); retry shortly",
                retry_after_s=1,
            )
        budget.used += size
        budget.by_agency[self._agency] = mine + size
        self.held += size

    def release(self) -> None:
        budget = self._budget
        budget.used -= self.held
        left = budget.by_agency.get(self._agency, 0) - self.held
        if left > 0:
            budget.by_agency[self._agency] = left
        else:
            budget.by_agency.pop(self._agency, None)
        self.held = 0


@dataclass(frozen=True)
class BodyPace:
    """How long a body may pause, and the rate it must keep after the first pause's length."""

    idle_timeout_s: float = 15.0
    min_rate_bytes_per_s: float = 8192.0

    def wait_s(self, received: int, elapsed_s: float) -> float:
        """How long the next read may wait; 0 or less means the body is already too slow.

        An idle timeout of 0 turns both checks off (the rate's grace is that timeout).
        """
        if self.idle_timeout_s <= 0:
            return float("inf")
        wait = self.idle_timeout_s
        if self.min_rate_bytes_per_s > 0:
            allowed = self.idle_timeout_s + received / self.min_rate_bytes_per_s
            wait = min(wait, allowed - elapsed_s)
        return wait


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"body exceeds the limit of {limit} bytes")


async def _read_stream(
    stream: StreamReader,
    limit: int,
    lease: BodyLease | None,
    pace: BodyPace,
) -> bytes:
    """The body; the lease grows with the bytes received."""
    return (await _gather(stream, limit, lease, pace)).getvalue()


async def _gather(
    stream: StreamReader,
    limit: int,
    lease: BodyLease | None,
    pace: BodyPace,
) -> io.BytesIO:
    """The body in a BytesIO; the lease grows with the bytes received.

    A BytesIO's ``getvalue()`` hands over its own buffer (shrunk in place)
    when nothing else holds a view of it: a bytearray turned into bytes
    would be copied, the body held twice for a moment.
    """
    loop = asyncio.get_running_loop()
    started = loop.time()
    buffer = io.BytesIO()
    received = 0
    while True:
        wait = pace.wait_s(received, loop.time() - started)
        if wait <= 0:
            raise _too_slow(pace, received, loop.time() - started)
        # What has arrived already is taken without arming a timer: a small body
        # is usually there whole with its headers.
        chunk = stream.read_nowait(_CHUNK)
        if not chunk and not stream.is_eof():
            try:
                async with asyncio.timeout(None if wait == float("inf") else wait):
                    chunk = await stream.read(_CHUNK)
            except TimeoutError:
                raise _too_slow(pace, received, loop.time() - started) from None
        if not chunk:
            return buffer
        if received + len(chunk) > limit:
            raise _too_large(limit)
        if lease is not None:
            lease.take(len(chunk))
        buffer.write(chunk)
        received += len(chunk)


def _too_slow(pace: BodyPace, received: int, elapsed_s: float) -> RequestTimeout:
    return RequestTimeout(
        f"the body stalled or came too slowly ({received} bytes in {elapsed_s:.1f} s; "
        f"a pause may last {pace.idle_timeout_s:g} s, then at least "
        f"{pace.min_rate_bytes_per_s:g} bytes/s)"
    )


async def read_package_body(
    request: web.Request,
    limit: int,
    lease: BodyLease | None = None,
    pace: BodyPace | None = None,
) -> bytes:
    """The package bytes from an XML body or the reference multipart form.

    A declared Content-Length over the limit is refused before reading; the
    streamed total is checked as it grows, so a lying client gets no further.
    """
    pace = pace or BodyPace()
    content_type = request.content_type
    if content_type == MULTIPART:
        whole_limit = limit + MULTIPART_SLACK
        if request.content_length is not None and request.content_length > whole_limit:
            raise _too_large(whole_limit)
        buffer = await _gather(request.content, whole_limit, lease, pace)
        with buffer.getbuffer() as body:
            start, end = multipart_bounds(body, request.headers.get("Content-Type", ""))
            if end - start > limit:
                raise _too_large(limit)
            # The part moved to the front and the rest cut off in place: no copy of it.
            body[: end - start] = body[start:end]
        buffer.truncate(end - start)
        return buffer.getvalue()
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(limit)
    if content_type in XML_TYPES:
        return await _read_stream(request.content, limit, lease, pace)
    raise MediaUnsupported(
        f"content type {content_type or '(none)'} not accepted; "
        "use application/xml or multipart/form-data with a file_doc part"
    )


async def read_cut_body(
    request: web.Request,
    limit: int,
    lease: BodyLease | None,
    pace: BodyPace | None,
    length_of: Callable[[memoryview], int],
) -> bytes:
    """The whole body whatever its content type, within ``limit``, at the same pace rules,
    cut to the length ``length_of`` picks from a view of it.

    The cut is made in place: a 50 MiB body is not copied to drop a trailer.
    """
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(limit)
    buffer = await _gather(request.content, limit, lease, pace or BodyPace())
    with buffer.getbuffer() as view:
        length = length_of(view)
    buffer.truncate(length)
    return buffer.getvalue()


def _boundary(content_type: str) -> bytes:
    message = BytesHeaderParser().parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode())
    boundary = message.get_param("boundary", header="content-type")
    if not isinstance(boundary, str) or not 1 <= len(boundary) <= 70:
        raise RequestInvalid("multipart/form-data without a valid boundary parameter")
    try:
        return boundary.encode("ascii")
    except UnicodeEncodeError as exc:
        raise RequestInvalid("the multipart boundary must be ASCII") from exc


def _part_name(head: bytes) -> str | None:
    message = BytesHeaderParser().parsebytes(head + b"\r\n\r\n")
    name = message.get_param("name", header="content-disposition")
    return name if isinstance(name, str) else None


def multipart_package(body: bytes, content_type: str) -> bytes:
    """The ``file_doc`` part of a multipart/form-data body (see ``multipart_bounds``)."""
    start, end = multipart_bounds(body, content_type)
    return body[start:end]


def _find(body: bytes | memoryview, needle: bytes, start: int, end: int | None = None) -> int:
    # A compiled pattern searches any buffer, a memoryview included (bytes.find would
    # need the bytes copied out of it); re caches the compilation.
    found = re.compile(re.escape(needle)).search(body, start, len(body) if end is None else end)
    return -1 if found is None else found.start()


def _at(body: bytes | memoryview, prefix: bytes, position: int) -> bool:
    return bytes(body[position : position + len(prefix)]) == prefix


def multipart_bounds(body: bytes | memoryview, content_type: str) -> tuple[int, int]:
    """Where the ``file_doc`` part of a multipart/form-data body lies, in one pass over it.

    Refuses (400 ``request.invalid``) a missing boundary, a body without parts
    or without its closing boundary, a part of any other name, and a second
    ``file_doc``.
    """
    delimiter = b"--" + _boundary(content_type)
    separator = b"\r\n" + delimiter
    if _at(body, delimiter, 0):
        position = len(delimiter)
    else:
        found = _find(body, separator, 0)
        if found < 0:
            raise RequestInvalid("the multipart body has no part (its boundary never appears)")
        position = found + len(separator)
    package: tuple[int, int] | None = None
    while not _at(body, b"--", position):
        line_end = _find(body, b"\r\n", position)
        if line_end < 0 or bytes(body[position:line_end]).strip(b" \t"):
            raise RequestInvalid("the multipart body has a malformed boundary line")
        head_end = _find(body, b"\r\n\r\n", line_end, min(len(body), line_end + _MAX_PART_HEAD))
        if head_end < 0:
            raise RequestInvalid("a multipart part has no end to its headers (or too long ones)")
        content_start = head_end + 4
        content_end = _find(body, separator, content_start)
        if content_end < 0:
            raise RequestInvalid("the multipart body ends without its closing boundary")
        name = _part_name(bytes(body[line_end + 2 : head_end]))
        if name != REFERENCE_PART:
            raise RequestInvalid(
                f"unexpected multipart part {name!r}: only {REFERENCE_PART} is accepted"
            )
        if package is not None:
            raise RequestInvalid(f"more than one {REFERENCE_PART} part")
        package = (content_start, content_end)
        position = content_end + len(separator)
    if package is None:
        raise RequestInvalid(f"the multipart body has no {REFERENCE_PART} part")
    return package


JSON_MAX_BYTES = 256 * 1024
"""A JSON request body (operator calls, a batch acknowledgement) is small: 256 KiB holds
thousands of ids, and nothing bigger is read into memory."""


async def read_json_object(
    request: web.Request, *, max_bytes: int = JSON_MAX_BYTES, empty: bool = False
) -> dict[str, Any]:
    """The request's JSON object; an empty body is ``{}`` when ``empty`` allows it.

    Read in chunks and refused with 413 as soon as it passes ``max_bytes``, whatever
    Content-Length says; anything but a JSON object is ``schema.invalid``.
    """
    if request.content_length is not None and request.content_length > max_bytes:
        raise _too_large(max_bytes)
    chunks, size = [], 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(max_bytes)
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip() and empty:
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SchemaInvalid(f"request body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise SchemaInvalid("request body must be a JSON object")
    return body
