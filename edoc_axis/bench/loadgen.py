"""The load generator: C concurrent HTTP clients, a pull recipient, delivery counting.

Closed loop by default (each client sends its next document when the previous
answer arrives: the maximum rate); with ``rate`` it is open loop, each
document due at ``start + i / rate`` and its latency counted from when it was
due, so a stalled server cannot hide its queueing from the figures.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from edoc_axis import outgoing
from edoc_axis.client import split_multipart

XML = "application/xml"


@dataclass
class IntakeResult:
    """What one intake run saw from the client side."""

    sent: int = 0
    accepted: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    axis_ids: list[str] = field(default_factory=list)  # of the accepted, as they came
    started: float = 0.0
    finished: float = 0.0

    @property
    def seconds(self) -> float:
        return max(self.finished - self.started, 1e-9)

    @property
    def rate(self) -> float:
        return self.accepted / self.seconds

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def _error_code(response: aiohttp.ClientResponse) -> str:
    body = await response.read()
    try:
        code = json.loads(body).get("code")
    except (ValueError, AttributeError):
        code = None
    return str(code) if code else f"http.{response.status}"


async def submit_all(
    url: str | Sequence[str],
    token: str,
    documents: Sequence[bytes],
    concurrency: int,
    *,
    rate: float | None = None,
    on_done: Callable[[], None] | None = None,
) -> IntakeResult:
    """POST every document once with ``concurrency`` clients; see the module docstring.

    Several URLs (several axis nodes): client i posts to URL i mod n, as a
    load balancer spreading connections would.
    """
    urls = [url] if isinstance(url, str) else list(url)
    result = IntakeResult()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": XML}
    connector = outgoing.connector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=300)
    next_index = 0

    async def client(session: aiohttp.ClientSession, url: str) -> None:
        nonlocal next_index
        while next_index < len(documents):
            index, next_index = next_index, next_index + 1
            due = time.perf_counter()
            if rate is not None:
                due = result.started + index / rate
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
            body, body_headers = outgoing.request_body(documents[index])
            async with session.post(url, data=body, headers=headers | body_headers) as response:
                if response.status in (200, 202):
                    await response.read()
                    result.accepted += 1
                    result.axis_ids.append(response.headers.get("Edoc-Axis-Id", ""))
                else:
                    result.errors[await _error_code(response)] += 1
            result.latencies.append(time.perf_counter() - due)
            result.sent += 1
            if on_done is not None:
                on_done()

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        result.started = time.perf_counter()
        await asyncio.gather(*(client(session, urls[i % len(urls)]) for i in range(concurrency)))
        result.finished = time.perf_counter()
    return result


ACK_BATCH = 100
"""Fetched documents the bench's pull recipient acknowledges in one request."""
FETCH_BATCH = 50
"""Documents the bench's pull recipient fetches in one request (``POST /api/v1/inbox/fetch``)."""


class PullRecipient:
    """Drains a pull agency's inbox as documents arrive: fetch the bytes FETCH_BATCH at a
    time (``POST /api/v1/inbox/fetch``), then ack the fetched ones together (``POST
    /api/v1/inbox/ack``), as `edoc receive` does."""

    def __init__(self, base_url: str, token: str, workers: int = 2) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}"}
        self.workers = workers
        self.acked: set[str] = set()
        self.last_ack_at = 0.0
        self.errors: Counter[str] = Counter()
        self._claimed: set[str] = set()

    async def run(self, stop: asyncio.Event) -> None:
        """Poll, fetch and ack until ``stop`` is set and the inbox is empty."""
        connector = outgoing.connector(limit=self.workers + 1)
        async with aiohttp.ClientSession(connector=connector) as session:
            while True:
                ids = await self._waiting(session)
                if ids:
                    await self._take(session, ids)
                elif stop.is_set():
                    return
                else:
                    await asyncio.sleep(0.05)

    async def _waiting(self, session: aiohttp.ClientSession) -> list[str]:
        url = f"{self.base_url}/api/v1/inbox?limit=200"
        async with session.get(url, headers=self.headers) as response:
            if response.status != 200:
                self.errors[await _error_code(response)] += 1
                await asyncio.sleep(0.1)
                return []
            items = (await response.json())["items"]
        return [item["id"] for item in items if item["id"] not in self._claimed]

    async def _take(self, session: aiohttp.ClientSession, ids: list[str]) -> None:
        self._claimed.update(ids)
        queue: asyncio.Queue[list[str]] = asyncio.Queue()
        for start in range(0, len(ids), FETCH_BATCH):
            queue.put_nowait(ids[start : start + FETCH_BATCH])

        fetched: list[str] = []

        async def worker() -> None:
            while not queue.empty():
                batch = queue.get_nowait()
                while batch:  # an answer may stop at its byte limit: ask for the rest
                    answered, saved = await self._fetch(session, batch)
                    if not answered:
                        break
                    fetched.extend(saved)
                    batch = batch[answered:]

        await asyncio.gather(*(worker() for _ in range(self.workers)))
        for start in range(0, len(fetched), ACK_BATCH):
            await self._ack(session, fetched[start : start + ACK_BATCH])

    async def _fetch(self, session: aiohttp.ClientSession, ids: list[str]) -> tuple[int, list[str]]:
        """How many of ``ids`` were answered (the first ones), and those that came whole."""
        url = f"{self.base_url}/api/v1/inbox/fetch"
        async with session.post(url, headers=self.headers, json={"ids": ids}) as response:
            body = await response.read()
            if response.status != 200:
                self.errors[await _error_code(response)] += len(ids)
                return 0, []
            parts = split_multipart(body, response.headers.get("Content-Type", ""))
        for part in parts:
            if not part.ok:
                self.errors[json.loads(part.body).get("code", "unknown")] += 1
        return len(parts), [part.axis_id for part in parts if part.ok]

    async def _ack(self, session: aiohttp.ClientSession, ids: list[str]) -> None:
        url = f"{self.base_url}/api/v1/inbox/ack"
        async with session.post(url, headers=self.headers, json={"ids": ids}) as response:
            if response.status != 200:
                self.errors[await _error_code(response)] += len(ids)
                return
            items = (await response.json())["items"]
        for item in items:
            if "error" in item:
                self.errors[item["error"]["code"]] += 1
            else:
                self.acked.add(item["id"])
        self.last_ack_at = time.perf_counter()


def pushed_count(journal: Path) -> int:
    """Documents the push recipient's endpoint has stored (one journal line each).

    Counted at the recipient rather than from the axis's /metrics, which with
    several axis processes shows only the process that answers the scrape.
    """
    try:
        with journal.open("rb") as handle:
            return sum(1 for _ in handle)
    except FileNotFoundError:
        return 0


@dataclass
class DeliveryWatch:
    """Delivered-document counts over time: pull acks plus push deliveries past ``offset``."""

    offset: int = 0
    samples: list[tuple[float, int]] = field(default_factory=list)
    # (time, pulled, pushed) at each sample: which way of delivery falls behind
    ways: list[tuple[float, int, int]] = field(default_factory=list)

    @property
    def latest(self) -> int:
        return self.samples[-1][1] if self.samples else 0

    def ways_by(self, moment: float) -> tuple[int, int]:
        """(pulled, pushed) at the last sample taken by ``moment``."""
        return max(((pl, ps) for t, pl, ps in self.ways if t <= moment), default=(0, 0))

    async def run(
        self,
        journal: Path,
        pull: PullRecipient,
        expected: asyncio.Future[int],
        stop: asyncio.Event,
    ) -> None:
        """Sample every 0.1 s until ``expected`` is known and reached, or ``stop``."""
        while True:
            pushed = pushed_count(journal) - self.offset
            now = time.perf_counter()
            self.samples.append((now, len(pull.acked) + pushed))
            self.ways.append((now, len(pull.acked), pushed))
            if expected.done() and self.latest >= expected.result():
                return
            if stop.is_set():
                return
            await asyncio.sleep(0.1)

    def delivered_by(self, moment: float) -> int:
        return max((n for t, n in self.samples if t <= moment), default=0)

    def completed_at(self, expected: int) -> float | None:
        return next((t for t, n in self.samples if n >= expected), None)
