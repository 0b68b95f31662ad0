"""Several nodes on one PostgreSQL: SIGKILL one at random moments, lose and double nothing.

Three `edoc-axis serve` processes share one PostgreSQL database; the test's
client spreads documents over them as a load balancer would (the next node
when one does not answer). Documents go to a push agency (the reference
endpoint, as its own process) and a pull agency, which pulls and acknowledges
through any node. One node at a time is SIGKILLed at random moments, three
times: twice it is restarted, the last time it stays dead, so the two others
must take over its claims when its leases end. In the end every document that
got a 202 (or a 200 on re-submission) reached both recipients, the endpoint
stored none twice, and `edoc-axis audit verify` passes on the shared chain.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import signal
import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import aiohttp
import pytest

from edoc_axis.core.compose import new_document
from edoc_axis.edxml import build_document
from edoc_axis.home import init_home
from edoc_axis.pki import Issued, load_certs, load_key
from edoc_axis.signature import sign_package
from tests.acceptance.test_crash_delivery import BIN, G22, H41, H49, _register, start
from tests.pg_server import create_database, drop_database, run_sync
from tests.waiting import eventually

pytestmark = pytest.mark.slow

DOCUMENTS = 90
NODES = 3
LEASE_S = 6.0  # short, so the node that stays dead hands its claims over quickly


@pytest.fixture
def database(postgres_dsn: str) -> Iterator[str]:
    dsn = run_sync(lambda: create_database(postgres_dsn))
    yield dsn
    run_sync(lambda: drop_database(postgres_dsn, dsn))


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


def _postgres_home(root: Path, dsn: str) -> Path:
    home = init_home(root)
    text = home.config.read_text(encoding="utf-8")
    text = text.replace(
        'backend = "sqlite"',
        f'backend = "postgresql"\ndsn = "{dsn}"\npool_min_size = 1\npool_max_size = 4',
        1,
    )
    text = text.replace("lease_s = 120.0", f"lease_s = {LEASE_S}")
    text = text.replace("base_s = 2.0", "base_s = 0.5")
    home.config.write_text(text, encoding="utf-8")
    return home.config


class Balancer:
    """What a load balancer does for the client: the next live node, round-robin."""

    def __init__(self, urls: list[str]) -> None:
        self.urls = urls
        self._turn = itertools.count()

    def next(self) -> str:
        return self.urls[next(self._turn) % len(self.urls)]


async def _submit(http: aiohttp.ClientSession, nodes: Balancer, token: str, raw: bytes) -> str:
    """At-least-once client: resend the same bytes (to the next node) until one answers."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/xml"}
    while True:
        try:
            url = nodes.next()
            async with http.post(f"{url}/api/v1/documents", data=raw, headers=headers) as r:
                if r.status in (200, 202):
                    return r.headers["Edoc-Axis-Id"]
                assert r.status == 503, await r.text()
        except (TimeoutError, aiohttp.ClientError):
            pass
        await asyncio.sleep(0.05)


async def _drive(nodes: Balancer, token: str, documents: list[bytes], on_accepted) -> list[str]:  # type: ignore[no-untyped-def]
    ids: list[str] = []
    limit = asyncio.Semaphore(6)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:

        async def one(raw: bytes) -> None:
            async with limit:
                ids.append(await _submit(http, nodes, token, raw))
                await on_accepted(len(ids))

        await asyncio.gather(*(one(raw) for raw in documents))
    return ids


async def _pull_all(
    nodes: Balancer, token: str, accepted: set[str], endpoint_dir: Path
) -> tuple[set[str], int]:
    """Pull and acknowledge through any node until everything arrived (failing after 120 s)."""
    pulled: set[str] = set()
    pushed = 0
    headers = {"Authorization": f"Bearer {token}"}
    journal = endpoint_dir / "received.jsonl"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:

        async def pull_and_ack() -> bool:
            """One round through the next node; True once all arrived both ways."""
            nonlocal pushed
            try:
                url = nodes.next()
                async with http.get(f"{url}/api/v1/inbox?limit=500", headers=headers) as r:
                    items = (await r.json())["items"]
                for item in items:
                    async with http.post(f"{url}/api/v1/inbox/{item['id']}/ack", headers=headers):
                        pulled.add(item["id"])
            except (TimeoutError, aiohttp.ClientError):
                return False  # a node being killed: the next round tries the next one
            pushed = len(journal.read_text().splitlines()) if journal.exists() else 0
            return pulled >= accepted and pushed >= len(accepted)

        await eventually(pull_and_ack, 120.0, "every document pulled and pushed", poll_s=0.2)
    return pulled, pushed


def test_three_nodes_one_killed_repeatedly_lose_and_double_nothing(
    tmp_path: Path, database: str, processes: list[subprocess.Popen[str]]
) -> None:
    config = _postgres_home(tmp_path / "home", database)
    log = tmp_path / "processes.log"
    migrate = subprocess.run(
        [str(BIN / "edoc-axis"), "migrate", "--config", str(config)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "applied 0001_initial" in migrate.stdout
    pki = config.parent / "pki"
    ca = Issued(load_key(pki / "ca.key.pem"), load_certs(pki / "ca.cert.pem")[0])
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
    kits = asyncio.run(_register(config, endpoint_url + "/", ca))
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
    serve = [str(BIN / "edoc-axis"), "serve", "--config", str(config), "--port", "0"]
    nodes: list[subprocess.Popen[str]] = []
    urls: list[str] = []
    for _ in range(NODES):
        node, url = start(serve, "listening on", log)
        processes.append(node)
        nodes.append(node)
        urls.append(url)
    balancer = Balancer(list(urls))

    rng = random.Random(11)
    kills = sorted(rng.sample(range(8, DOCUMENTS - 8), 3))
    restart = [True, True, False]  # the last victim stays dead

    done = []
    one_at_a_time = asyncio.Lock()

    async def on_accepted(count: int) -> None:
        async with one_at_a_time:  # several uploads finish while a node restarts
            if not kills or count < kills[0]:
                return
            kills.pop(0)
            victim = rng.randrange(len(nodes))
            nodes[victim].send_signal(signal.SIGKILL)
            nodes[victim].wait(timeout=20)
            if restart[len(done)]:
                node, url = await asyncio.to_thread(start, serve, "listening on", log)
                processes.append(node)
                nodes[victim] = node
                balancer.urls[victim] = url
            else:  # the load balancer's health check takes it out
                nodes.pop(victim)
                balancer.urls.pop(victim)
            done.append(victim)

    accepted = asyncio.run(_drive(balancer, token, documents, on_accepted))
    assert len(set(accepted)) == DOCUMENTS
    assert len(nodes) == NODES - 1

    pulled, _ = asyncio.run(_pull_all(balancer, kits[H41][1], set(accepted), tmp_path / "endpoint"))
    assert pulled == set(accepted)
    journal = [
        json.loads(line)
        for line in (tmp_path / "endpoint" / "received.jsonl").read_text().splitlines()
    ]
    assert sorted(entry["axis_id"] for entry in journal) == sorted(set(accepted))  # once each
    assert len(list((tmp_path / "endpoint" / "documents").glob("*.xml"))) == DOCUMENTS

    verify = subprocess.run(
        [str(BIN / "edoc-axis"), "audit", "verify", "--config", str(config), "--json"],
        capture_output=True,
        text=True,
    )
    report = json.loads(verify.stdout)
    assert (verify.returncode, report["ok"]) == (0, True), verify.stdout
    assert report["entries"] >= 3 * DOCUMENTS  # accepted, pushed, pulled: at least
