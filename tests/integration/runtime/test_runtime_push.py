"""The wired axis (AxisRuntime): intake wakes the dispatcher, a 2xx push records 01."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from edoc_axis.config import load_config
from edoc_axis.core.compose import new_document
from edoc_axis.edxml import build_document
from edoc_axis.endpoint.app import make_endpoint_app
from edoc_axis.home import init_home
from edoc_axis.pki import Issued, cert_to_pem, issue_certificate, load_certs, load_key
from edoc_axis.runtime import AxisRuntime
from edoc_axis.signature import TrustStore, sign_package
from edoc_axis.store.factory import open_store
from tests.waiting import eventually

G22, H49 = "000.00.00.G22", "000.00.00.H49"


@pytest.fixture
async def wired(tmp_path: Path) -> AsyncIterator[tuple[AxisRuntime, str, Issued, str]]:
    home = init_home(tmp_path / "home")
    config = load_config(home.config)
    store = await open_store(config)
    # A long poll interval: only the intake's wake-up can make this fast.
    runtime = AxisRuntime(config, store, poll_interval_s=30.0)
    ca = Issued(
        load_key(home.root / "pki/ca.key.pem"), load_certs(home.root / "pki/ca.cert.pem")[0]
    )
    endpoint = web.AppRunner(
        make_endpoint_app(
            tmp_path / "endpoint", [runtime.services.axis_cert], TrustStore([ca.cert])
        )
    )
    await endpoint.setup()
    await web.TCPSite(endpoint, "127.0.0.1", 0).start()
    host, port = endpoint.addresses[0][:2]
    url = await runtime.start("127.0.0.1", 0)
    yield runtime, url, ca, f"http://{host}:{port}/"
    await runtime.stop()
    await endpoint.cleanup()
    await store.close()


async def test_push_delivery_records_arrival_and_metrics(
    wired: tuple[AxisRuntime, str, Issued, str], tmp_path: Path
) -> None:
    runtime, url, ca, endpoint_url = wired
    op = {"Authorization": f"Bearer {runtime.config.operator_token()}"}
    g22 = issue_certificate(ca, "VPCP", agency_code=G22)
    h49 = issue_certificate(ca, "Quảng Ninh", agency_code=H49)
    async with aiohttp.ClientSession() as http:
        tokens = {}
        for code, issued, mode, endpoint in (
            (G22, g22, "pull", None),
            (H49, h49, "push", endpoint_url),
        ):
            async with http.post(
                f"{url}/admin/v1/agencies",
                headers=op,
                json={
                    "code": code,
                    "name": code,
                    "delivery_mode": mode,
                    "endpoint_url": endpoint,
                    "certificates": [cert_to_pem(issued.cert).decode()],
                },
            ) as response:
                tokens[code] = (await response.json())["token"]
        raw = sign_package(
            build_document(
                new_document(
                    sender=G22,
                    recipients=[H49],
                    subject="Đẩy",
                    at=datetime(2026, 11, 23, 9),
                )
            ),
            g22.key,
            g22.cert,
        )
        sender = {"Authorization": f"Bearer {tokens[G22]}", "Content-Type": "application/xml"}
        async with http.post(f"{url}/api/v1/documents", data=raw, headers=sender) as response:
            assert response.status == 202
            axis_id = response.headers["Edoc-Axis-Id"]

        async def answered_01() -> dict[str, Any] | None:
            async with http.get(
                f"{url}/api/v1/documents/{axis_id}/trace", headers=sender
            ) as response:
                trace: dict[str, Any] = await response.json()
            return trace if trace["deliveries"][0]["status_code"] == "01" else None

        # 10 s, well under the 30 s poll: the wake-up did it.
        trace = await eventually(answered_01, 10.0, "the delivery's 01 answer")
        delivery = trace["deliveries"][0]
        assert delivery["state"] == "delivered"
        assert (
            delivery["statuses"][0]["description"] == "Đã đến: delivered to the agency's endpoint"
        )
        stored = tmp_path / "endpoint" / "documents" / f"{axis_id}.xml"
        assert stored.read_bytes() == raw
        async with http.get(f"{url}/metrics") as response:
            metrics = await response.text()
        assert 'edoc_deliveries_total{outcome="delivered"} 1.0' in metrics
