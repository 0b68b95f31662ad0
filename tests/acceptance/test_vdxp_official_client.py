"""The official VDXP Java client, unchanged, against a real `edoc-axis serve`.

``tests/data/sdk-vxp`` holds the client's jars and its driver ``VxpClient.java``
(copied from the project's shared folder). The driver is compiled with javac and
run once per call, as an integrator's system would call the SDK; its last line
is ``RESULT <the SDK's result object as JSON>``. Systems are registered with
``edoc-axis system add``. Every package sent is a real signed edXML package.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, web

from edoc_axis.vdxp_client import unpadded_sha256
from tests.acceptance.conftest import (
    G22,
    H49,
    Agency,
    AxisHome,
    AxisServer,
    http_request,
    signed_document,
)
from tests.external import require_program

SDK = Path(__file__).resolve().parents[1] / "data" / "sdk-vxp"
JAVA_TIMEOUT_S = 60


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """VxpClient.java compiled against the official jars."""
    javac = require_program("javac")
    require_program("java")
    out = tmp_path_factory.mktemp("vxp-classes")
    subprocess.run(
        [javac, "-cp", str(SDK / "lib" / "*"), "-d", str(out), str(SDK / "VxpClient.java")],
        check=True,
        timeout=120,
        capture_output=True,
    )
    return out


@dataclass
class SdkResult:
    exit_code: int
    result: Any
    output: str

    @property
    def status(self) -> str | None:
        return None if self.result is None else self.result.get("status")


@dataclass
class System:
    """One connected document system, driving the official client."""

    endpoint: str
    system_id: str
    secret: str
    store: Path
    classes: Path

    def run(self, *args: str | Path) -> SdkResult:
        classpath = f"{SDK / 'lib' / '*'}:{self.classes}"
        command = ["java", "-cp", classpath, "VxpClient", self.endpoint, self.system_id]
        command += [self.secret, str(self.store), *map(str, args)]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=JAVA_TIMEOUT_S, cwd=self.store
        )
        lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
        assert lines, f"no RESULT line: {done.stdout[-2000:]} {done.stderr[-2000:]}"
        result = json.loads(lines[-1].removeprefix("RESULT "))
        return SdkResult(done.returncode, result, done.stdout)

    def ok(self, *args: str | Path) -> Any:
        """Run a call that must answer status OK (the driver exits 0 only then)."""
        answer = self.run(*args)
        assert answer.exit_code == 0 and answer.status == "OK", answer.result
        return answer.result


def add_system(home: AxisHome, system_id: str, *agencies: str) -> str:
    flags = [part for code in agencies for part in ("--agency", code)]
    return str(home.axis("system", "add", system_id, *flags, "--json").ok().json()["secret"])


def signed_status(agency: Agency, document_id: str, counterparty: str, code: str) -> bytes:
    from edoc_axis.core.compose import new_status
    from edoc_axis.edxml import StatusCode, build_status
    from edoc_axis.pki import load_certs, load_key
    from edoc_axis.signature import sign_package

    package = new_status(
        sender=agency.code,
        about_document_id=document_id,
        counterparty=counterparty,
        code=StatusCode(code),
        at=(datetime.now(UTC) + timedelta(hours=7)).replace(tzinfo=None),
        description=f"status {code} over VDXP",
    )
    return sign_package(build_status(package), load_key(agency.key), load_certs(agency.cert)[0])


@dataclass
class Systems:
    a: System
    b: System
    home: AxisHome
    server: AxisServer


@pytest.fixture(scope="module")
def systems(driver: Path, axis_home: AxisHome, axis: AxisServer) -> Systems:
    endpoint = axis.url.rstrip("/") + "/vdxp"
    secret_a = add_system(axis_home, "vxp.saas.03", G22)
    secret_b = add_system(axis_home, "vxp.saas.04", H49)
    stores = axis_home.work / "vxp-a", axis_home.work / "vxp-b"
    for store in stores:
        store.mkdir(exist_ok=True)
    return Systems(
        System(endpoint, "vxp.saas.03", secret_a, stores[0], driver),
        System(endpoint, "vxp.saas.04", secret_b, stores[1], driver),
        axis_home,
        axis,
    )


def native(systems: Systems, agency: Agency, path: str) -> tuple[int, bytes]:
    status, _, body = http_request(
        systems.server.url, "GET", path, headers={"Authorization": f"Bearer {agency.token}"}
    )
    return status, body


def test_two_systems_exchange_a_document_and_statuses(systems: Systems) -> None:
    a, b, home = systems.a, systems.b, systems.home
    g22, h49 = home.agencies[G22], home.agencies[H49]
    # A file whose SHA-256 has a byte below 0x10, so the client's hash-file is the
    # short unpadded form (the SDK prints it as "Hex format").
    raw = signed_document(g22, to=(H49,))
    while all(byte >= 0x10 for byte in hashlib.sha256(raw).digest()):
        raw = signed_document(g22, to=(H49,))
    document_file = a.store / "outgoing.edxml"
    document_file.write_bytes(raw)

    # A sends the document
    sent = a.run("send", document_file, G22, "edoc")
    assert sent.exit_code == 0 and sent.status == "OK", sent.result
    assert f"Hex format : {unpadded_sha256(raw)}" in sent.output
    assert len(unpadded_sha256(raw)) < 64
    doc_id = sent.result["docID"]

    # B counts, lists, gets (the exact bytes), downloads and acknowledges with done
    assert b.ok("count")["count"] == 1
    listed = b.ok("list", "edoc")["knobsticks"]
    assert [(k["id"], k["from"], k["to"]) for k in listed] == [(doc_id, G22, H49)]
    got = b.ok("get", doc_id)
    assert got["data"].encode() == raw
    saved = b.store / got["filePath"]
    assert saved.read_bytes() == raw
    saved.unlink()
    # downloadEdoc streams the file; the SDK writes it and reports its own word, SUCCESS
    downloaded = b.run("download", doc_id)
    assert downloaded.status == "SUCCESS", downloaded.result
    assert (b.store / downloaded.result["filePath"]).read_bytes() == raw
    b.ok("update", doc_id, "done")
    assert b.ok("list", "edoc")["knobsticks"] == []

    # the same document through the native API: exact bytes, a valid signed receipt
    assert native(systems, g22, f"/api/v1/documents/{doc_id}") == (200, raw)
    assert native(systems, h49, f"/api/v1/documents/{doc_id}") == (200, raw)
    status, body = native(systems, g22, f"/api/v1/documents/{doc_id}/receipt")
    assert status == 200, body
    check_receipt(home, body, doc_id, raw)
    status, body = native(systems, g22, f"/api/v1/documents/{doc_id}/trace")
    trace = json.loads(body)
    assert trace["deliveries"][0]["state"] == "acknowledged"
    assert trace["deliveries"][0]["status_code"] == "01"

    # B sends status 03 back, signed
    document_id = trace["document_id"]
    status_file = b.store / "status03.edxml"
    status_file.write_bytes(signed_status(h49, document_id, G22, "03"))
    status_id = b.ok("send", status_file, H49, "status")["docID"]

    # A sees it among its received statuses and in its sent list
    assert a.ok("count-status")["count"] == 2  # the 01 of B's acknowledgement, and 03
    statuses = a.ok("list", "status")["knobsticks"]
    assert [k["from"] for k in statuses] == [H49, H49]
    assert statuses[-1]["id"] == status_id
    assert a.ok("get", status_id)["data"].encode() == status_file.read_bytes()
    a.ok("update", status_id, "done")
    sent = a.ok("sent", "edoc", doc_id)["statusResult"]
    assert [(s["senderDocId"], s["toCode"], s["receiveStatus"]) for s in sent] == [
        (doc_id, H49, "03")
    ]
    status, body = native(systems, g22, f"/api/v1/documents/{doc_id}/trace")
    assert json.loads(body)["deliveries"][0]["status_code"] == "03"

    # later A sends a status of its own (13, a recall request), which B collects
    recall_file = a.store / "status13.edxml"
    recall_file.write_bytes(signed_status(g22, document_id, H49, "13"))
    recall_id = a.ok("send", recall_file, G22, "status")["docID"]
    assert [k["id"] for k in b.ok("list", "status")["knobsticks"]] == [recall_id]
    status, body = native(systems, h49, "/api/v1/statuses")
    assert recall_id in [item["status_id"] for item in json.loads(body)["items"]]

    # both list agencies, in both code forms
    for system in (a, b):
        agencies = system.ok("agencies")["agencies"]
        assert {agency["code"] for agency in agencies} == {G22, H49}
    qd20 = b.ok("agencies-qd20", "1")["agencies"]
    assert {agency["code102"] for agency in qd20} == {G22, H49}


def test_a_large_document_through_the_official_client(systems: Systems) -> None:
    # Over 1 MiB: the axis keeps its attachment text out of the parsed tree on the
    # way in, and writes getEdoc's base64 and downloadEdoc's bytes a piece at a time.
    a, b = systems.a, systems.b
    raw = signed_document(systems.home.agencies[G22], to=(H49,), attachment=os.urandom(2_500_000))
    assert len(raw) > 3 * 1024 * 1024
    document_file = a.store / "large.edxml"
    document_file.write_bytes(raw)
    doc_id = a.ok("send", document_file, G22, "edoc")["docID"]
    got = b.ok("get", doc_id)
    assert got["data"].encode() == raw
    (b.store / got["filePath"]).unlink()
    downloaded = b.run("download", doc_id)
    assert downloaded.status == "SUCCESS", downloaded.result
    assert (b.store / downloaded.result["filePath"]).read_bytes() == raw
    b.ok("update", doc_id, "done")


def check_receipt(home: AxisHome, receipt: bytes, doc_id: str, raw: bytes) -> None:
    from edoc_axis.core.receipt import verify_receipt
    from edoc_axis.pki import load_certs

    verified = verify_receipt(receipt, load_certs(home.axis_cert))
    assert verified.axis_id == doc_id
    assert verified.sha256 == hashlib.sha256(raw).hexdigest()


def _nothing_more_stored(systems: Systems, before: int) -> None:
    assert systems.b.ok("count")["count"] == before


def _refused(answer: SdkResult, code: str) -> None:
    assert answer.exit_code == 1
    assert answer.result is not None, answer.output[-2000:]
    assert (answer.status, answer.result.get("errorCode")) == ("FAIL", code), answer.result


def _document(systems: Systems, sender: str = G22, to: str = H49) -> Path:
    raw = signed_document(systems.home.agencies[sender], to=(to,))
    path = systems.a.store / f"refused-{hashlib.sha256(raw).hexdigest()[:8]}.edxml"
    path.write_bytes(raw)
    return path


def test_a_wrong_secret_gets_a_readable_fail(systems: Systems) -> None:
    before = systems.b.ok("count")["count"]
    impostor = System(**{**vars(systems.a), "secret": "0123456789abcdef"})
    _refused(impostor.run("send", _document(systems), G22), "vdxp.auth-failed")
    _nothing_more_stored(systems, before)


def test_an_unknown_system_gets_a_readable_fail(systems: Systems) -> None:
    before = systems.b.ok("count")["count"]
    stranger = System(**{**vars(systems.a), "system_id": "vxp.saas.99"})
    _refused(stranger.run("send", _document(systems), G22), "vdxp.auth-failed")
    _nothing_more_stored(systems, before)


def test_a_system_sending_from_an_agency_it_is_not_bound_to(systems: Systems) -> None:
    before = systems.a.ok("count")["count"]
    # A's system (bound to G22) sends H49's own signed package From H49
    _refused(systems.a.run("send", _document(systems, H49, G22), H49), "auth.sender-mismatch")
    assert systems.a.ok("count")["count"] == before


@pytest.fixture
def tampering_proxy(systems: Systems) -> Iterator[str]:
    """A proxy in front of the axis that rewrites the signed ``from`` header in transit."""
    ready = threading.Event()
    holder: dict[str, Any] = {}

    async def forward(request: web.Request) -> web.Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        headers["XroadVnpt-from"] = H49
        body = await request.read()
        async with (
            ClientSession() as session,
            session.request(
                request.method,
                systems.server.url.rstrip("/") + request.path,
                headers=headers,
                data=body,
            ) as answer,
        ):
            return web.Response(status=answer.status, body=await answer.read(),
                                content_type=answer.content_type)  # fmt: skip

    def serve() -> None:
        import asyncio

        loop = asyncio.new_event_loop()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", forward)
        runner = web.AppRunner(app)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        holder.update(url=f"http://127.0.0.1:{port}", loop=loop, runner=runner)
        ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(10)
    yield str(holder["url"])
    holder["loop"].call_soon_threadsafe(holder["loop"].stop)
    thread.join(10)


def test_a_header_tampered_in_transit_gets_a_readable_fail(
    systems: Systems, tampering_proxy: str
) -> None:
    before = systems.b.ok("count")["count"]
    through_proxy = System(**{**vars(systems.a), "endpoint": tampering_proxy + "/vdxp"})
    answer = through_proxy.run("send", _document(systems), G22)
    _refused(answer, "vdxp.header-mismatch")
    _nothing_more_stored(systems, before)


def test_no_secret_reaches_the_logs(systems: Systems) -> None:
    """After every call above (accepted and refused), the server's logs hold no secret."""
    systems.a.ok("count")
    logs = b"".join(path.read_bytes() for path in systems.server.log_dir.glob("serve-*.log"))
    assert b"vxp.saas.03" in logs or b"vdxp" in logs  # the calls were logged at all
    for secret in (systems.a.secret, systems.b.secret):
        assert secret.encode() not in logs
