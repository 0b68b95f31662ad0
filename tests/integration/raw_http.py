"""Raw HTTP/1.1 over asyncio sockets, for clients that misbehave on purpose.

aiohttp's client cannot stall half-way through a head or a body; these helpers
can. ``connect`` may bind a source address on the loopback network
(127.0.0.2, ...), so that tests can act as several client addresses.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from tests.external import unavailable


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def code(self) -> str | None:
        return str(self.json()["code"]) if self.status >= 400 else None


class RawClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def response(self, timeout_s: float = 10.0) -> RawResponse:
        async with asyncio.timeout(timeout_s):
            status_line = await self.reader.readline()
            if not status_line:
                raise ConnectionResetError("closed before any answer")
            status = int(status_line.split()[1])
            headers: dict[str, str] = {}
            while (line := await self.reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            body = await self.reader.readexactly(int(headers.get("content-length", "0")))
        return RawResponse(status, headers, body)

    async def closed_within(self, timeout_s: float) -> bool:
        """True when the server closes the connection within ``timeout_s`` (data is drained)."""
        try:
            async with asyncio.timeout(timeout_s):
                while await self.reader.read(65536):
                    pass
        except TimeoutError:
            return False
        except ConnectionResetError:
            return True
        return True

    def close(self) -> None:
        self.writer.transport.abort()
        self.writer.close()


async def connect(
    url: str, source: str | None = None, *, tls: ssl.SSLContext | None = None
) -> RawClient:
    """A connection to ``url``'s host and port (over TLS, handshake done, with ``tls``)."""
    parts = urlsplit(url)
    local = (source, 0) if source else None
    try:
        reader, writer = await asyncio.open_connection(
            parts.hostname, parts.port, local_addr=local, ssl=tls
        )
    except OSError as exc:
        if source is not None and exc.errno == 99:  # EADDRNOTAVAIL: no such loopback address
            unavailable(f"cannot connect from {source} (the loopback network is 127.0.0.1 only)")
        raise
    return RawClient(reader, writer)


def request_head(
    method: str,
    path: str,
    *,
    token: str | None = None,
    content_type: str | None = "application/xml",
    content_length: int | None = None,
    extra: str = "",
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: axis"]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    if content_type:
        lines.append(f"Content-Type: {content_type}")
    if content_length is not None:
        lines.append(f"Content-Length: {content_length}")
    if extra:
        lines.append(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
