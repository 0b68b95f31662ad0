"""Waiting until something holds: the one polling helper of the whole suite.

For what a test cannot be told about directly (another process, a file, a
row in the store). The timeouts are generous ceilings for a slow machine,
never speed assertions: a condition that holds is seen at the next poll.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")
POLL_S = 0.01


async def eventually(
    condition: Callable[[], T | Awaitable[T]],
    timeout_s: float = 10.0,
    what: str = "the condition",
    *,
    poll_s: float = POLL_S,
) -> T:
    """Poll ``condition`` (plain or async) until it is truthy; return that value.

    Fails with an AssertionError naming ``what`` after ``timeout_s``.
    """
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout_s
    while True:
        result = condition()
        value = await result if inspect.isawaitable(result) else result
        if value:
            return value  # type: ignore[return-value]
        if loop.time() >= end:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(poll_s)


def eventually_sync(
    condition: Callable[[], T],
    timeout_s: float = 10.0,
    what: str = "the condition",
    *,
    poll_s: float = POLL_S,
) -> T:
    """``eventually`` for code outside an event loop (subprocess tests)."""
    end = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= end:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(poll_s)
