"""The large-document mode: one big signed document, and several at once.

The axis's peak RSS is reset (``/proc/PID/clear_refs``) before the document
is sent, so the growth reported is this document's alone. Then the same
document is sent by several clients at once to show the in-flight byte
budget: the excess is answered 503 with Retry-After, never with the axis
running out of memory.

The agencies' side is measured too: the reference push endpoint (`edoc
endpoint`) receiving one such document (its peak reset the same way), and
`edoc receive` saving one from the pull recipient's inbox (its own peak, read
as it exits, against the same command run with nothing waiting).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp

from edoc_axis import outgoing
from edoc_axis.bench.loadgen import submit_all
from edoc_axis.bench.processes import Child
from edoc_axis.bench.rig import PULLER, PUSHED, Rig
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


# Runs a module as `python -m` would and, once it has ended, writes its own peak
# RSS (VmHWM) to the file named by argv[1]. The rusage of wait4 would not do: at
# exec, Linux folds the forking process's high-water mark into the child's.
_PEAK_REPORTER = """
import atexit, runpy, sys
from pathlib import Path
target = sys.argv[1]
def report():
    status = Path("/proc/self/status").read_text()
    peak = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))
    Path(target).write_text(peak)
atexit.register(report)
sys.argv = [sys.argv[2], *sys.argv[3:]]
runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
"""


def _run_measured(module: str, args: list[str], report: Path) -> tuple[int, int, float]:
    """Run ``python -m module args``: its exit code, its peak RSS in bytes and its seconds."""
    started = time.perf_counter()
    completed = subprocess.run(  # noqa: S603  (our own interpreter and module)
        [sys.executable, "-c", _PEAK_REPORTER, str(report), module, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    seconds = time.perf_counter() - started
    return completed.returncode, int(report.read_text()) * 1024, seconds


async def _received_by_edoc(rig: Rig, sent: bytes) -> dict[str, Any]:
    """`edoc receive`, as the pull recipient runs it, verifies, saves and acknowledges it."""
    out = rig.folder / "edoc-receive"
    pki = rig.home.root / "pki"
    args = [
        "receive", "--axis", rig.url, "--token", rig.tokens[PULLER[0]], "--out", str(out),
        "--ca", str(pki / "ca.cert.pem"), "--crl", str(pki / "ca.crl.pem"),
    ]  # fmt: skip
    report = rig.folder / "edoc-receive.peak"
    run = partial(_run_measured, "edoc_axis.cli.edoc", args, report)
    code, peak, seconds = await asyncio.to_thread(run)
    idle_code, idle_peak, _ = await asyncio.to_thread(run)  # nothing waits any more
    saved = sorted(out.glob("*.edxml"))
    return {
        "exit_code": code,
        "exact": len(saved) == 1 and saved[0].read_bytes() == sent,
        "seconds": round(seconds, 2),
        "peak_rss_bytes": peak,
        "idle_peak_rss_bytes": idle_peak if idle_code == 0 else None,
    }


async def _pushed_to_endpoint(rig: Rig, document: bytes) -> dict[str, Any]:
    """The reference endpoint receives one large push: what that cost it."""
    endpoint = rig.endpoint
    assert endpoint is not None
    reset = _reset_peak(endpoint.pid)
    before = endpoint.rss_bytes()
    token = rig.tokens[rig.sender().code]
    started = time.perf_counter()
    sent = await submit_all(rig.url + "/api/v1/documents", token, [document], 1)
    state = await _delivery_state(rig, sent.axis_ids[0], token) if sent.accepted else "refused"
    return {
        "state": state,
        "seconds": round(time.perf_counter() - started, 2),
        "peak_rss_growth_bytes": endpoint.peak_rss_bytes() - before if reset else None,
    }


async def _delivery_state(rig: Rig, axis_id: str, token: str, timeout_s: float = 120) -> str:
    """The push delivery's state once it has ended (or when the wait ran out)."""
    url = f"{rig.url}/api/v1/documents/{axis_id}/trace"
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + timeout_s
    async with aiohttp.ClientSession(connector=outgoing.connector(limit=1)) as session:
        while True:
            async with session.get(url, headers=headers) as response:
                trace = await response.json()
            state = str(trace["deliveries"][0]["state"])
            if state != "pending" or time.monotonic() > deadline:
                return state
            await asyncio.sleep(0.2)


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
    received = await _received_by_edoc(rig, document[0]) if one.accepted else None
    several = await submit_all(url, token, document * CONCURRENT, CONCURRENT)
    pushed = await asyncio.to_thread(
        signed_documents, rig.sender(), [PUSHED[0]], 1, size, tag="large-push"
    )
    return {
        "size_bytes": body,
        "accepted": one.accepted == 1,
        "errors": dict(one.errors),
        "seconds": round(seconds, 2),
        "rss_before_bytes": before,
        "peak_rss_growth_bytes": growth if reset else None,
        "growth_limit_bytes": 2 * body + 64 * MIB,
        "fetch": fetched,
        "edoc_receive": received,
        "endpoint": await _pushed_to_endpoint(rig, pushed[0]),
        "concurrent": {
            "sent": CONCURRENT,
            "accepted": several.accepted,
            "refused": dict(several.errors),
            "axis_peak_rss_bytes": rig.axis.peak_rss_bytes(),
        },
    }
