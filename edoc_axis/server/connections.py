"""Connection limits and timeouts below aiohttp: what no single client may hold.

aiohttp's server has no timeout for a request head that never completes and
no cap on connections. ``ConnectionGuard`` wraps each accepted connection's
protocol (the aiohttp request handler) and:

- refuses a connection over ``max_connections`` in the process, or over
  ``max_connections_per_client`` from one client address, with a one-line 503
  problem answer, before aiohttp sees it;
- closes a connection whose request head is not complete ``header_timeout_s``
  after the connection opened or after the head's first byte, and one that
  stays idle ``keepalive_timeout_s`` between requests;
- ends keep-alive after ``max_requests_per_connection`` requests.

Request bodies have their own pace (``server/bodies.py``). The guard learns
where a request starts and ends from ``connection_middleware``.
"""

from __future__ import annotations

import asyncio
import enum
import json
import ssl
from collections.abc import Awaitable, Callable
from typing import Any, cast

import structlog
from aiohttp import web

from edoc_axis.config import Limits
from edoc_axis.errors import Unavailable

log = structlog.get_logger("edoc_axis.connections")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class _State(enum.Enum):
    HEAD = "head"  # waiting for a request head: the header timeout runs
    IDLE = "idle"  # between requests, no byte yet: the keep-alive timeout runs
    REQUEST = "request"  # a handler runs: the body's own pace applies


# How long aiohttp drains a refused request's unread body (so that the client
# can read the answer) before it closes the connection; its default is 10 s.
# A connection refused by the guard lingers as long.
LINGER_S = 1.0
# Refused connections lingering at once; past it one is closed at once.
MAX_LINGERING = 256


class _Connection:
    __slots__ = ("client", "inner", "requests", "state", "timer", "transport")

    def __init__(self, transport: asyncio.Transport, client: str, inner: asyncio.Protocol) -> None:
        self.transport = transport
        self.client = client
        self.inner = inner
        self.state = _State.HEAD
        self.requests = 0
        self.timer: asyncio.TimerHandle | None = None


class ConnectionGuard:
    """Counts, limits and times out the connections of one axis process."""

    def __init__(self, limits: Limits, on_close: Callable[[str], None] | None = None) -> None:
        self.limits = limits
        # Told "refused", "header_timeout" or "idle_timeout" (the /metrics counter).
        self._on_close = on_close or (lambda _reason: None)
        self.open = 0
        self.by_client: dict[str, int] = {}
        self.refused = 0
        self.lingering = 0
        self.timed_out = 0
        self._connections: dict[asyncio.BaseTransport, _Connection] = {}

    def protocol_factory(self, inner_factory: Callable[[], Any]) -> Callable[[], asyncio.Protocol]:
        """A factory for ``loop.create_server`` that guards aiohttp's protocols."""
        return lambda: _GuardedProtocol(self, inner_factory)

    # -- the connection's life, called by _GuardedProtocol ------------------

    def _refusal(self, client: str) -> str | None:
        limits = self.limits
        if limits.max_connections and self.open >= limits.max_connections:
            return f"the axis has {self.open} connections open (limit {limits.max_connections})"
        per_client = limits.max_connections_per_client
        if per_client and self.by_client.get(client, 0) >= per_client:
            return f"{client} has {per_client} connections open (the limit per client address)"
        return None

    def _opened(self, connection: _Connection) -> None:
        self.open += 1
        self.by_client[connection.client] = self.by_client.get(connection.client, 0) + 1
        self._connections[connection.transport] = connection
        self._arm(connection, self.limits.header_timeout_s)

    def _closed(self, connection: _Connection) -> None:
        if self._connections.pop(connection.transport, None) is None:
            return
        self._disarm(connection)
        self.open -= 1
        left = self.by_client[connection.client] - 1
        if left:
            self.by_client[connection.client] = left
        else:
            del self.by_client[connection.client]

    def _data(self, connection: _Connection) -> None:
        if connection.state is _State.IDLE:
            connection.state = _State.HEAD
            self._arm(connection, self.limits.header_timeout_s)

    # -- timers ----------------------------------------------------------------

    def _arm(self, connection: _Connection, seconds: float) -> None:
        self._disarm(connection)
        if seconds > 0:
            loop = asyncio.get_running_loop()
            connection.timer = loop.call_later(seconds, self._expire, connection)

    @staticmethod
    def _disarm(connection: _Connection) -> None:
        if connection.timer is not None:
            connection.timer.cancel()
            connection.timer = None

    def _expire(self, connection: _Connection) -> None:
        connection.timer = None
        if connection.state is _State.REQUEST:
            return
        if connection.transport.get_write_buffer_size() > 0:
            # Still sending the last answer: the idle time starts once it is out.
            self._arm(connection, self.limits.keepalive_timeout_s)
            return
        self.timed_out += 1
        reason = "header_timeout" if connection.state is _State.HEAD else "idle_timeout"
        self._on_close(reason)
        log.debug("connection.timed_out", client=connection.client, reason=reason)
        connection.transport.abort()

    # -- requests, from the middleware -------------------------------------

    def request_started(self, transport: asyncio.BaseTransport | None) -> bool:
        """Mark a request's head as read; False when this is the connection's last request."""
        connection = self._connections.get(transport) if transport is not None else None
        if connection is None:
            return True  # not a guarded connection (a test server)
        self._disarm(connection)
        connection.state = _State.REQUEST
        connection.requests += 1
        limit = self.limits.max_requests_per_connection
        return not limit or connection.requests < limit

    def request_finished(self, transport: asyncio.BaseTransport | None) -> None:
        connection = self._connections.get(transport) if transport is not None else None
        if connection is not None and connection.state is _State.REQUEST:
            connection.state = _State.IDLE
            self._arm(connection, self.limits.keepalive_timeout_s)


def _refusal_bytes(detail: str) -> bytes:
    problem = Unavailable(detail, retry_after_s=1).to_problem()
    body = json.dumps(problem).encode()
    return (
        b"HTTP/1.1 503 Service Unavailable\r\n"
        b"Content-Type: application/problem+json\r\n"
        b"Retry-After: 1\r\nConnection: close\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )


class _GuardedProtocol(asyncio.Protocol):
    """aiohttp's protocol for one connection, behind the guard's limits and timers."""

    def __init__(self, guard: ConnectionGuard, inner_factory: Callable[[], Any]) -> None:
        self._guard = guard
        self._inner_factory = inner_factory
        self._connection: _Connection | None = None
        self._linger_timer: asyncio.TimerHandle | None = None

    def connection_made(self, base: asyncio.BaseTransport) -> None:
        # A stream transport: uvloop's are not asyncio.Transport subclasses, but have its verbs.
        transport = cast(asyncio.Transport, base)
        peer = transport.get_extra_info("peername")
        client = str(peer[0]) if isinstance(peer, tuple) and peer else "unknown"
        refusal = self._guard._refusal(client)
        if refusal is not None:
            self._guard.refused += 1
            self._guard._on_close("refused")
            log.debug("connection.refused", client=client, reason=refusal)
            transport.write(_refusal_bytes(refusal))
            self._linger(transport)
            return
        inner: asyncio.Protocol = self._inner_factory()
        self._connection = _Connection(transport, client, inner)
        self._guard._opened(self._connection)
        inner.connection_made(transport)

    def _linger(self, transport: asyncio.Transport) -> None:
        """Close a refused connection once the client has had time to read the answer.

        Closed with the client's request unread, the socket would answer it
        with a reset, which can destroy the 503 before the client reads it:
        a client that writes its whole request before reading (as blocking
        clients commonly do) saw only "connection reset". So the answer is
        followed by a FIN where the transport allows, and what the client
        still sends is read and dropped until it closes or LINGER_S passes.
        """
        if self._guard.lingering >= MAX_LINGERING:
            transport.close()
            return
        self._guard.lingering += 1
        if transport.can_write_eof():
            transport.write_eof()
        loop = asyncio.get_running_loop()
        self._linger_timer = loop.call_later(LINGER_S, transport.close)

    def data_received(self, data: bytes) -> None:
        connection = self._connection
        if connection is None:
            return  # refused: the answer is on its way, the request is dropped
        self._guard._data(connection)
        connection.inner.data_received(data)

    def eof_received(self) -> bool | None:
        if self._connection is None:
            return False  # refused, and the client is done: close
        return self._connection.inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        connection = self._connection
        if connection is None:
            if self._linger_timer is not None:
                self._linger_timer.cancel()
                self._linger_timer = None
                self._guard.lingering -= 1
            return
        self._guard._closed(connection)
        connection.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        if self._connection is not None:
            self._connection.inner.pause_writing()

    def resume_writing(self) -> None:
        if self._connection is not None:
            self._connection.inner.resume_writing()


class GuardedSite(web.BaseSite):
    """A listening site (host and port, or an inherited socket) whose connections are guarded.

    With ``ssl_context`` the guard sees a connection once its TLS handshake is
    done; until then asyncio's handshake timeout (the header timeout here)
    bounds what a client that never finishes the handshake can hold.
    """

    __slots__ = ("_guard", "_host", "_port", "_sock")

    def __init__(
        self,
        runner: web.BaseRunner,
        guard: ConnectionGuard,
        *,
        host: str | None = None,
        port: int = 0,
        sock: Any = None,
        ssl_context: ssl.SSLContext | None = None,
        backlog: int = 1024,
    ) -> None:
        super().__init__(runner, ssl_context=ssl_context, backlog=backlog)
        self._guard = guard
        self._host, self._port, self._sock = host, port, sock

    @property
    def name(self) -> str:
        scheme = "https" if self._ssl_context else "http"
        where = f"{self._host}:{self._port}" if self._sock is None else "(socket)"
        return f"{scheme}://{where}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        factory = self._guard.protocol_factory(server)
        loop = asyncio.get_running_loop()
        tls: dict[str, Any] = {}
        if self._ssl_context is not None:
            handshake_s = self._guard.limits.header_timeout_s
            tls = {"ssl": self._ssl_context}
            if handshake_s > 0:
                tls["ssl_handshake_timeout"] = handshake_s
        if self._sock is not None:
            self._server = await loop.create_server(
                factory, sock=self._sock, backlog=self._backlog, **tls
            )
        else:
            self._server = await loop.create_server(
                factory, self._host, self._port, backlog=self._backlog, reuse_address=True, **tls
            )


CONNECTIONS = web.AppKey("connections", ConnectionGuard)


LAST_ON_CONNECTION = web.RequestKey("last_on_connection", bool)
"""Set on the connection's last request (``max_requests_per_connection``)."""


@web.middleware
async def connection_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Tell the guard a request runs (no head timeout) and when it ends (keep-alive timer)."""
    guard = request.app[CONNECTIONS]
    transport = request.transport
    request[LAST_ON_CONNECTION] = not guard.request_started(transport)
    try:
        return await handler(request)
    finally:
        guard.request_finished(transport)


async def close_after_the_last(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: the connection's last answer says ``Connection: close``.

    Here, not in the middleware once the handler returns: a handler that sends
    its answer itself (a batch fetch, a large document) has sent the headers by
    then, and the connection would be closed under a client told to keep it.
    """
    if request.get(LAST_ON_CONNECTION):
        response.force_close()
        # aiohttp has made the headers by now; it writes them after this hook.
        response.headers["Connection"] = "close"
