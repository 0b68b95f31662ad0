"""`edoc-axis serve --processes 2`: two processes share the port and the store safely."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import http.cookies
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from edoc_axis.config import load_config
from edoc_axis.core.compose import new_document
from edoc_axis.edxml import build_document
from edoc_axis.home import Home, init_home
from edoc_axis.pki import Issued, cert_to_pem, issue_certificate, load_certs, load_key
from edoc_axis.service.registry import register_agency
from edoc_axis.signature import sign_package
from edoc_axis.store.factory import open_store
from tests.waiting import eventually_sync

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent
G22, H49 = "000.00.00.G22", "000.00.00.H49"


def worker_pids(parent: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(parent)], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split()]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def register_agencies(home: Home) -> dict:
    """G22 and H49, pull agencies with certificates of the home's CA: code -> (issued, token)."""
    pki = home.root / "pki"
    ca = Issued(load_key(pki / "ca.key.pem"), load_certs(pki / "ca.cert.pem")[0])
    kits: dict = {}

    async def register() -> None:
        store = await open_store(load_config(home.config))
        for code in (G22, H49):
            issued = issue_certificate(ca, code, agency_code=code)
            _, token = await register_agency(
                store,
                code=code,
                name=code,
                delivery_mode="pull",
                endpoint_url=None,
                certificate_pems=[cert_to_pem(issued.cert)],
                at=datetime.now(UTC),
            )
            kits[code] = (issued, token)
        await store.close()

    asyncio.run(register())
    return kits


def signed_document(kits: dict, n: int) -> bytes:
    sender, _token = kits[G22]
    package = new_document(
        sender=G22,
        recipients=[H49],
        subject=f"Song song {n}",
        code_number=str(n),
        at=datetime(2026, 11, 23, 9),
    )
    return sign_package(build_document(package), sender.key, sender.cert)


@pytest.fixture
def supervisor(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str, Path, dict]]:
    """The supervisor with two workers, once both serve (each logs server.listening)."""
    home = init_home(tmp_path / "home")
    kits = register_agencies(home)
    log = tmp_path / "serve.stderr.log"
    with log.open("wb") as stderr:  # the processes keep their own copies
        process = subprocess.Popen(
            [
                str(BIN / "edoc-axis"),
                "serve",
                "--config",
                str(home.config),
                "--port",
                "0",
                "--processes",
                "2",
            ],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert "listening on" in line, line
    # Both workers serving, not merely started: one killed with its supervisor
    # before it reported ready would die of the closed ready pipe instead.
    eventually_sync(
        lambda: log.read_text().count('"server.listening"') == 2, 20.0, "both workers serving"
    )
    yield process, line.split()[-1], home.config, kits
    if process.poll() is None:
        process.kill()
        process.wait()
    process.stdout.close()


async def submit_all(url: str, kits: dict, count: int) -> list[str]:
    _sender, token = kits[G22]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/xml"}
    async with aiohttp.ClientSession() as http:

        async def one(n: int) -> str:
            raw = signed_document(kits, n)
            async with http.post(f"{url}/api/v1/documents", data=raw, headers=headers) as r:
                assert r.status == 202, await r.text()
                return r.headers["Edoc-Axis-Id"]

        return await asyncio.gather(*(one(n) for n in range(40)))


def test_two_workers_accept_concurrently_and_stop_together(supervisor) -> None:  # type: ignore[no-untyped-def]
    process, url, config, kits = supervisor
    workers = worker_pids(process.pid)
    assert len(workers) == 2
    ids = asyncio.run(submit_all(url, kits, 40))
    assert len(set(ids)) == 40
    verified = subprocess.run(
        [str(BIN / "edoc-axis"), "audit", "verify", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    assert not any(alive(pid) for pid in workers)


def test_workers_stop_when_the_supervisor_is_killed(supervisor) -> None:  # type: ignore[no-untyped-def]
    process, _url, _config, _kits = supervisor
    workers = worker_pids(process.pid)
    assert len(workers) == 2
    process.kill()
    process.wait()
    eventually_sync(
        lambda: not any(alive(pid) for pid in workers), 15.0, "the workers to stop", poll_s=0.1
    )


def test_supervisor_gives_up_when_workers_die_at_start(tmp_path: Path) -> None:
    home = init_home(tmp_path / "home")
    text = home.config.read_text()
    home.config.write_text(text.replace('backend = "sqlite"', 'backend = "nothing"'))
    done = subprocess.run(
        [str(BIN / "edoc-axis"), "serve", "--config", str(home.config), "--port", "0",
         "--processes", "2"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert "a worker process exited at start" in done.stderr
    assert "config.invalid: unknown store backend 'nothing'" in done.stderr
    assert "Traceback" not in done.stderr


@contextlib.contextmanager
def serving(config: Path, processes: int, log: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """`serve --processes N` on port 0 until every worker serves; stopped (exit 0) after."""
    with log.open("ab") as stderr:
        process = subprocess.Popen(
            [str(BIN / "edoc-axis"), "serve", "--config", str(config), "--port", "0",
             "--processes", str(processes)],
            stdout=subprocess.PIPE, stderr=stderr, text=True,
        )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "listening on" in line, line
        eventually_sync(
            lambda: log.read_text().count('"server.listening"') == processes,
            30.0,
            f"{processes} workers serving",
        )
        yield process, int(line.split()[-1].rsplit(":", 1)[1])
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
        assert process.stdout is not None
        process.stdout.close()


def test_workers_on_a_new_home_all_serve(tmp_path: Path) -> None:
    # No store yet: every worker opens a file none has created. Before the file was
    # created under its write lock, one of them could find it half made, take it for
    # a store behind this version and exit (store.schema-behind), stopping them all;
    # the processes here rarely meet in that window, the store test with a barrier
    # (test_processes_opening_one_new_file_at_once_all_find_it_whole) always does.
    for attempt in range(2):
        home = init_home(tmp_path / f"home-{attempt}")
        log = tmp_path / f"serve-{attempt}.stderr.log"
        with serving(home.config, 3, log) as (process, _port):
            assert process.poll() is None
            assert "worker_exited" not in log.read_text()
            # The processes share stderr: each line says which one wrote it.
            lines = [json.loads(line) for line in log.read_text().splitlines()]
            serving_pids = {e["pid"] for e in lines if e["event"] == "server.listening"}
            assert serving_pids == set(worker_pids(process.pid))
            assert all(isinstance(e.get("pid"), int) for e in lines)


# -- the console and /metrics with several workers ---------------------------------------
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _socket_inode(server_port: int, client_port: int) -> str | None:
    """The inode of the server's end of the connection from ``client_port``."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, inode = fields[1], fields[2], fields[9]
        if (
            int(local.split(":")[1], 16) == server_port
            and int(remote.split(":")[1], 16) == client_port
        ):
            return inode
    return None


def _serving_worker(conn: http.client.HTTPConnection, server_port: int, workers: list[int]) -> int:
    """Which worker holds the other end of this (still open) connection."""
    assert conn.sock is not None
    inode = _socket_inode(server_port, conn.sock.getsockname()[1])
    assert inode is not None
    for pid in workers:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                if os.readlink(fd) == f"socket:[{inode}]":
                    return pid
    raise AssertionError(f"no worker holds socket {inode}")


class Visitor:
    """One client with its cookies, on a new TCP connection per request (so any worker
    may take it), telling which worker answered."""

    def __init__(self, port: int, workers: list[int]) -> None:
        self.port, self.workers = port, workers
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, form: dict[str, str] | None = None
    ) -> tuple[int, str, int]:
        """(status, body, pid of the worker that answered), on a connection of its own."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
            body = None
            if form is not None:
                body = urllib.parse.urlencode(form)
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode()
            for header in response.headers.get_all("Set-Cookie") or []:
                cookie = http.cookies.SimpleCookie(header)
                for name, morsel in cookie.items():
                    if morsel["max-age"] == "0" or not morsel.value:
                        self.cookies.pop(name, None)
                    else:
                        self.cookies[name] = morsel.value
            return response.status, text, _serving_worker(conn, self.port, self.workers)
        finally:
            conn.close()

    def on_another_worker(self, than: int, path: str) -> tuple[int, str, int]:
        """GET ``path`` on new connections until a worker other than ``than`` answers."""
        for _ in range(200):
            status, text, pid = self.request("GET", path)
            if pid != than:
                return status, text, pid
        raise AssertionError(f"200 connections all went to worker {than}")


def test_a_console_session_holds_on_every_worker(tmp_path: Path) -> None:
    # Sessions were kept in each process's memory: a page served by any worker but the
    # one that logged in sent the operator back to the login form.
    home = init_home(tmp_path / "home")
    with serving(home.config, 3, tmp_path / "serve.stderr.log") as (process, port):
        b = Visitor(port, worker_pids(process.pid))
        assert len(b.workers) == 3

        status, text, _ = b.request("GET", "/console/login")
        assert status == 200 and "edoc_console_login" in b.cookies
        csrf = _CSRF.search(text).group(1)  # type: ignore[union-attr]
        # The form came from one worker; the login is checked by whichever takes it.
        status, _, logged_in_on = b.request(
            "POST", "/console/login", {"csrf": csrf, "token": home.operator_token}
        )
        assert status == 303 and "edoc_console" in b.cookies

        status, text, elsewhere = b.on_another_worker(logged_in_on, "/console")
        assert status == 200, f"worker {elsewhere} did not know the session"
        csrf = _CSRF.search(text).group(1)  # type: ignore[union-attr]
        status, _, verified_on = b.request("POST", "/console/audit/verify", {"csrf": csrf})
        assert status == 303
        status, text, _ = b.on_another_worker(verified_on, "/console")
        assert status == 200 and 'id="audit-result"' in text  # the check's result followed

        stolen = b.cookies["edoc_console"]
        status, _, logged_out_on = b.request("POST", "/console/logout", {"csrf": csrf})
        assert status == 303 and "edoc_console" not in b.cookies
        b.cookies["edoc_console"] = stolen  # a copy of the cookie, kept
        status, _, _ = b.on_another_worker(logged_out_on, "/console")
        assert status == 303  # the session ended for every worker


def _accepted_total(metrics_text: str) -> float:
    found = re.search(r"^edoc_documents_accepted_total (\S+)$", metrics_text, re.M)
    assert found, metrics_text[:2000]
    return float(found.group(1))


def test_metrics_count_every_worker_whichever_answers(supervisor) -> None:  # type: ignore[no-untyped-def]
    # Each process counted alone and a scrape described the one that answered it: the
    # total went up and down from scrape to scrape, which Prometheus reads as resets.
    process, url, _config, kits = supervisor
    asyncio.run(submit_all(url, kits, 40))
    workers = worker_pids(process.pid)
    client = Visitor(int(url.rsplit(":", 1)[1]), workers)
    answered: set[int] = set()
    for _ in range(200):
        status, text, pid = client.request("GET", "/metrics")
        assert status == 200 and _accepted_total(text) == 40, f"worker {pid}"
        answered.add(pid)
        if len(answered) == 2:
            break
    assert answered == set(workers)
    assert "edoc_agency_deliveries" in text and "edoc_audit_chain_ok 1.0" in text
    assert re.search(r"^edoc_connections_open [1-9]", text, re.M)  # this scrape's, at least

    # A worker killed and replaced: what it counted is still in the total.
    os.kill(workers[0], signal.SIGKILL)
    eventually_sync(
        lambda: len(set(worker_pids(process.pid)) - set(workers)) == 1, 20.0, "a new worker"
    )
    client.workers = worker_pids(process.pid)
    for _ in range(10):
        status, text, _pid = client.request("GET", "/metrics")
        assert status == 200 and _accepted_total(text) == 40

    # Each worker also writes what it knows of the push endpoints there, every second,
    # for the console pages any of them may answer. (Other tests running beside this
    # one make run folders of their own: this run's is the one its workers write to.)
    live = worker_pids(process.pid)

    def this_run() -> list[Path]:
        return [
            folder
            for folder in Path(tempfile.gettempdir()).glob("edoc-axis-run-*")
            if all((folder / "health" / f"{pid}.json").exists() for pid in live)
        ]

    eventually_sync(lambda: len(this_run()) == 1, 10.0, "each worker's endpoint picture")
    (run_dir,) = this_run()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    assert not run_dir.exists()  # the supervisor removes its run's folder


def test_a_client_under_its_connection_limit_is_served_however_the_kernel_spreads_it(
    tmp_path: Path,
) -> None:
    # Each process allowed 1/N of max_connections_per_client, and the kernel does not
    # spread connections evenly (an idle process takes whatever arrives): a client with
    # 4 connections of the 4 allowed, all taken by one of two processes, had 2 refused.
    # Here one worker is stopped so that the other takes every connection.
    home = init_home(tmp_path / "home")
    text = home.config.read_text()
    assert "max_connections_per_client = 100" in text
    home.config.write_text(
        text.replace("max_connections_per_client = 100", "max_connections_per_client = 4")
    )
    held: list[http.client.HTTPConnection] = []
    with serving(home.config, 2, tmp_path / "serve.stderr.log") as (process, port):
        workers = worker_pids(process.pid)
        os.kill(workers[0], signal.SIGSTOP)
        try:
            for _ in range(4):
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                held.append(conn)
                conn.request("GET", "/healthz")
                response = conn.getresponse()
                assert response.status == 200, response.read()
                response.read()
                assert _serving_worker(conn, port, workers) == workers[1]
            extra = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            held.append(extra)
            extra.request("GET", "/healthz")
            assert extra.getresponse().status == 503  # the fifth: over the client's limit
        finally:
            for conn in held:
                conn.close()
            os.kill(workers[0], signal.SIGCONT)


def test_an_agency_has_its_whole_rate_whichever_process_takes_its_requests(
    tmp_path: Path,
) -> None:
    # Each process enforced 1/N of rate_per_s and rate_burst: an agency whose
    # connections landed on one process (one keep-alive connection, the usual case)
    # had 1/N of its rate. The processes now share the buckets.
    home = init_home(tmp_path / "home")
    text = home.config.read_text()
    for old, new in (
        ("rate_per_s = 50.0", "rate_per_s = 0.01"),
        ("rate_burst = 200.0", "rate_burst = 3.0"),
    ):
        assert old in text
        text = text.replace(old, new)
    home.config.write_text(text)
    kits = register_agencies(home)
    _sender, token = kits[G22]
    statuses = []
    with serving(home.config, 2, tmp_path / "serve.stderr.log") as (_process, port):
        for n in range(8):  # a new connection each: either worker may take it
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                conn.request(
                    "POST",
                    "/api/v1/documents",
                    body=signed_document(kits, n),
                    headers={"Authorization": f"Bearer {token}", "Content-Type": "application/xml"},
                )
                response = conn.getresponse()
                response.read()
                statuses.append(response.status)
            finally:
                conn.close()
    assert sorted(statuses) == [202] * 3 + [429] * 5, statuses  # the burst of 3, in all
