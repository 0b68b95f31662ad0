"""Push delivery to https:// endpoints: certificates verified with [security] push_ca_file.

The reference endpoint runs on TLS twice: once with a certificate from the CA
the axis is told to trust (delivered), once with a certificate from a CA it
does not know (nothing delivered: the attempt fails on the certificate and the
delivery ends dead-lettered with that reason).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from edoc_axis.config import load_config
from edoc_axis.core.compose import new_document
from edoc_axis.edxml import build_document
from edoc_axis.endpoint.app import make_endpoint_app
from edoc_axis.home import init_home
from edoc_axis.pki import (
    Issued,
    cert_to_pem,
    create_ca,
    issue_certificate,
    issue_server_certificate,
    load_certs,
    load_key,
    save_issued,
)
from edoc_axis.runtime import AxisRuntime
from edoc_axis.service.registry import register_agency
from edoc_axis.signature import TrustStore, sign_package
from edoc_axis.store import Delivery, Store
from edoc_axis.store.factory import open_store
from edoc_axis.tls import server_context
from tests.waiting import eventually

G22, H49, H50 = "000.00.00.G22", "000.00.00.H49", "000.00.00.H50"


@dataclass
class Rig:
    runtime: AxisRuntime
    store: Store
    ca: Issued
    tmp: Path
    runners: list[web.AppRunner]

    async def https_endpoint(self, issuer: Issued, name: str) -> tuple[str, Path]:
        """The reference endpoint on TLS with a server certificate from ``issuer``."""
        server = issue_server_certificate(issuer)
        save_issued(server, self.tmp / f"{name}.key.pem", self.tmp / f"{name}.cert.pem")
        context = server_context(self.tmp / f"{name}.cert.pem", self.tmp / f"{name}.key.pem")
        out = self.tmp / name
        app = make_endpoint_app(out, [self.runtime.services.axis_cert], TrustStore([self.ca.cert]))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context).start()
        self.runners.append(runner)
        port = runner.addresses[0][1]
        return f"https://127.0.0.1:{port}/", out

    async def register(self, code: str, endpoint: str | None = None) -> tuple[Issued, str]:
        issued = issue_certificate(self.ca, code, agency_code=code)
        _, token = await register_agency(
            self.store,
            code=code,
            name=code,
            delivery_mode="push" if endpoint else "pull",
            endpoint_url=endpoint,
            certificate_pems=[cert_to_pem(issued.cert)],
            at=datetime.now(UTC),
        )
        return issued, token

    async def send(self, sender: tuple[Issued, str], recipient: str, number: str) -> str:
        issued, token = sender
        package = new_document(
            sender=G22, recipients=[recipient], subject="V/v TLS", at=datetime(2026, 11, 23, 9),
            code_number=number,
        )  # fmt: skip
        raw = sign_package(build_document(package), issued.key, issued.cert)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/xml"}
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{self.runtime.url}/api/v1/documents", data=raw, headers=headers) as answer,
        ):
            assert answer.status == 202, await answer.text()
            return answer.headers["Edoc-Axis-Id"]

    async def delivery_state(self, axis_id: str, recipient: str, wanted: str) -> str | None:
        """Wait (generously) until the delivery reaches ``wanted``; return its last error."""

        async def reached() -> Delivery | None:
            delivery = await self.store.delivery_for(axis_id, recipient)
            assert delivery is not None
            return delivery if delivery.state == wanted else None

        return (await eventually(reached, 20.0, f"the delivery to be {wanted}")).last_error


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    home = init_home(tmp_path / "home")
    config = load_config(home.config)
    pki = home.root / "pki"
    config = dataclasses.replace(
        config,
        push_ca_file=pki / "ca.cert.pem",
        retry=dataclasses.replace(config.retry, base_s=0.01, cap_s=0.02, max_attempts=2),
    )
    store = await open_store(config)
    runtime = AxisRuntime(config, store, poll_interval_s=0.05)
    ca = Issued(load_key(pki / "ca.key.pem"), load_certs(pki / "ca.cert.pem")[0])
    await runtime.start("127.0.0.1", 0)
    rig = Rig(runtime, store, ca, tmp_path, [])
    yield rig
    for runner in rig.runners:
        await runner.cleanup()
    await runtime.stop()
    await store.close()


async def test_push_to_an_https_endpoint_with_a_verified_certificate(rig: Rig) -> None:
    url, out = await rig.https_endpoint(rig.ca, "trusted")
    sender = await rig.register(G22)
    await rig.register(H49, url)

    axis_id = await rig.send(sender, H49, "1")

    await rig.delivery_state(axis_id, H49, "delivered")
    stored = list((out / "documents").iterdir())
    assert [p.name for p in stored] == [f"{axis_id}.xml"]
    assert stored[0].read_bytes() == await rig.store.document_bytes(axis_id)


async def test_push_to_an_endpoint_with_an_unknown_certificate_is_refused(rig: Rig) -> None:
    stranger = create_ca("not the axis's CA")
    url, out = await rig.https_endpoint(stranger, "unknown")
    sender = await rig.register(G22)
    await rig.register(H50, url)

    axis_id = await rig.send(sender, H50, "2")

    last_error = await rig.delivery_state(axis_id, H50, "dead")
    assert last_error is not None and "certificate verify failed" in last_error, last_error
    assert not (out / "documents").exists() or not list((out / "documents").iterdir())
