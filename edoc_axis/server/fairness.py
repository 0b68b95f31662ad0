"""Examination slots per agency: one agency's bodies cannot fill the worker pool.

The CPU-bound examination runs on a small thread pool. Were it first come,
first served, an agency sending many expensive (if linear) bodies at once
would queue every other agency's documents behind its own. Each agency may
have at most ``per_agency`` examinations running; its further ones wait for
one of its own to finish, while other agencies' bodies go straight to a free
worker.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class ExaminationSlots:
    """At most ``per_agency`` examinations of one agency at once; the rest wait their turn."""

    def __init__(self, per_agency: int) -> None:
        if per_agency < 1:
            raise ValueError("per_agency must be at least 1")
        self.per_agency = per_agency
        self._gates: dict[str, tuple[asyncio.Semaphore, list[int]]] = {}

    @asynccontextmanager
    async def slot(self, agency: str) -> AsyncIterator[None]:
        """Hold one of ``agency``'s slots for the duration of the block."""
        gate = self._gates.get(agency)
        if gate is None:
            gate = self._gates[agency] = (asyncio.Semaphore(self.per_agency), [0])
        semaphore, users = gate
        users[0] += 1
        try:
            async with semaphore:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:  # forget idle agencies: the map holds only busy ones
                del self._gates[agency]

    def busy(self, agency: str) -> int:
        """Requests of ``agency`` holding or waiting for a slot (for tests and metrics)."""
        gate = self._gates.get(agency)
        return 0 if gate is None else gate[1][0]
