"""Size limits at N and N+1, enforced while streaming, and the per-agency rate limit."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.integration.server.conftest import ConfigTweak, RunningAxis, with_limits

G22, H49 = "000.00.00.G22", "000.00.00.H49"
LIMIT = 40_000
ENDLESS = 512 * 1024 * 1024


@pytest.fixture
def config_tweak() -> ConfigTweak:
    return with_limits(max_body_bytes=LIMIT, rate_per_s=0.01, rate_burst=4)


async def test_body_at_the_limit_is_read_one_byte_over_is_refused(axis: RunningAxis) -> None:
    sender = await axis.register(G22)
    at_limit = await axis.call("POST", "/api/v1/documents", token=sender.token, data=b"<" * LIMIT)
    assert at_limit.code == "xml.malformed"  # read and parsed, not refused for size
    over = await axis.call("POST", "/api/v1/documents", token=sender.token, data=b"<" * (LIMIT + 1))
    assert (over.status, over.code) == (413, "payload.too-large")


async def test_a_chunked_body_is_cut_while_streaming(axis: RunningAxis) -> None:
    sender = await axis.register(G22)
    produced = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal produced
        while produced < ENDLESS:
            produced += 65536
            yield b" " * 65536

    try:
        response = await axis.call(
            "POST",
            "/api/v1/documents",
            token=sender.token,
            data=endless(),  # type: ignore[arg-type]
        )
    except aiohttp.ClientError:
        response = None  # the server may stop reading and close first: also a refusal
    if response is not None:
        assert (response.status, response.code) == (413, "payload.too-large")
    # Loopback socket buffers absorb a few MB; the server must not drain the rest.
    assert produced < ENDLESS // 8


async def test_signed_document_over_the_limit(axis: RunningAxis) -> None:
    from edoc_axis.edxml import Attachment

    sender = await axis.register(G22)
    await axis.register(H49)
    big = Attachment.from_bytes("cid:1", "big.bin", b"\x01" * LIMIT)
    raw = axis.signed(sender, [H49], attachments=[big])
    response = await axis.submit(raw, sender)
    assert (response.status, response.code) == (413, "payload.too-large")
    assert (await axis.store.inbox(H49, limit=5)).items == ()


async def test_rate_limit_answers_429_with_retry_after(axis: RunningAxis) -> None:
    sender = await axis.register(G22)
    await axis.register(H49)
    statuses = []
    for _ in range(5):
        response = await axis.submit(axis.signed(sender, [H49]), sender)
        statuses.append(response.status)
    assert statuses[:4] == [202, 202, 202, 202]
    assert statuses[4] == 429
    assert response.code == "rate.limited"
    assert int(response.headers["Retry-After"]) >= 1
    assert len((await axis.store.inbox(H49, limit=10)).items) == 4


async def test_refusals_are_audited_but_a_flood_is_not(axis: RunningAxis) -> None:
    sender = await axis.register(G22)
    await axis.register(H49)
    for _ in range(6):  # burst 4, then rate.limited
        await axis.submit(axis.document(sender, [H49]), sender)  # unsigned: refused
    codes = [
        entry.detail.get("code")
        async for entry in axis.store.iter_audit()
        if entry.event == "document.refused"
    ]
    assert codes == ["signature.missing"] * 4
