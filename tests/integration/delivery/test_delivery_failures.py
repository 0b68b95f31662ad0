"""Failing endpoints: dead letters, permanent refusals, Retry-After, stale outcomes."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from structlog.testing import capture_logs

from edoc_axis.pki import Issued
from edoc_axis.signature import TrustStore
from edoc_axis.store import Delivered
from tests.integration.delivery import (
    FAST,
    Handler,
    make_dispatcher,
    open_axis,
    running_endpoint,
)
from tests.waiting import eventually

H49 = "000.00.00.H49"


def _events(logs: Sequence[Mapping[str, Any]], name: str) -> list[Mapping[str, Any]]:
    return [entry for entry in logs if entry["event"] == name]


async def test_an_always_failing_endpoint_dead_letters_after_max_attempts(
    tmp_path: Path, agency_g22: Issued, axis_signer: Issued, trust_store: TrustStore
) -> None:
    async def broken(request: web.Request, handler: Handler) -> web.StreamResponse:
        return web.Response(status=500, text="database on fire")

    settings = dataclasses.replace(FAST, max_attempts=3)
    async with (
        open_axis(tmp_path, agency_g22) as axis,
        running_endpoint(tmp_path / "in", axis_signer, trust_store, fault=broken) as endpoint,
    ):
        await axis.add_recipient(H49, endpoint.url)
        (axis_id,) = await axis.post(H49)
        with capture_logs() as logs:
            await make_dispatcher(axis, axis_signer, settings).run_until_idle(timeout_s=10)
        delivery = await axis.delivery(axis_id, H49)
        assert (delivery.state, delivery.attempts) == ("dead", 3)
        assert delivery.last_error == "3 attempts failed, last: HTTP 500: database on fire"
        assert endpoint.requests == 3
        dead = await axis.store.dead_letters(limit=10)
        assert [d.axis_id for d in dead.items] == [axis_id]
        assert len(_events(logs, "delivery.retry_scheduled")) == 2
        (dead_event,) = _events(logs, "delivery.dead_lettered")
        assert dead_event["axis_id"] == axis_id
        assert dead_event["recipient"] == H49
        assert dead_event["permanent"] is False


async def test_a_refusal_dead_letters_at_once_and_an_operator_retry_delivers(
    tmp_path: Path, agency_g22: Issued, axis_signer: Issued, trust_store: TrustStore
) -> None:
    refusing = True

    async def picky(request: web.Request, handler: Handler) -> web.StreamResponse:
        if refusing:
            return web.json_response({"code": "agency.closed"}, status=400)
        return await handler(request)

    async with (
        open_axis(tmp_path, agency_g22) as axis,
        running_endpoint(tmp_path / "in", axis_signer, trust_store, fault=picky) as endpoint,
    ):
        await axis.add_recipient(H49, endpoint.url)
        (axis_id,) = await axis.post(H49)
        dispatcher = make_dispatcher(axis, axis_signer)
        with capture_logs() as logs:
            await dispatcher.run_until_idle(timeout_s=10)
        delivery = await axis.delivery(axis_id, H49)
        assert (delivery.state, delivery.attempts) == ("dead", 1)
        assert delivery.last_error == "endpoint refused: HTTP 400: agency.closed"
        assert _events(logs, "delivery.dead_lettered")[0]["permanent"] is True

        refusing = False
        await axis.store.retry_dead_letter(delivery.id, datetime.now(UTC))
        await dispatcher.run_until_idle(timeout_s=10)
        delivery = await axis.delivery(axis_id, H49)
        assert (delivery.state, delivery.attempts) == ("delivered", 2)
        assert endpoint.journal_ids() == [axis_id]


async def test_retry_after_is_honoured(
    tmp_path: Path, agency_g22: Issued, axis_signer: Issued, trust_store: TrustStore
) -> None:
    async def throttled(request: web.Request, handler: Handler) -> web.StreamResponse:
        return web.Response(status=429, headers={"Retry-After": "120"})

    async with (
        open_axis(tmp_path, agency_g22) as axis,
        running_endpoint(tmp_path / "in", axis_signer, trust_store, fault=throttled) as endpoint,
    ):
        await axis.add_recipient(H49, endpoint.url)
        (axis_id,) = await axis.post(H49)
        before = datetime.now(UTC)
        await make_dispatcher(axis, axis_signer).run_until_idle(timeout_s=2)
        delivery = await axis.delivery(axis_id, H49)
        assert (delivery.state, delivery.attempts, delivery.last_error) == (
            "pending",
            1,
            "HTTP 429",
        )
        assert delivery.next_attempt_at >= before + timedelta(seconds=120)
        assert endpoint.requests == 1


async def test_an_endpoint_that_does_not_know_this_axis_refuses_it_for_good(
    tmp_path: Path, agency_g22: Issued, axis_signer: Issued, untrusted_cert: Issued
) -> None:
    async with (
        open_axis(tmp_path, agency_g22) as axis,
        running_endpoint(tmp_path / "in", untrusted_cert, None) as endpoint,
    ):
        await axis.add_recipient(H49, endpoint.url)
        (axis_id,) = await axis.post(H49)
        await make_dispatcher(axis, axis_signer).run_until_idle(timeout_s=5)
        delivery = await axis.delivery(axis_id, H49)
        assert (delivery.state, delivery.attempts) == ("dead", 1)
        assert delivery.last_error == "endpoint refused: HTTP 401: signature.invalid"
        assert endpoint.journal_ids() == []


async def test_an_outcome_after_the_lease_was_lost_is_dropped(
    tmp_path: Path, agency_g22: Issued, axis_signer: Issued, trust_store: TrustStore
) -> None:
    release = asyncio.Event()

    async def stuck(request: web.Request, handler: Handler) -> web.StreamResponse:
        await release.wait()
        return web.Response(status=500)

    settings = dataclasses.replace(FAST, lease_s=0.2)
    async with (
        open_axis(tmp_path, agency_g22) as axis,
        running_endpoint(tmp_path / "in", axis_signer, trust_store, fault=stuck) as endpoint,
    ):
        await axis.add_recipient(H49, endpoint.url)
        (axis_id,) = await axis.post(H49)
        with capture_logs() as logs:
            run = asyncio.create_task(
                make_dispatcher(axis, axis_signer, settings).run_until_idle(timeout_s=10)
            )
            try:

                async def first_push_hangs() -> bool:
                    return endpoint.requests == 1

                await eventually(first_push_hangs)

                async def reclaimed_by_another_worker() -> bool:
                    claims = await axis.store.claim_due_deliveries(
                        datetime.now(UTC), 1, 30.0, "other-worker"
                    )
                    for claim in claims:
                        now = datetime.now(UTC)
                        assert await axis.store.record_outcome(
                            claim.delivery_id, claim.attempt, Delivered(), now
                        )
                    return bool(claims)

                await eventually(reclaimed_by_another_worker)
            finally:
                release.set()
            await run
        delivery = await axis.delivery(axis_id, H49)
        assert (delivery.state, delivery.attempts, delivery.last_error) == ("delivered", 2, None)
        (stale,) = _events(logs, "delivery.stale_outcome")
        assert (stale["axis_id"], stale["attempt"], stale["outcome"]) == (axis_id, 1, "retry")
        assert not _events(logs, "delivery.retry_scheduled")
