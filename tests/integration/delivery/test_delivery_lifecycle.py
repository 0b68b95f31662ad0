"""The background loop: wake-ups, a draining stop, and misuse."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, cast

import pytest
from aiohttp import web

from edoc_axis.clock import SystemClock
from edoc_axis.delivery import PushDispatcher
from edoc_axis.pki import Issued
from edoc_axis.signature import TrustStore
from edoc_axis.store import Claim, Store
from tests.integration.delivery import (
    FAST,
    Handler,
    make_dispatcher,
    open_axis,
    running_endpoint,
)
from tests.waiting import eventually

H49 = "000.00.00.H49"


class ClaimWatcher:
    """The store, with a record of how many claims came back empty."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.empty_claims = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def claim_due_deliveries(self, *args: Any) -> list[Claim]:
        claims = await self._store.claim_due_deliveries(*args)
        self.empty_claims += not claims
        return claims


async def test_wake_claims_at_once_instead_of_at_the_next_poll(
    tmp_path: Path, agency_g22: Issued, axis_signer: Issued, trust_store: TrustStore
) -> None:
    async with (
        open_axis(tmp_path, agency_g22) as axis,
        running_endpoint(tmp_path / "in", axis_signer, trust_store) as endpoint,
    ):
        await axis.add_recipient(H49, endpoint.url)
        watcher = ClaimWatcher(axis.store)
        dispatcher = PushDispatcher(
            cast(Store, watcher),
            SystemClock(),
            axis_key=axis_signer.key,
            axis_cert=axis_signer.cert,
            settings=FAST,
            poll_interval_s=60.0,
        )
        await dispatcher.start()
        try:

            async def asleep() -> bool:
                return watcher.empty_claims == 1

            await eventually(asleep)  # found nothing; the next poll is 60 s away
            (axis_id,) = await axis.post(H49)
            dispatcher.wake()

            async def delivered() -> bool:
                return (await axis.delivery(axis_id, H49)).state == "delivered"

            await eventually(delivered, timeout_s=2.0)  # far below the 60 s poll
            with pytest.raises(RuntimeError):
                await dispatcher.run_until_idle(timeout_s=1)
            with pytest.raises(RuntimeError):
                await dispatcher.start()
        finally:
            await dispatcher.stop()


async def test_stop_lets_a_running_push_finish_and_records_it(
    tmp_path: Path, agency_g22: Issued, axis_signer: Issued, trust_store: TrustStore
) -> None:
    arrived, proceed = asyncio.Event(), asyncio.Event()

    async def gated(request: web.Request, handler: Handler) -> web.StreamResponse:
        arrived.set()
        await proceed.wait()
        return await handler(request)

    async with (
        open_axis(tmp_path, agency_g22) as axis,
        running_endpoint(tmp_path / "in", axis_signer, trust_store, fault=gated) as endpoint,
    ):
        await axis.add_recipient(H49, endpoint.url)
        (axis_id,) = await axis.post(H49)
        dispatcher = make_dispatcher(axis, axis_signer)
        await dispatcher.start()
        await asyncio.wait_for(arrived.wait(), timeout=5)
        stopping = asyncio.create_task(dispatcher.stop(drain_timeout_s=5))
        await asyncio.sleep(0)  # the stop is now waiting for the push
        assert not stopping.done()
        proceed.set()
        await stopping
        delivery = await axis.delivery(axis_id, H49)
        assert (delivery.state, delivery.attempts) == ("delivered", 1)
        assert endpoint.journal_ids() == [axis_id]
