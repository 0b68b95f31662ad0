"""One measured phase: drive intake while the recipients take delivery, then drain.

A phase starts the pull recipient and the delivery watch, submits its
documents, notes the backlog the moment intake ends, and waits (bounded) until
every accepted document is delivered: acked by the pull recipient or stored by
the reference endpoint.
"""

from __future__ import annotations

import asyncio
from asyncio import FIRST_COMPLETED
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiohttp

from edoc_axis.bench.loadgen import (
    DeliveryWatch,
    IntakeResult,
    PullRecipient,
    pushed_count,
    submit_all,
)
from edoc_axis.bench.rig import PULLER, Rig

DRAIN_TIMEOUT_S = 120.0


class PhaseFailed(Exception):
    """A phase stopped on a connection error: which phase, and where the logs are."""


@dataclass
class Phase:
    """Intake and delivery figures of one phase."""

    intake: IntakeResult
    delivered: int
    backlog_at_intake_end: int
    delivered_at: float | None
    axis_cpu_s: float
    pull_errors: dict[str, int]
    pulled_during_intake: int = 0
    pushed_during_intake: int = 0

    @property
    def delivery_rate(self) -> float:
        if self.delivered_at is None:
            return 0.0
        return self.delivered / max(self.delivered_at - self.intake.started, 1e-9)

    def summary(self) -> dict[str, Any]:
        intake = self.intake
        seconds = max(intake.seconds, 1e-9)
        return {
            "documents": intake.sent,
            "accepted": intake.accepted,
            "seconds": round(intake.seconds, 3),
            "accepted_per_s": round(intake.rate, 1),
            "latency_ms": latency_ms(intake),
            "errors": dict(intake.errors),
            "delivered": self.delivered,
            "delivered_per_s": round(self.delivery_rate, 1),
            # while intake ran, by way of delivery: which one falls behind
            "pulled_during_intake_per_s": round(self.pulled_during_intake / seconds, 1),
            "pushed_during_intake_per_s": round(self.pushed_during_intake / seconds, 1),
            "backlog_at_intake_end": self.backlog_at_intake_end,
            "drained": self.delivered_at is not None,
            "axis_cpu_ms_per_document": round(1000 * self.axis_cpu_s / max(intake.accepted, 1), 3),
            "delivery_errors": self.pull_errors,
        }


def latency_ms(result: IntakeResult) -> dict[str, float]:
    return {f"p{p}": round(1000 * result.percentile(p), 2) for p in (50, 95, 99)}


async def ceiling_phase(
    url: str, documents: Sequence[bytes], concurrency: int, on_done: Callable[[], None]
) -> IntakeResult:
    return await submit_all(url, "none", documents, concurrency, on_done=on_done)


async def axis_phase(
    rig: Rig,
    documents: Sequence[bytes],
    concurrency: int,
    *,
    rate: float | None = None,
    on_done: Callable[[], None] | None = None,
    deliver_meanwhile: bool = True,
) -> Phase:
    """Submit ``documents`` as the sender while the recipients take delivery.

    Without ``deliver_meanwhile`` the pull recipient starts only when intake has
    ended (documents addressed to it alone then measure intake by itself).
    """
    assert rig.axis is not None
    journal = rig.folder / "received" / "received.jsonl"
    pushed_before = pushed_count(journal)
    cpu_before = rig.axis.cpu_seconds()
    stop = asyncio.Event()
    pull = PullRecipient(rig.url, rig.tokens[PULLER[0]])
    watch = DeliveryWatch(offset=pushed_before)
    pulling = asyncio.create_task(pull.run(stop)) if deliver_meanwhile else None
    expected = asyncio.get_running_loop().create_future()
    watching = asyncio.create_task(watch.run(journal, pull, expected, stop))
    urls = [node + "/api/v1/documents" for node in rig.urls]
    token = rig.tokens[rig.sender().code]
    intake = await submit_all(urls, token, documents, concurrency, rate=rate, on_done=on_done)
    if pulling is None:
        pulling = asyncio.create_task(pull.run(stop))
    expected.set_result(intake.accepted)
    backlog = intake.accepted - watch.delivered_by(intake.finished)
    pulled, pushed = watch.ways_by(intake.finished)
    # Until every document is delivered, or the pull recipient fails (then at once,
    # not after the drain timeout), or the timeout.
    await asyncio.wait({watching, pulling}, timeout=DRAIN_TIMEOUT_S, return_when=FIRST_COMPLETED)
    stop.set()
    await asyncio.gather(pulling, watching)
    delivered_at = watch.completed_at(intake.accepted)
    return Phase(
        intake=intake,
        delivered=watch.latest,
        backlog_at_intake_end=max(backlog, 0),
        delivered_at=delivered_at,
        axis_cpu_s=rig.axis.cpu_seconds() - cpu_before,
        pull_errors=dict(pull.errors),
        pulled_during_intake=pulled,
        pushed_during_intake=pushed,
    )


T = TypeVar("T")


async def named(name: str, phase: Awaitable[T], folder: Path) -> T:
    """Run a phase; a lost connection says in which phase and where the logs are."""
    try:
        return await phase
    except (aiohttp.ClientError, OSError) as exc:
        raise PhaseFailed(
            f"bench phase '{name}' lost a connection: {type(exc).__name__}: {exc}"
            f" (the processes' logs are in {folder})"
        ) from exc
