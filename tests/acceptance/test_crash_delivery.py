"""Crash safety of delivery: SIGKILL the axis under load, restart, nothing lost or doubled.

A steady stream of documents goes to a push agency (the reference endpoint,
as its own process) and a pull agency. The axis is killed with SIGKILL at
random moments three times and stopped with SIGTERM once, then restarted on
the same port each time. In the end every document that got a 202 (or a 200
on re-submission) reached both recipients, and the endpoint stored none twice.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from edoc_axis.config import load_config
from edoc_axis.core.compose import new_document
from edoc_axis.edxml import build_document
from edoc_axis.home import init_home
from edoc_axis.pki import Issued, cert_to_pem, issue_certificate, load_certs, load_key
from edoc_axis.service.registry import register_agency
from edoc_axis.signature import sign_package
from edoc_axis.store.factory import open_store
from tests.ports import free_port
from tests.waiting import eventually

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
G22, H49, H41 = "000.00.00.G22", "000.00.00.H49", "000.00.00.H41"
DOCUMENTS = 60


def start(argv: list[str], marker: str, log: Path) -> tuple[subprocess.Popen[str], str]:
    """Start a console script and wait for its 'listening on URL' line."""
    with log.open("a") as errors:
        process = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    assert process.stdout is not None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if marker in line:
            return process, line.rsplit(" ", 1)[-1].strip()
        if not line and process.poll() is not None:
            break
    process.kill()
    raise AssertionError(f"{argv[0]} did not start; see {log}")


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


async def _register(config_path: Path, endpoint_url: str, ca: Issued) -> dict[str, tuple]:
    config = load_config(config_path)
    store = await open_store(config)
    kits = {}
    try:
        for code, mode in ((G22, "pull"), (H49, "push"), (H41, "pull")):
            issued = issue_certificate(ca, code, agency_code=code)
            _, token = await register_agency(
                store,
                code=code,
                name=code,
                delivery_mode=mode,
                endpoint_url=endpoint_url if mode == "push" else None,
                certificate_pems=[cert_to_pem(issued.cert)],
                at=datetime.now(UTC),
            )
            kits[code] = (issued, token)
    finally:
        await store.close()
    return kits


async def _submit_until_stored(
    http: aiohttp.ClientSession, url: str, token: str, raw: bytes
) -> str:
    """At-least-once client: resend the same bytes until the axis answers."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/xml"}
    while True:
        try:
            async with http.post(f"{url}/api/v1/documents", data=raw, headers=headers) as r:
                if r.status in (200, 202):
                    return r.headers["Edoc-Axis-Id"]
                assert r.status == 503, await r.text()
        except (TimeoutError, aiohttp.ClientError):
            pass
        await asyncio.sleep(0.05)


async def _drive(url: str, token: str, documents: list[bytes], on_accepted) -> list[str]:  # type: ignore[no-untyped-def]
    ids: list[str] = []
    limit = asyncio.Semaphore(4)
    timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession(timeout=timeout) as http:

        async def one(raw: bytes) -> None:
            async with limit:
                ids.append(await _submit_until_stored(http, url, token, raw))
                on_accepted(len(ids))

        await asyncio.gather(*(one(raw) for raw in documents))
    return ids


def test_kill_and_restart_under_load_loses_and_doubles_nothing(
    tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    home = init_home(tmp_path / "home")
    # The default 120 s lease stays: a restarted axis releases the leases of
    # its dead predecessor at once, or this test would wait minutes.
    pki = home.root / "pki"
    ca = Issued(load_key(pki / "ca.key.pem"), load_certs(pki / "ca.cert.pem")[0])
    log = tmp_path / "processes.log"
    endpoint, endpoint_url = start(
        [
            str(BIN / "edoc"),
            "endpoint",
            "--listen",
            "127.0.0.1:0",
            "--out",
            str(tmp_path / "endpoint"),
            "--axis-cert",
            str(pki / "axis.cert.pem"),
            "--ca",
            str(pki / "ca.cert.pem"),
        ],
        "listening on",
        log,
    )
    processes.append(endpoint)
    kits = asyncio.run(_register(home.config, endpoint_url + "/", ca))
    sender, token = kits[G22]
    documents = [
        sign_package(
            build_document(
                new_document(
                    sender=G22,
                    recipients=[H49, H41],
                    subject=f"Văn bản {n}",
                    code_number=str(n),
                    at=datetime(2026, 11, 23, 9, 0),
                )
            ),
            sender.key,
            sender.cert,
        )
        for n in range(DOCUMENTS)
    ]
    port = free_port()
    serve = [str(BIN / "edoc-axis"), "serve", "--config", str(home.config), "--port", str(port)]
    axis, url = start(serve, "listening on", log)
    processes.append(axis)
    rng = random.Random(7)
    stops = sorted(rng.sample(range(5, DOCUMENTS - 5), 4))
    how = [signal.SIGKILL, signal.SIGKILL, signal.SIGTERM, signal.SIGKILL]
    state = {"axis": axis}

    def on_accepted(count: int) -> None:
        if stops and count >= stops[0]:
            stops.pop(0)
            current = state["axis"]
            current.send_signal(how[len(how) - len(stops) - 1])
            current.wait(timeout=20)
            if current.stdout is not None:
                current.stdout.close()
            restarted, _ = start(serve, "listening on", log)
            processes.append(restarted)
            state["axis"] = restarted

    accepted = asyncio.run(_drive(url, token, documents, on_accepted))
    assert len(set(accepted)) == DOCUMENTS

    asyncio.run(_await_all_delivered(url, kits, set(accepted), tmp_path / "endpoint"))
    journal = [
        json.loads(line)
        for line in (tmp_path / "endpoint" / "received.jsonl").read_text().splitlines()
    ]
    stored_ids = [entry["axis_id"] for entry in journal]
    assert sorted(stored_ids) == sorted(set(accepted))  # each exactly once
    assert len(list((tmp_path / "endpoint" / "documents").glob("*.xml"))) == DOCUMENTS


async def _await_all_delivered(
    url: str, kits: dict[str, tuple], accepted: set[str], endpoint_dir: Path
) -> None:
    pulled: set[str] = set()
    headers = {"Authorization": f"Bearer {kits[H41][1]}"}
    journal = endpoint_dir / "received.jsonl"
    async with aiohttp.ClientSession() as http:

        async def pull_and_ack() -> bool:
            """One round: acknowledge what the inbox holds; True once all arrived both ways."""
            async with http.get(f"{url}/api/v1/inbox?limit=500", headers=headers) as r:
                items = (await r.json())["items"]
            for item in items:
                async with http.post(f"{url}/api/v1/inbox/{item['id']}/ack", headers=headers):
                    pulled.add(item["id"])
            pushed = len(journal.read_text().splitlines()) if journal.exists() else 0
            return pulled >= accepted and pushed >= len(accepted)

        await eventually(pull_and_ack, 60.0, "every document pulled and pushed", poll_s=0.2)
    assert pulled == accepted
