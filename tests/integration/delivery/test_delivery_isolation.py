"""One dead or slow endpoint must not delay the others; an open circuit spares the endpoint."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

from aiohttp import web

from edoc_axis.pki import Issued
from edoc_axis.signature import TrustStore
from tests.integration.delivery import (
    FAST,
    Handler,
    make_dispatcher,
    open_axis,
    running_endpoint,
)
from tests.waiting import eventually

SLOW, FINE = "000.00.00.H49", "000.00.00.H50"


async def test_a_hanging_endpoint_does_not_delay_another(
    tmp_path: Path, agency_g22: Issued, axis_signer: Issued, trust_store: TrustStore
) -> None:
    release = asyncio.Event()

    async def hang(request: web.Request, handler: Handler) -> web.StreamResponse:
        await release.wait()  # never answers within the read timeout (5 s)
        return await handler(request)

    async with (
        open_axis(tmp_path, agency_g22) as axis,
        running_endpoint(tmp_path / "slow", axis_signer, trust_store, fault=hang) as slow,
        running_endpoint(tmp_path / "fine", axis_signer, trust_store) as fine,
    ):
        await axis.add_recipient(SLOW, slow.url)
        await axis.add_recipient(FINE, fine.url)
        stuck = await axis.post(SLOW, 6)  # queued first, so claimed first
        ids = await axis.post(FINE, 3)
        dispatcher = make_dispatcher(axis, axis_signer)
        await dispatcher.start()
        try:

            async def fine_got_everything() -> bool:
                return await axis.states(ids, FINE) == ["delivered"] * 3

            await eventually(fine_got_everything, timeout_s=1.0)
            assert sorted(fine.journal_ids()) == sorted(ids)
            assert slow.max_in_flight == FAST.per_endpoint_concurrency
        finally:
            await dispatcher.stop(drain_timeout_s=0.1)
            release.set()
        # The stop recorded every claim it held: nothing waits for a lease to expire.
        for axis_id in stuck:
            delivery = await axis.delivery(axis_id, SLOW)
            assert (delivery.state, delivery.lease_owner) == ("pending", None)
        errors = {(await axis.delivery(i, SLOW)).last_error or "" for i in stuck}
        assert any(e.startswith("interrupted") for e in errors), errors
        assert slow.journal_ids() == []


async def test_an_open_circuit_fails_fast_then_a_probe_closes_it(
    tmp_path: Path, agency_g22: Issued, axis_signer: Issued, trust_store: TrustStore
) -> None:
    failing = True

    async def unavailable(request: web.Request, handler: Handler) -> web.StreamResponse:
        if failing:
            return web.Response(status=503)
        return await handler(request)

    settings = dataclasses.replace(FAST, per_endpoint_concurrency=1, workers=2)
    async with (
        open_axis(tmp_path, agency_g22) as axis,
        running_endpoint(tmp_path / "in", axis_signer, trust_store, fault=unavailable) as ep,
    ):
        await axis.add_recipient(SLOW, ep.url)
        ids = await axis.post(SLOW, 5)
        dispatcher = make_dispatcher(
            axis, axis_signer, settings, breaker_threshold=2, breaker_cool_off_s=0.3
        )
        await dispatcher.run_until_idle(timeout_s=5, follow_retries=False)
        # Two real failures opened the circuit; the other claims never reached the endpoint.
        assert ep.requests == 2
        deliveries = [await axis.delivery(i, SLOW) for i in ids]
        assert [d.state for d in deliveries] == ["pending"] * 5
        assert sum("circuit open" in (d.last_error or "") for d in deliveries) >= 3

        failing = False
        await dispatcher.run_until_idle(timeout_s=5)
        assert await axis.states(ids, SLOW) == ["delivered"] * 5
        assert ep.requests == 2 + 5  # after the cool-off: one probe, then the rest
        assert sorted(ep.journal_ids()) == sorted(ids)
