"""An in-process axis (AxisRuntime) with agencies registered directly in its store."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from edoc_axis.config import load_config
from edoc_axis.core.compose import new_document
from edoc_axis.edxml import build_document
from edoc_axis.home import init_home
from edoc_axis.pki import Issued, cert_to_pem, issue_certificate, load_certs, load_key
from edoc_axis.runtime import AxisRuntime
from edoc_axis.service.registry import register_agency
from edoc_axis.signature import sign_package
from edoc_axis.store import Store
from edoc_axis.store.factory import open_store
from tests.waiting import eventually


@dataclass
class Wired:
    runtime: AxisRuntime
    store: Store
    url: str
    ca: Issued
    http: aiohttp.ClientSession
    tokens: dict[str, str]
    certs: dict[str, Issued]
    runners: list[web.AppRunner]

    async def register(self, code: str, endpoint: str | None = None) -> None:
        issued = issue_certificate(self.ca, code, agency_code=code)
        _, self.tokens[code] = await register_agency(
            self.store,
            code=code,
            name=code,
            delivery_mode="push" if endpoint else "pull",
            endpoint_url=endpoint,
            certificate_pems=[cert_to_pem(issued.cert)],
            at=datetime.now(UTC),
        )
        self.certs[code] = issued

    async def serve(self, app: web.Application) -> str:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        self.runners.append(runner)
        host, port = runner.addresses[0][:2]
        return f"http://{host}:{port}/"

    def headers(self, code: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[code]}"}

    async def send(self, sender: str, recipients: list[str], subject: str = "Văn bản") -> str:
        issued = self.certs[sender]
        raw = sign_package(
            build_document(
                new_document(
                    sender=sender,
                    recipients=recipients,
                    subject=subject,
                    at=datetime(2026, 11, 23, 9),
                )
            ),
            issued.key,
            issued.cert,
        )
        headers = {**self.headers(sender), "Content-Type": "application/xml"}
        async with self.http.post(
            f"{self.url}/api/v1/documents", data=raw, headers=headers
        ) as response:
            assert response.status == 202, await response.text()
            return response.headers["Edoc-Axis-Id"]

    async def get_json(self, path: str, code: str) -> Any:
        async with self.http.get(self.url + path, headers=self.headers(code)) as response:
            return await response.json()

    async def until(self, check: Callable[[], Awaitable[bool]], timeout_s: float = 10.0) -> None:
        await eventually(check, timeout_s)


@pytest.fixture
async def wired(tmp_path: Path) -> AsyncIterator[Wired]:
    home = init_home(tmp_path / "home")
    config = load_config(home.config)
    # Fast retries so that a dead letter is reached within the test.
    config = dataclasses.replace(
        config, retry=dataclasses.replace(config.retry, base_s=0.01, cap_s=0.02, max_attempts=3)
    )
    store = await open_store(config)
    runtime = AxisRuntime(config, store, poll_interval_s=0.05)
    pki = home.root / "pki"
    ca = Issued(load_key(pki / "ca.key.pem"), load_certs(pki / "ca.cert.pem")[0])
    url = await runtime.start("127.0.0.1", 0)
    async with aiohttp.ClientSession() as http:
        wired = Wired(runtime, store, url, ca, http, {}, {}, [])
        yield wired
        for runner in wired.runners:
            await runner.cleanup()
    await runtime.stop()
    await store.close()
