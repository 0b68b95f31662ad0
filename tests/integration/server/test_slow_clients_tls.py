"""The connection guard on an HTTPS site: the same limits and timeouts as over HTTP.

A real axis from ``edoc-axis init --tls`` (its development server certificate),
raw sockets: a client that never starts or finishes the TLS handshake, one
that sends half a head after it, and one address over its connection limit.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from edoc_axis.config import load_config
from edoc_axis.home import init_home
from edoc_axis.runtime import AxisRuntime
from edoc_axis.server.connections import CONNECTIONS, ConnectionGuard
from edoc_axis.store.factory import open_store
from edoc_axis.tls import client_context
from tests.integration.raw_http import RawClient, connect, request_head
from tests.waiting import eventually


@dataclasses.dataclass
class TlsAxis:
    url: str
    guard: ConnectionGuard
    ca: Path
    clients: list[RawClient] = dataclasses.field(default_factory=list)

    async def connect(self, *, tls: bool = True) -> RawClient:
        context = client_context(self.ca) if tls else None
        client = await connect(self.url, tls=context)
        self.clients.append(client)
        return client


@pytest.fixture
def limits() -> dict[str, Any]:
    return {}


@pytest.fixture
async def tls_axis(tmp_path: Path, limits: dict[str, Any]) -> AsyncIterator[TlsAxis]:
    home = init_home(tmp_path / "home", tls=True)
    config = load_config(home.config)
    assert config.scheme == "https"
    config = dataclasses.replace(
        config, limits=dataclasses.replace(config.limits, rate_per_s=0, **limits)
    )
    store = await open_store(config)
    runtime = AxisRuntime(config, store, push=False)
    url = await runtime.start("127.0.0.1", 0)
    assert url.startswith("https://")
    running = TlsAxis(url, runtime.app[CONNECTIONS], home.root / "pki" / "ca.cert.pem")
    yield running
    for client in running.clients:
        client.close()
    await runtime.stop()
    await store.close()


async def _healthy(axis: TlsAxis) -> None:
    client = await axis.connect()
    await client.send(request_head("GET", "/healthz", content_type=None))
    assert (await client.response()).status == 200


@pytest.mark.parametrize("limits", [{"header_timeout_s": 0.5}])
async def test_a_tls_handshake_never_started_is_abandoned_after_the_header_timeout(
    tls_axis: TlsAxis,
) -> None:
    silent = await tls_axis.connect(tls=False)  # TCP only: not one byte of the handshake
    started = asyncio.get_running_loop().time()
    assert await silent.closed_within(8)
    assert asyncio.get_running_loop().time() - started >= 0.4
    await _healthy(tls_axis)


@pytest.mark.parametrize("limits", [{"header_timeout_s": 0.5}])
async def test_a_half_sent_head_over_tls_is_closed_after_the_header_timeout(
    tls_axis: TlsAxis,
) -> None:
    half = await tls_axis.connect()
    await half.send(b"POST /api/v1/documents HTTP/1.1\r\nHost: ax")
    # The guard has it once the handshake is done.
    await eventually(lambda: tls_axis.guard.open == 1)
    assert await half.closed_within(8)
    assert tls_axis.guard.timed_out >= 1
    await _healthy(tls_axis)


@pytest.mark.parametrize("limits", [{"max_connections_per_client": 2}])
async def test_the_per_client_limit_holds_over_tls(tls_axis: TlsAxis) -> None:
    held = [await tls_axis.connect() for _ in range(2)]
    await eventually(lambda: tls_axis.guard.open == 2)
    third = await tls_axis.connect()
    refused = await third.response()
    assert (refused.status, refused.code) == (503, "unavailable")
    assert tls_axis.guard.refused == 1
    for client in held:
        client.close()
    await eventually(lambda: tls_axis.guard.open == 0)
    await _healthy(tls_axis)
