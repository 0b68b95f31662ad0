"""The large-document mode: one big signed document, and several at once.

The axis's peak RSS is reset (``/proc/PID/clear_refs``) before the document
is sent, so the growth reported is this document's alone. Then the same
document is sent by several clients at once to show the in-flight byte
budget: the excess is answered 503 with Retry-After, never with the axis
running out of memory.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp

from edoc_axis import outgoing
from edoc_axis.bench.loadgen import submit_all
from edoc_axis.bench.processes import Child
from edoc_axis.bench.rig import PULLER, Rig
from edoc_axis.bench.workload import signed_documents

CONCURRENT = 4
MIB = 1024 * 1024


def _reset_peak(pid: int) -> bool:
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


async def _fetch(rig: Rig, axis_id: str, sent: bytes) -> dict[str, Any]:
    """The pull recipient fetches the document: its exact bytes, and what that cost the axis."""
    assert isinstance(rig.axis, Child)
    reset = _reset_peak(rig.axis.pid)
    before = rig.axis.rss_bytes()
    headers = {"Authorization": f"Bearer {rig.tokens[PULLER[0]]}"}
    started = time.perf_counter()
    async with (
        aiohttp.ClientSession(connector=outgoing.connector(limit=1)) as session,
        session.get(f"{rig.url}/api/v1/inbox/{axis_id}", headers=headers) as response,
    ):
        body = await response.read()
    return {
        "status": response.status,
        "exact": body == sent,
        "seconds": round(time.perf_counter() - started, 2),
        "peak_rss_growth_bytes": rig.axis.peak_rss_bytes() - before if reset else None,
    }


async def large_phase(rig: Rig, size: int) -> dict[str, Any]:
    """Send one ``size``-byte document, then CONCURRENT copies at once."""
    assert isinstance(rig.axis, Child), "the large-document phase runs on one axis"
    document = await asyncio.to_thread(
        signed_documents, rig.sender(), [PULLER[0]], 1, size, tag="large"
    )
    reset = _reset_peak(rig.axis.pid)
    before = rig.axis.rss_bytes()
    url = rig.url + "/api/v1/documents"
    token = rig.tokens[rig.sender().code]
    started = time.perf_counter()
    one = await submit_all(url, token, document, 1)
    seconds = time.perf_counter() - started
    growth = rig.axis.peak_rss_bytes() - before
    body = len(document[0])
    fetched = await _fetch(rig, one.axis_ids[0], document[0]) if one.accepted else None
    several = await submit_all(url, token, document * CONCURRENT, CONCURRENT)
    return {
        "size_bytes": body,
        "accepted": one.accepted == 1,
        "errors": dict(one.errors),
        "seconds": round(seconds, 2),
        "rss_before_bytes": before,
        "peak_rss_growth_bytes": growth if reset else None,
        "growth_limit_bytes": 2 * body + 64 * MIB,
        "fetch": fetched,
        "concurrent": {
            "sent": CONCURRENT,
            "accepted": several.accepted,
            "refused": dict(several.errors),
            "axis_peak_rss_bytes": rig.axis.peak_rss_bytes(),
        },
    }
