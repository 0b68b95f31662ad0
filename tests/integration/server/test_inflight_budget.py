"""The in-flight byte budget: bodies held at once are bounded; the excess gets 503 + Retry-After."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from edoc_axis.edxml import Attachment
from tests.integration.server.conftest import ConfigTweak, RunningAxis, with_limits
from tests.waiting import eventually

G22, H49 = "000.00.00.G22", "000.00.00.H49"
BUDGET = 100_000
HELD = 70_000


@pytest.fixture
def config_tweak() -> ConfigTweak:
    return with_limits(max_inflight_bytes=BUDGET, rate_per_s=0)


async def test_a_body_over_the_budget_waits_its_turn(axis: RunningAxis) -> None:
    sender = await axis.register(G22)
    release = asyncio.Event()

    async def slow_body() -> AsyncIterator[bytes]:
        yield b" " * HELD
        await release.wait()
        yield b"<not-xml"

    held = asyncio.create_task(
        axis.call("POST", "/api/v1/documents", token=sender.token, data=slow_body())  # type: ignore[arg-type]
    )
    await eventually(lambda: axis.services.inflight.used >= HELD, what="the first body held")

    refused = await axis.submit(b" " * (BUDGET - HELD + 1), sender)
    assert (refused.status, refused.code) == (503, "unavailable")
    assert refused.headers["Retry-After"] == "1"
    small = await axis.submit(b"<a/>" + b" " * 100, sender)  # fits beside the held body
    assert small.code == "schema.invalid"

    release.set()
    assert (await held).code == "xml.malformed"
    assert axis.services.inflight.used == 0
    again = await axis.submit(b" " * (BUDGET - HELD + 1), sender)
    assert again.code == "xml.malformed"  # read and parsed now: the budget is free


async def test_one_body_larger_than_the_budget_is_still_accepted_alone(axis: RunningAxis) -> None:
    sender = await axis.register(G22)
    await axis.register(H49)
    big = Attachment.from_bytes("cid:1", "big.bin", b"\x01" * (BUDGET * 2))
    raw = axis.signed(sender, [H49], attachments=[big])
    assert len(raw) > BUDGET
    response = await axis.submit(raw, sender)
    assert response.status == 202, response.body
    assert axis.services.inflight.used == 0


async def test_refusals_give_their_bytes_back(axis: RunningAxis) -> None:
    sender = await axis.register(G22)
    for _ in range(3):
        response = await axis.submit(b"<" * 50_000, sender)
        assert response.code == "xml.malformed"
    assert axis.services.inflight.used == 0
