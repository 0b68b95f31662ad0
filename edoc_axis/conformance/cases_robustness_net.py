"""ROBUST-1xx: connection-level attacks; none may stop another agency's document.

Stalled uploads, half-sent request heads, junk and malformed multipart bodies,
and unsigned statuses that end or undo a document's handling. The cases that
check that intake goes on while an attack runs give the valid document a time
budget (``BUDGET_S``): an axis that answers it only after the attack ends fails.
The ROBUST-0xx cases (XML shapes) live in their own module.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from edoc_axis.conformance.context import RunContext
from edoc_axis.conformance.model import Case, CaseFailed, Probe, collector

_cases: list[Case] = []
case = collector(_cases)
BUDGET_S = 5.0  # a valid document, sent while an attack runs, must be answered within this
WAIT_S = 25.0  # how long an axis may keep a stalled connection before the case fails
LIMITS = "README §Security: Connections, timeouts and budgets"
DOCUMENTS = "/api/v1/documents"
HALF_OPEN = 50  # under any sensible per-client limit: the valid document comes from here too


class _Raw:
    """One raw HTTP/1.1 connection that can stop anywhere."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def status_or_close(self, timeout_s: float) -> int | None:
        """The status of the answer, None when the axis closes without one; raises on timeout."""
        async with asyncio.timeout(timeout_s):
            try:
                line = await self.reader.readline()
            except ConnectionError:
                return None
            if not line:
                return None
            try:
                return int(line.split()[1])
            except (IndexError, ValueError):
                raise CaseFailed(f"not an HTTP answer: {line[:60]!r}") from None

    async def closed_within(self, timeout_s: float) -> bool:
        try:
            async with asyncio.timeout(timeout_s):
                while await self.reader.read(65536):
                    pass
        except TimeoutError:
            return False
        except ConnectionError:
            return True
        return True

    def close(self) -> None:
        self.writer.transport.abort()
        self.writer.close()


@asynccontextmanager
async def _connections(ctx: RunContext, count: int) -> AsyncIterator[list[_Raw]]:
    parts = urlsplit(ctx.target.url)
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    opened: list[_Raw] = []
    try:
        for _ in range(count):
            reader, writer = await asyncio.open_connection(
                parts.hostname, port, ssl=ssl.create_default_context() if secure else None
            )
            opened.append(_Raw(reader, writer))
        yield opened
    finally:
        for raw in opened:
            raw.close()


def _head(ctx: RunContext, role: str, length: int, content_type: str = "application/xml") -> bytes:
    host = urlsplit(ctx.target.url).netloc
    return (
        f"POST {DOCUMENTS} HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: Bearer {ctx.creds(role).token}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {length}\r\n\r\n"
    ).encode("latin-1")


async def _answered_in_budget(ctx: RunContext, probe: Probe) -> None:
    """'sender' submits a valid document; it must be accepted within BUDGET_S."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(BUDGET_S):
            response = await ctx.client("sender").submit(ctx.signed())
    except TimeoutError:
        probe.expected, probe.observed = f"202 within {BUDGET_S:g} s", "no answer in time"
        raise CaseFailed(f"a valid document got no answer within {BUDGET_S:g} s") from None
    probe.expect(response, 202)
    elapsed = time.monotonic() - started
    probe.expected = f"202 within {BUDGET_S:g} s"
    probe.observed = f"202 in {elapsed:.2f} s"


@case(
    "ROBUST-101",
    "two stalled uploads declaring the body limit do not stop another agency",
    LIMITS,
    sends="'second' opens two POSTs declaring the body limit, sends one byte each and stalls; "
    "then 'sender' submits a valid document",
    expects=f"202 for the valid document within {BUDGET_S:g} s",
    required=False,
    needs=("second",),
)
async def stalled_uploads(ctx: RunContext, probe: Probe) -> None:
    declared = ctx.target.max_body_bytes or 64 * 1024 * 1024
    async with _connections(ctx, 2) as stalled:
        for raw in stalled:
            await raw.send(_head(ctx, "second", declared) + b"<")
        await asyncio.sleep(0.3)
        await _answered_in_budget(ctx, probe)


@case(
    "ROBUST-102",
    "half-sent request heads do not stop another agency",
    LIMITS,
    sends=f"{HALF_OPEN} connections that send half a request head and stall; "
    "then 'sender' submits a valid document",
    expects=f"202 for the valid document within {BUDGET_S:g} s",
    required=False,
)
async def half_open_heads(ctx: RunContext, probe: Probe) -> None:
    async with _connections(ctx, HALF_OPEN) as half_open:
        for raw in half_open:
            await raw.send(b"POST /api/v1/documents HTTP/1.1\r\nHost: axis\r\nContent-")
        await asyncio.sleep(0.3)
        await _answered_in_budget(ctx, probe)


@case(
    "ROBUST-103",
    "a half-sent request head is closed",
    LIMITS,
    sends="a connection that sends half a request head, then nothing",
    expects=f"the axis closes it (with or without an answer) within {WAIT_S:g} s",
    required=False,
)
async def head_timeout(ctx: RunContext, probe: Probe) -> None:
    async with _connections(ctx, 1) as (raw,):
        await raw.send(b"GET /api/v1/me HTTP/1.1\r\nHost: axis\r\n")
        closed = await raw.closed_within(WAIT_S)
    probe.check(
        closed,
        f"still open after {WAIT_S:g} s",
        expected=f"closed within {WAIT_S:g} s",
    )


@case(
    "ROBUST-104",
    "a stalled request body is ended",
    LIMITS,
    sends="a document POST declaring 100,000 bytes that sends one and stalls",
    expects=f"an answer (ours: 408 request.timeout) or a close within {WAIT_S:g} s",
    required=False,
)
async def body_timeout(ctx: RunContext, probe: Probe) -> None:
    async with _connections(ctx, 1) as (raw,):
        await raw.send(_head(ctx, "sender", 100_000) + b"<")
        try:
            status = await raw.status_or_close(WAIT_S)
        except TimeoutError:
            status = -1
    probe.expected = f"4xx or close within {WAIT_S:g} s"
    probe.observed = {None: "closed", -1: "still open"}.get(status, str(status))
    if status == -1 or (status is not None and not 400 <= status < 500):
        raise CaseFailed(f"the stalled body was not ended within {WAIT_S:g} s ({probe.observed})")


def _form(boundary: str, *parts: tuple[str, bytes]) -> bytes:
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="x"\r\n'
        f"Content-Type: application/xml\r\n\r\n".encode()
        + content
        + b"\r\n"
        for name, content in parts
    )
    return body + f"--{boundary}--\r\n".encode()


@case(
    "ROBUST-105",
    "a multipart part other than file_doc is refused",
    "VDXP.md §sendEdoc: one part file_doc; README §Security",
    sends="multipart/form-data with a 'junk' part beside a valid file_doc",
    expects="400 request.invalid (every part counts; only file_doc is accepted)",
    required=False,
)
async def junk_part(ctx: RunContext, probe: Probe) -> None:
    body = _form("conf0rmance", ("junk", b"x" * 4096), ("file_doc", ctx.signed()))
    response = await ctx.raw(
        "POST",
        DOCUMENTS,
        data=body,
        headers={
            "Authorization": f"Bearer {ctx.creds('sender').token}",
            "Content-Type": "multipart/form-data; boundary=conf0rmance",
        },
    )
    probe.expect(response, 400, "request.invalid")


@case(
    "ROBUST-106",
    "malformed multipart bodies are problem+json refusals, never a 500",
    "API.md: errors are application/problem+json with a stable code",
    sends="multipart/form-data without a boundary; then with a boundary and an empty body",
    expects="4xx application/problem+json for both (ours: 400 request.invalid)",
)
async def malformed_multipart(ctx: RunContext, probe: Probe) -> None:
    token = f"Bearer {ctx.creds('sender').token}"
    for content_type, body in (
        ("multipart/form-data", b"--x\r\n\r\nabc\r\n--x--\r\n"),
        ("multipart/form-data; boundary=conf0rmance", b""),
    ):
        response = await ctx.raw(
            "POST",
            DOCUMENTS,
            data=body,
            headers={"Authorization": token, "Content-Type": content_type},
        )
        probe.refused(response)
        kind = response.headers.get("Content-Type", "")
        probe.check(
            kind.startswith("application/problem+json") and bool(response.code),
            f"{response.status} answered as {kind or 'no content type'} without a problem code",
            expected="4xx problem+json",
        )


async def _unsigned_refused(ctx: RunContext, probe: Probe, role: str, code: str) -> None:
    sent = await ctx.send(probe)
    counterparty = "recipient" if role == "sender" else "sender"
    raw = ctx.status(role, sent.document_id, counterparty, code, signed=False)
    probe.expect(await ctx.client(role).post_status(raw), 422, "signature.missing")
    feed = await ctx.status_feed(counterparty)
    stored = [s for s in feed if s.get("document_id") == sent.document_id]
    probe.check(not stored, f"the unsigned {code} was delivered: {stored}")


_STATUS = "API.md §Agency API: POST /api/v1/statuses (a signed status message)"


@case(
    "ROBUST-107",
    "an unsigned status 02 (refused) is refused",
    _STATUS,
    sends="'recipient' posts an unsigned 02 about a document it received",
    expects="422 signature.missing; nothing in the sender's feed",
)
async def unsigned_02(ctx: RunContext, probe: Probe) -> None:
    await _unsigned_refused(ctx, probe, "recipient", "02")


@case(
    "ROBUST-108",
    "an unsigned status 06 (finished) is refused",
    _STATUS,
    sends="'recipient' posts an unsigned 06 about a document it received",
    expects="422 signature.missing; nothing in the sender's feed",
)
async def unsigned_06(ctx: RunContext, probe: Probe) -> None:
    await _unsigned_refused(ctx, probe, "recipient", "06")


@case(
    "ROBUST-109",
    "an unsigned recall (13) is refused",
    _STATUS,
    sends="'sender' posts an unsigned 13 about a document it sent",
    expects="422 signature.missing; nothing in the recipient's feed",
)
async def unsigned_13(ctx: RunContext, probe: Probe) -> None:
    await _unsigned_refused(ctx, probe, "sender", "13")


CASES: tuple[Case, ...] = tuple(_cases)
