"""Push delivery end to end: dispatcher → real reference endpoint → documents stored once."""

from __future__ import annotations

import asyncio
import os
import random
from pathlib import Path

import pytest
from aiohttp import web

from edoc_axis.pki import Issued
from edoc_axis.signature import TrustStore
from edoc_axis.store.records import PIECEWISE_BYTES
from tests.integration.delivery import (
    Handler,
    drop_connection,
    make_dispatcher,
    open_axis,
    running_endpoint,
)
from tests.waiting import eventually

H49 = "000.00.00.H49"


async def test_a_document_is_delivered_once_with_the_exact_bytes(
    tmp_path: Path, agency_g22: Issued, axis_signer: Issued, trust_store: TrustStore
) -> None:
    hook: list[tuple[str, float]] = []
    async with (
        open_axis(tmp_path, agency_g22) as axis,
        running_endpoint(tmp_path / "inbox", axis_signer, trust_store) as endpoint,
    ):
        await axis.add_recipient(H49, endpoint.url)
        (axis_id,) = await axis.post(H49)
        dispatcher = make_dispatcher(
            axis, axis_signer, on_attempt=lambda label, s: hook.append((label, s))
        )
        await dispatcher.run_until_idle(timeout_s=10)
        delivery = await axis.delivery(axis_id, H49)
        assert (delivery.state, delivery.attempts, delivery.last_error) == ("delivered", 1, None)
        stored = (tmp_path / "inbox" / "documents" / f"{axis_id}.xml").read_bytes()
        assert stored == await axis.store.document_bytes(axis_id)
        assert endpoint.journal_ids() == [axis_id]
        assert endpoint.answered == [201]
        assert [label for label, _ in hook] == ["delivered"]
        assert hook[0][1] >= 0


@pytest.mark.parametrize("store_fails_once", [False, True], ids=["whole", "cut midway"])
async def test_a_large_document_is_pushed_a_piece_at_a_time_with_the_exact_bytes(
    tmp_path: Path,
    agency_g22: Issued,
    axis_signer: Issued,
    trust_store: TrustStore,
    store_fails_once: bool,
) -> None:
    # Over PIECEWISE_BYTES: read from the store and sent a piece at a time, its
    # delivery signature made over the stored digest; the endpoint checks both.
    # A push the store fails midway stores nothing and is tried again.
    async with (
        open_axis(tmp_path, agency_g22) as axis,
        running_endpoint(tmp_path / "inbox", axis_signer, trust_store) as endpoint,
    ):
        await axis.add_recipient(H49, endpoint.url)
        (axis_id,) = await axis.post(H49, attachment=os.urandom(2_500_000))
        raw = await axis.store.document_bytes(axis_id)
        assert len(raw) >= PIECEWISE_BYTES * 3
        real_piece = axis.store.document_piece
        failed: list[int] = []

        async def failing_once(sha256: str, offset: int, length: int) -> bytes:
            if store_fails_once and offset > 0 and not failed:
                failed.append(offset)
                raise OSError("disk I/O error")
            return await real_piece(sha256, offset, length)

        axis.store.document_piece = failing_once  # type: ignore[method-assign]
        await make_dispatcher(axis, axis_signer).run_until_idle(timeout_s=20)
        delivery = await axis.delivery(axis_id, H49)
        assert bool(failed) == store_fails_once
        assert (delivery.state, delivery.attempts) == ("delivered", 1 + store_fails_once)
        assert (tmp_path / "inbox" / "documents" / f"{axis_id}.xml").read_bytes() == raw
        assert endpoint.journal_ids() == [axis_id]  # a cut push stored nothing
        assert endpoint.answered[-1] == 201


async def test_per_endpoint_concurrency_is_respected_and_used(
    tmp_path: Path, agency_g22: Issued, axis_signer: Issued, trust_store: TrustStore
) -> None:
    async def slow(request: web.Request, handler: Handler) -> web.StreamResponse:
        await asyncio.sleep(0.05)  # simulated work, so that pushes overlap
        return await handler(request)

    async with (
        open_axis(tmp_path, agency_g22) as axis,
        running_endpoint(tmp_path / "inbox", axis_signer, trust_store, fault=slow) as endpoint,
    ):
        await axis.add_recipient(H49, endpoint.url)
        ids = await axis.post(H49, 8)
        await make_dispatcher(axis, axis_signer).run_until_idle(timeout_s=10)
        assert await axis.states(ids, H49) == ["delivered"] * 8
        assert endpoint.max_in_flight == 2  # FAST.per_endpoint_concurrency
        assert sorted(endpoint.journal_ids()) == sorted(ids)


async def test_flapping_endpoint_still_gets_everything_exactly_once(
    tmp_path: Path, agency_g22: Issued, axis_signer: Issued, trust_store: TrustStore
) -> None:
    faults = random.Random(20260102)
    seen = {"503": 0, "drop_before": 0, "drop_after": 0}

    async def flap(request: web.Request, handler: Handler) -> web.StreamResponse:
        roll = faults.random()
        if roll < 0.25:
            seen["503"] += 1
            return web.Response(status=503, headers={"Retry-After": "0"}, text="busy")
        if roll < 0.4:
            seen["drop_before"] += 1
            return drop_connection(request)
        if roll < 0.6:
            # Stored, but the answer is lost: the axis must push again and
            # the endpoint must not store a second copy.
            await handler(request)
            seen["drop_after"] += 1
            return drop_connection(request)
        return await handler(request)

    async with (
        open_axis(tmp_path, agency_g22) as axis,
        running_endpoint(tmp_path / "inbox", axis_signer, trust_store, fault=flap) as endpoint,
    ):
        await axis.add_recipient(H49, endpoint.url)
        ids = await axis.post(H49, 20)
        dispatcher = make_dispatcher(axis, axis_signer, rng=random.Random(7))
        await dispatcher.run_until_idle(timeout_s=20)
        assert await axis.states(ids, H49) == ["delivered"] * 20
        assert sorted(endpoint.journal_ids()) == sorted(ids)  # each exactly once
        assert endpoint.stored_files() == sorted(f"{i}.xml" for i in ids)
        assert all(count > 0 for count in seen.values()), seen
        assert 200 in endpoint.answered  # a re-delivery after a lost answer was a duplicate


async def test_an_endpoint_down_for_a_while_gets_its_backlog(
    tmp_path: Path, agency_g22: Issued, axis_signer: Issued, trust_store: TrustStore
) -> None:
    async with running_endpoint(tmp_path / "probe", axis_signer, None) as probe:
        port = probe.server.port
        url = probe.url
    # Nothing listens on the port now: connections are refused.
    async with open_axis(tmp_path, agency_g22) as axis:
        await axis.add_recipient(H49, url)
        ids = await axis.post(H49, 5)
        dispatcher = make_dispatcher(axis, axis_signer)
        await dispatcher.start()
        try:

            async def failed_twice() -> bool:
                return all(d.attempts >= 2 for d in [await axis.delivery(i, H49) for i in ids])

            await eventually(failed_twice)
            assert await axis.states(ids, H49) == ["pending"] * 5
            assert "connection" in ((await axis.delivery(ids[0], H49)).last_error or "")
            async with running_endpoint(
                tmp_path / "inbox", axis_signer, trust_store, port=port
            ) as endpoint:

                async def all_delivered() -> bool:
                    return await axis.states(ids, H49) == ["delivered"] * 5

                await eventually(all_delivered)
                assert sorted(endpoint.journal_ids()) == sorted(ids)
        finally:
            await dispatcher.stop(drain_timeout_s=2)
