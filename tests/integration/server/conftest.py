"""A real axis on an ephemeral port over a real SQLite file, with real agencies."""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from cryptography import x509

from edoc_axis.app import make_app
from edoc_axis.config import AxisConfig, Limits, load_config
from edoc_axis.core.compose import new_document
from edoc_axis.edxml import BusinessDocType, build_document
from edoc_axis.home import init_home
from edoc_axis.pki import Issued, cert_to_pem, issue_certificate, load_certs, load_key
from edoc_axis.server.context import SERVICES, AxisServices
from edoc_axis.signature import sign_package
from edoc_axis.store import Store
from edoc_axis.store.factory import open_store

VN = timedelta(hours=7)


@dataclass
class AgencyKit:
    code: str
    name: str
    issued: Issued
    token: str

    def sign(self, raw: bytes) -> bytes:
        return sign_package(raw, self.issued.key, self.issued.cert)


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def code(self) -> str | None:
        if self.status < 400:
            return None
        return str(self.json()["code"])


@dataclass
class RunningAxis:
    url: str
    config: AxisConfig
    store: Store
    ca: Issued
    session: aiohttp.ClientSession
    operator_token: str
    services: AxisServices
    counter: list[int] = field(default_factory=lambda: [0])

    def issue(self, code: str, **kwargs: Any) -> Issued:
        return issue_certificate(self.ca, f"Agency {code}", agency_code=code, **kwargs)

    async def register(
        self,
        code: str,
        *,
        mode: str = "pull",
        endpoint: str | None = None,
        aliases: tuple[str, ...] = (),
        issued: Issued | None = None,
    ) -> AgencyKit:
        issued = issued or self.issue(code)
        response = await self.call(
            "POST",
            "/admin/v1/agencies",
            token=self.operator_token,
            json_body={
                "code": code,
                "name": f"Agency {code}",
                "aliases": list(aliases),
                "delivery_mode": mode,
                "endpoint_url": endpoint,
                "certificates": [cert_to_pem(issued.cert).decode()],
            },
        )
        assert response.status == 201, response.body
        return AgencyKit(code, f"Agency {code}", issued, response.json()["token"])

    def document(self, sender: AgencyKit | str, recipients: list[str], **kwargs: Any) -> bytes:
        """An unsigned document package with a fresh DocumentId."""
        self.counter[0] += 1
        code = sender if isinstance(sender, str) else sender.code
        kwargs.setdefault("code_number", str(self.counter[0]))
        kwargs.setdefault("subject", f"V/v thử nghiệm {self.counter[0]}")
        package = new_document(
            sender=code, recipients=recipients, at=datetime.now(UTC) + VN, **kwargs
        )
        return build_document(package)

    def signed(self, sender: AgencyKit, recipients: list[str], **kwargs: Any) -> bytes:
        return sender.sign(self.document(sender, recipients, **kwargs))

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        data: bytes | io.BytesIO | aiohttp.FormData | None = None,
        content_type: str | None = "application/xml",
        json_body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        if json_body is not None:
            data = json.dumps(json_body).encode()
            content_type = "application/json"
        if content_type and not isinstance(data, aiohttp.FormData):
            all_headers["Content-Type"] = content_type
        if isinstance(data, bytes) and len(data) > 1 << 20:
            data = io.BytesIO(data)  # aiohttp writes large bytes in one call, and warns
        async with self.session.request(
            method, self.url + path, data=data, headers=all_headers
        ) as response:
            return Response(response.status, await response.read(), dict(response.headers))

    async def submit(self, raw: bytes, kit: AgencyKit) -> Response:
        return await self.call("POST", "/api/v1/documents", token=kit.token, data=raw)


ConfigTweak = Callable[[AxisConfig], AxisConfig]


@pytest.fixture
def config_tweak() -> ConfigTweak:
    """Override in a test module to change the axis configuration."""
    return lambda config: config


@pytest.fixture
async def axis(tmp_path: Path, config_tweak: ConfigTweak) -> AsyncIterator[RunningAxis]:
    async with serve_axis(tmp_path, config_tweak) as running:
        yield running


@asynccontextmanager
async def serve_axis(
    tmp_path: Path, config_tweak: ConfigTweak, store: Store | None = None
) -> AsyncIterator[RunningAxis]:
    """The axis app on port 0 over a fresh home; over ``store`` (opened here) if given."""
    home = init_home(tmp_path / "home")
    config = config_tweak(load_config(home.config))
    if store is None:
        store = await open_store(config)
    else:
        await store.open()
    app = make_app(config, store)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    ca = Issued(
        key=load_key(home.root / "pki" / "ca.key.pem"),
        cert=load_certs(home.root / "pki" / "ca.cert.pem")[0],
    )
    async with aiohttp.ClientSession() as session:
        yield RunningAxis(
            url=str(server.make_url("")).rstrip("/"),
            config=config,
            store=store,
            ca=ca,
            session=session,
            operator_token=home.operator_token,
            services=app[SERVICES],
        )
    await server.close()
    await store.close()


def with_limits(**changes: Any) -> ConfigTweak:
    def tweak(config: AxisConfig) -> AxisConfig:
        return dataclasses.replace(config, limits=dataclasses.replace(Limits(), **changes))

    return tweak


def axis_certificate(running: RunningAxis) -> x509.Certificate:
    return load_certs(running.config.axis_cert)[0]


__all__ = ["AgencyKit", "BusinessDocType", "RunningAxis", "axis_certificate", "with_limits"]


def admin_routes(axis: RunningAxis, code: str) -> list[tuple[str, str]]:
    """Every /admin route of the running axis's router, as (method, a concrete path)."""
    app = make_app(axis.config, axis.store)  # the same router the running axis has
    routes = []
    for route in app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if not path.startswith("/admin") or route.method == "HEAD":
            continue
        concrete = (
            path.replace("{code}", code)
            .replace("{id}", "1")
            .replace("{fingerprint}", "ab")
            .replace("{system_id}", "s1")
            .replace("{name}", "lan")
        )
        routes.append((route.method, concrete))
    return routes
