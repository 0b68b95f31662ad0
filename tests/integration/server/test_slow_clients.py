"""Slow and stalling clients on a real axis (AxisRuntime, real sockets) cannot stop intake.

Each limit is tried at its edge: a client just inside it is served, one just
past it is refused or closed, and another agency's document still goes through.
Timeouts are set short here (fractions of a second) and the margins are wide.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import resource
import socket
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from structlog.testing import capture_logs

from edoc_axis import outgoing
from edoc_axis.config import AxisConfig, Limits, load_config
from edoc_axis.core.compose import new_document
from edoc_axis.edxml import build_document
from edoc_axis.home import init_home
from edoc_axis.pki import Issued, cert_to_pem, issue_certificate, load_certs, load_key
from edoc_axis.runtime import AxisRuntime
from edoc_axis.server import connections
from edoc_axis.server.connections import CONNECTIONS, LINGER_S, ConnectionGuard
from edoc_axis.service.registry import register_agency
from edoc_axis.signature import sign_package
from edoc_axis.store.factory import open_store
from tests.integration.raw_http import RawClient, RawResponse, connect, request_head
from tests.waiting import eventually

G22, H49, K01 = "000.00.00.G22", "000.00.00.H49", "000.00.00.K01"
DOCUMENTS = "/api/v1/documents"
MIB64 = 64 * 1024 * 1024


@dataclasses.dataclass
class Axis:
    runtime: AxisRuntime
    url: str
    tokens: dict[str, str]
    certs: dict[str, Issued]
    counter: list[int] = dataclasses.field(default_factory=lambda: [0])
    clients: list[RawClient] = dataclasses.field(default_factory=list)

    async def connect(self, source: str | None = None) -> RawClient:
        client = await connect(self.url, source)
        self.clients.append(client)
        return client

    @property
    def guard(self) -> ConnectionGuard:
        return self.runtime.app[CONNECTIONS]

    @property
    def inflight_used(self) -> int:
        return self.runtime.services.inflight.used

    def signed(self, sender: str, recipients: list[str]) -> bytes:
        self.counter[0] += 1
        package = new_document(
            sender=sender,
            recipients=recipients,
            subject=f"Văn bản {self.counter[0]}",
            code_number=str(self.counter[0]),
            at=datetime.now(UTC) + timedelta(hours=7),
        )
        issued = self.certs[sender]
        return sign_package(build_document(package), issued.key, issued.cert)

    async def send_document(self, sender: str, source: str = "127.0.0.1") -> RawResponse:
        """A signed document from ``sender`` to H49 on a fresh connection from ``source``."""
        raw = self.signed(sender, [H49])
        client = await self.connect(source)
        try:
            head = request_head(
                "POST", DOCUMENTS, token=self.tokens[sender], content_length=len(raw)
            )
            await client.send(head + raw)
            return await client.response()
        finally:
            client.close()


LimitsTweak = Callable[[Limits], Limits]


@pytest.fixture
def limits() -> dict[str, Any]:
    """Override per test (indirectly, with ``@pytest.mark.parametrize``) or per module."""
    return {}


@pytest.fixture
async def axis(tmp_path: Path, limits: dict[str, Any]) -> AsyncIterator[Axis]:
    home = init_home(tmp_path / "home")
    config: AxisConfig = load_config(home.config)
    config = dataclasses.replace(
        config, limits=dataclasses.replace(config.limits, rate_per_s=0, **limits)
    )
    store = await open_store(config)
    runtime = AxisRuntime(config, store, push=False)
    url = await runtime.start("127.0.0.1", 0)
    pki = home.root / "pki"
    ca = Issued(load_key(pki / "ca.key.pem"), load_certs(pki / "ca.cert.pem")[0])
    tokens, certs = {}, {}
    for code in (G22, H49, K01):
        certs[code] = issue_certificate(ca, code, agency_code=code)
        _, tokens[code] = await register_agency(
            store,
            code=code,
            name=code,
            delivery_mode="pull",
            endpoint_url=None,
            certificate_pems=[cert_to_pem(certs[code].cert)],
            at=datetime.now(UTC),
        )
    running = Axis(runtime, url, tokens, certs)
    yield running
    for client in running.clients:
        client.close()
    await runtime.stop()
    await store.close()


async def stalled_upload(axis: Axis, sender: str, declared: int = MIB64) -> RawClient:
    """A document upload that declares ``declared`` bytes, sends one, then nothing."""
    client = await axis.connect()
    await client.send(
        request_head("POST", DOCUMENTS, token=axis.tokens[sender], content_length=declared) + b"<"
    )
    return client


# -- the in-flight budget -------------------------------------------------------


async def test_two_stalled_64mib_uploads_do_not_stop_another_agency(axis: Axis) -> None:
    """Before: the declared lengths reserved the whole budget and every agency got 503."""
    stalled = [await stalled_upload(axis, G22) for _ in range(2)]
    await eventually(lambda: axis.inflight_used == 2)  # charged by the bytes that arrived
    response = await axis.send_document(K01)
    assert response.status == 202, response.body
    own = await axis.send_document(G22)  # the stalling agency itself is not shut out either
    assert own.status == 202, own.body
    for client in stalled:
        client.close()
    await eventually(lambda: axis.inflight_used == 0)


@pytest.mark.parametrize(
    "limits", [{"max_inflight_bytes": 400_000, "max_inflight_bytes_per_agency": 150_000}]
)
async def test_one_agency_cannot_hold_more_than_its_share(axis: Axis) -> None:
    first = await stalled_upload(axis, G22, declared=1_000_000)
    await first.send(b" " * 120_000)  # within its share (the first body is always admitted)
    await eventually(lambda: axis.inflight_used == 120_001)
    second = await stalled_upload(axis, G22, declared=1_000_000)
    await second.send(b" " * 60_000)  # 180,001 > 150,000: past the share
    refused = await second.response()
    assert (refused.status, refused.code) == (503, "unavailable")
    assert refused.headers["retry-after"] == "1"
    accepted = await axis.send_document(K01)  # the rest of the budget is the others'
    assert accepted.status == 202, accepted.body
    first.close()
    await eventually(lambda: axis.inflight_used == 0)


# -- the body's pace -----------------------------------------------------------


@pytest.mark.parametrize("limits", [{"body_idle_timeout_s": 0.6, "body_min_rate_bytes_per_s": 0}])
async def test_a_body_may_pause_under_the_idle_timeout_but_not_beyond(axis: Axis) -> None:
    raw = axis.signed(G22, [H49])
    patient = await axis.connect()
    head = request_head("POST", DOCUMENTS, token=axis.tokens[G22], content_length=len(raw))
    await patient.send(head + raw[:100])
    for start in range(100, len(raw), len(raw) // 4 + 1):  # pauses of 0.1 s < 0.6 s
        await asyncio.sleep(0.1)
        await patient.send(raw[start : start + len(raw) // 4 + 1])
    assert (await patient.response()).status == 202

    stalled = await stalled_upload(axis, G22, declared=len(raw))
    started = asyncio.get_running_loop().time()
    timed_out = await stalled.response(timeout_s=10)
    assert (timed_out.status, timed_out.code) == (408, "request.timeout")
    assert asyncio.get_running_loop().time() - started < 5
    assert await stalled.closed_within(5)
    assert axis.inflight_used == 0


@pytest.mark.parametrize(
    "limits", [{"body_idle_timeout_s": 1.0, "body_min_rate_bytes_per_s": 2000.0}]
)
async def test_a_trickling_body_is_cut_once_it_falls_below_the_minimum_rate(axis: Axis) -> None:
    """Never idle for 1 s, but 500 bytes/s: cut near 1 + t/4 = t, so after about 1.3 s."""
    trickle = await stalled_upload(axis, G22, declared=100_000)

    async def keep_trickling() -> None:
        while True:
            await trickle.send(b" " * 50)
            await asyncio.sleep(0.1)

    feeder = asyncio.create_task(keep_trickling())
    try:
        refused = await trickle.response(timeout_s=10)
    finally:
        feeder.cancel()
    assert (refused.status, refused.code) == (408, "request.timeout")

    raw = axis.signed(G22, [H49])  # ~10 KiB/s: five times the minimum, accepted
    steady = await axis.connect()
    head = request_head("POST", DOCUMENTS, token=axis.tokens[G22], content_length=len(raw))
    await steady.send(head)
    for start in range(0, len(raw), 1000):
        await steady.send(raw[start : start + 1000])
        await asyncio.sleep(0.1)
    assert (await steady.response()).status == 202


# -- request heads and idle connections -----------------------------------------


@pytest.mark.parametrize("limits", [{"header_timeout_s": 0.6}])
async def test_a_half_sent_head_is_closed_at_the_header_timeout(axis: Axis) -> None:
    half = await axis.connect()
    await half.send(b"POST /api/v1/documents HTTP/1.1\r\nHost: axis\r\n")
    silent = await axis.connect()  # connects and says nothing
    assert await half.closed_within(5)
    assert await silent.closed_within(5)
    await eventually(lambda: axis.guard.open == 0)
    metrics = axis.runtime.services.metrics.render().decode()
    assert 'edoc_connections_closed_total{reason="header_timeout"} 2.0' in metrics

    slow_but_in_time = await axis.connect()  # the head in pieces, complete in 0.3 s
    for piece in (b"GET /api/v1/me HTTP/1.1\r\n", b"Host: axis\r\n", b"\r\n"):
        await slow_but_in_time.send(piece)
        await asyncio.sleep(0.1)
    answer = await slow_but_in_time.response()
    assert (answer.status, answer.code) == (401, "auth.required")


@pytest.mark.parametrize("limits", [{"keepalive_timeout_s": 0.5, "max_requests_per_connection": 2}])
async def test_keep_alive_ends_when_idle_or_after_the_request_limit(axis: Axis) -> None:
    client = await axis.connect()
    me = request_head("GET", "/api/v1/me", token=axis.tokens[G22], content_type=None)
    await client.send(me)
    first = await client.response()
    assert first.status == 200 and first.headers.get("connection", "").lower() != "close"
    await client.send(me)
    second = await client.response()
    assert second.status == 200 and second.headers["connection"].lower() == "close"
    assert await client.closed_within(5)

    idle = await axis.connect()
    await idle.send(me)
    assert (await idle.response()).status == 200
    assert await idle.closed_within(5)  # nothing more for 0.5 s


@pytest.mark.parametrize("limits", [{"max_requests_per_connection": 2}])
async def test_the_last_answer_says_close_also_when_its_handler_sends_it_itself(
    axis: Axis,
) -> None:
    # A batch fetch is sent by its handler (within its slot): the connection's last
    # answer must still carry "Connection: close", or the client reuses a
    # connection the axis then closes ("Server disconnected", seen in bench runs).
    sent = await axis.send_document(G22)
    axis_id = sent.headers["edoc-axis-id"]
    client = await axis.connect()
    me = request_head("GET", "/api/v1/me", token=axis.tokens[H49], content_type=None)
    await client.send(me)
    assert (await client.response()).headers.get("connection", "").lower() != "close"
    body = json.dumps({"ids": [axis_id]}).encode()
    fetch = request_head(
        "POST",
        "/api/v1/inbox/fetch",
        token=axis.tokens[H49],
        content_type="application/json",
        content_length=len(body),
    )
    await client.send(fetch + body)
    last = await client.response()
    assert last.status == 200 and last.headers["connection"].lower() == "close"
    assert await client.closed_within(5)


@pytest.mark.parametrize("limits", [{"keepalive_timeout_s": 1.0}])
async def test_our_clients_leave_an_idle_connection_before_the_axis_closes_it(
    axis: Axis, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A request sent on a connection the axis is closing at that moment is lost
    # ("Server disconnected"): our clients must stop reusing an idle connection well
    # before the axis's limit (here both scaled down: 0.3 s against 1 s).
    monkeypatch.setattr(outgoing, "REUSE_IDLE_S", 0.3)
    ways: list[str] = []
    trace = aiohttp.TraceConfig()

    async def made(*_: Any) -> None:
        ways.append("new")

    async def reused(*_: Any) -> None:
        ways.append("reused")

    trace.on_connection_create_end.append(made)
    trace.on_connection_reuseconn.append(reused)
    async with aiohttp.ClientSession(connector=outgoing.connector(), trace_configs=[trace]) as http:
        for pause in (0.0, 0.1, 0.5, 0.0):
            await asyncio.sleep(pause)
            async with http.get(axis.url + "/healthz") as response:
                assert response.status == 200
    assert ways == ["new", "reused", "new", "reused"]  # kept while fresh, left when idle
    assert axis.guard.timed_out == 0  # the axis never had to close one under the client


def test_the_axis_keeps_idle_connections_longer_than_clients_reuse_them(tmp_path: Path) -> None:
    aiohttp_reuse_s = 15.0  # aiohttp's own default (TCPConnector keepalive_timeout)
    limit = Limits().keepalive_timeout_s
    assert limit >= 2 * max(outgoing.REUSE_IDLE_S, aiohttp_reuse_s)
    home = init_home(tmp_path / "home")  # what a new home's axis.toml says
    assert load_config(home.config).limits.keepalive_timeout_s == limit


# -- connection counts --------------------------------------------------------


@pytest.mark.parametrize("limits", [{"max_connections_per_client": 3, "header_timeout_s": 30}])
async def test_connections_per_client_address_at_the_limit_and_one_past(axis: Axis) -> None:
    held = [await axis.connect("127.0.0.2") for _ in range(3)]
    await eventually(lambda: axis.guard.by_client.get("127.0.0.2") == 3)
    past = await axis.connect("127.0.0.2")
    refused = await past.response()
    assert (refused.status, refused.code) == (503, "unavailable")
    assert refused.headers["content-type"] == "application/problem+json"
    assert await past.closed_within(5)
    metrics = axis.runtime.services.metrics.render().decode()
    assert 'edoc_connections_closed_total{reason="refused"} 1.0' in metrics
    assert (await axis.send_document(K01, source="127.0.0.3")).status == 202

    held.pop().close()
    await eventually(lambda: axis.guard.by_client.get("127.0.0.2") == 2)
    again = await axis.send_document(G22, source="127.0.0.2")
    assert again.status == 202, again.body
    for client in held:
        client.close()


@pytest.mark.parametrize("limits", [{"max_connections_per_client": 1, "header_timeout_s": 30}])
async def test_a_refused_client_that_already_sent_its_request_reads_the_503(axis: Axis) -> None:
    # Closing a socket with unread data makes the kernel answer with a reset,
    # which can reach the client before it reads the 503 and destroys it.
    held = await axis.connect("127.0.0.2")
    await eventually(lambda: axis.guard.by_client.get("127.0.0.2") == 1)
    body = b"<edXML/>" * 1_000_000  # 8 MB: still being written when the axis refuses
    request = request_head("POST", DOCUMENTS, content_length=len(body)) + body
    for _ in range(5):
        past = await axis.connect("127.0.0.2")
        past.writer.write(request)
        answer = await past.response()
        assert (answer.status, answer.code) == (503, "unavailable")
        assert await past.closed_within(5)
        past.close()
    # A client that writes its whole request before it reads (as many blocking ones do).
    for _ in range(5):
        status_line = await asyncio.to_thread(_write_all_then_read, axis.url, request)
        assert status_line.startswith(b"HTTP/1.1 503 "), status_line
    # One that neither sends nor closes is let go of after LINGER_S.
    silent = await axis.connect("127.0.0.2")
    assert (await silent.response()).status == 503
    await eventually(lambda: axis.guard.lingering == 1)
    await eventually(lambda: axis.guard.lingering == 0, timeout_s=LINGER_S + 3)
    silent.close()
    held.close()


@pytest.mark.parametrize("limits", [{"max_connections_per_client": 1, "header_timeout_s": 30}])
async def test_past_the_lingering_limit_a_refused_connection_is_closed_at_once(
    axis: Axis, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = await axis.connect("127.0.0.2")
    await eventually(lambda: axis.guard.by_client.get("127.0.0.2") == 1)
    monkeypatch.setattr(connections, "MAX_LINGERING", 1)
    monkeypatch.setattr(connections, "LINGER_S", 30.0)  # the first lingers through the test
    lingering = await axis.connect("127.0.0.2")
    assert (await lingering.response()).status == 503
    await eventually(lambda: axis.guard.lingering == 1)
    closed = await axis.connect("127.0.0.2")  # the second, past the limit of 1
    assert (await closed.response()).status == 503
    assert await closed.closed_within(1)
    assert axis.guard.lingering == 1  # the first only: the second was not kept
    for client in (held, lingering, closed):
        client.close()
    await eventually(lambda: axis.guard.lingering == 0)  # the client's close ends it


def _write_all_then_read(url: str, request: bytes) -> bytes:
    parts = urlsplit(url)
    with socket.create_connection(
        (parts.hostname, parts.port), source_address=("127.0.0.2", 0)
    ) as sock:
        sock.settimeout(10)
        sock.sendall(request)
        return sock.makefile("rb").readline()


@pytest.mark.parametrize(
    "limits", [{"max_connections": 3, "max_connections_per_client": 0, "header_timeout_s": 0.8}]
)
async def test_connections_in_total_at_the_limit_and_one_past(axis: Axis) -> None:
    held = [await axis.connect(f"127.0.0.{n}") for n in (2, 3, 4)]
    await eventually(lambda: axis.guard.open == 3)
    past = await axis.connect("127.0.0.5")
    assert (await past.response()).status == 503
    # The idle ones are closed at the header timeout; then there is room again.
    for client in held:
        assert await client.closed_within(5)
    assert (await axis.send_document(K01, source="127.0.0.5")).status == 202


def _room_for(descriptors: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < descriptors:
        wanted = descriptors if hard == resource.RLIM_INFINITY else min(hard, descriptors)
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < descriptors:
        pytest.skip(f"needs {descriptors} file descriptors (ulimit -n)")


@pytest.mark.parametrize(
    ("limits", "refused_expected"),
    [
        ({}, True),  # the defaults: 100 per client address, 1000 in total
        ({"max_connections_per_client": 0, "max_connections": 2000}, False),
    ],
    ids=["per-client-limit", "no-per-client-limit"],
)
async def test_a_thousand_half_open_connections_do_not_stop_another_agency(
    axis: Axis, refused_expected: bool
) -> None:
    _room_for(2 * 1000 + 200)
    half_open: list[RawClient] = []
    try:
        for _ in range(1000):
            client = await axis.connect("127.0.0.2")
            client.writer.write(b"POST /api/v1/documents HTTP/1.1\r\nHost: axis\r\nContent-")
            half_open.append(client)
        await eventually(lambda: axis.guard.open + axis.guard.refused >= 1000)
        assert (axis.guard.refused > 0) is refused_expected
        response = await axis.send_document(K01)
        assert response.status == 202, response.body
    finally:
        for client in half_open:
            client.close()


async def test_a_client_gone_mid_body_is_one_log_line_without_traceback(
    axis: Axis, capsys: pytest.CaptureFixture[str]
) -> None:
    with capture_logs() as logs:
        gone = await stalled_upload(axis, G22, declared=100_000)
        await eventually(lambda: axis.inflight_used == 1)
        gone.close()
        await eventually(lambda: any(e["event"] == "request.client_gone" for e in logs))
    [line] = [e for e in logs if e["event"] == "request.client_gone"]
    assert line["path"] == DOCUMENTS and line["log_level"] == "info" and "exc_info" not in line
    assert "Traceback" not in capsys.readouterr().err
    await eventually(lambda: axis.inflight_used == 0)
