"""`edoc endpoint --answer-arrival` answers each new document with a signed status 01."""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
from structlog.testing import capture_logs

from edoc_axis.cli import edoc_endpoint
from edoc_axis.config import load_config
from edoc_axis.core.compose import new_document
from edoc_axis.edxml import build_document
from edoc_axis.home import init_home
from edoc_axis.pki import Issued, cert_to_pem, issue_certificate, load_certs, load_key, save_issued
from edoc_axis.runtime import AxisRuntime
from edoc_axis.service.registry import register_agency
from edoc_axis.signature import sign_package
from edoc_axis.store.factory import open_store
from tests.ports import free_port
from tests.waiting import eventually

G22, H49 = "000.00.00.G22", "000.00.00.H49"


async def test_new_document_is_answered_with_a_signed_01(tmp_path: Path) -> None:
    with capture_logs() as logs:
        statuses = await _arrive(tmp_path, answer_as=H49)
    assert [s["status_code"] for s in statuses] == ["01"]
    assert statuses[0]["description"] == "Đã đến: stored by the agency's endpoint"
    assert statuses[0]["signed"]
    sent = [entry for entry in logs if entry["event"] == "endpoint.status_sent"]
    assert sent == [
        {
            "event": "endpoint.status_sent",
            "log_level": "info",
            "axis_id": sent[0]["axis_id"],
            "status_id": statuses[0]["status_id"],
        }
    ]  # the axis's status id, no empty error code


async def test_a_status_the_axis_refuses_is_logged_as_a_warning(tmp_path: Path) -> None:
    with capture_logs() as logs:
        statuses = await _arrive(tmp_path, answer_as=G22)  # another agency's token
    # only the 01 the axis records itself when the push is answered
    assert [(s["status_code"], s["description"]) for s in statuses] == [
        ("01", "Đã đến: delivered to the agency's endpoint")
    ]
    refused = [entry for entry in logs if entry["event"] == "endpoint.status_refused"]
    assert len(refused) == 1, logs
    assert refused[0]["log_level"] == "warning"
    assert refused[0]["http_status"] == 403
    assert refused[0]["code"] == "auth.sender-mismatch"
    assert not [entry for entry in logs if entry["event"] == "endpoint.status_sent"]


async def _arrive(tmp_path: Path, *, answer_as: str) -> list[dict[str, Any]]:
    """Deliver one document to H49's endpoint, which answers 01 with ``answer_as``'s token;
    return the statuses the sender's trace then shows (once the 01 arrived, or once the
    push is recorded as delivered when the 01 cannot arrive)."""
    home = init_home(tmp_path / "home")
    config = load_config(home.config)
    pki = home.root / "pki"
    ca = Issued(load_key(pki / "ca.key.pem"), load_certs(pki / "ca.cert.pem")[0])
    g22 = issue_certificate(ca, "VPCP", agency_code=G22)
    h49 = issue_certificate(ca, "Quảng Ninh", agency_code=H49)
    save_issued(h49, tmp_path / "h49.key.pem", tmp_path / "h49.cert.pem")
    port = free_port()
    store = await open_store(config)
    tokens = {}
    now = datetime.now().astimezone()
    for code, issued, mode in ((G22, g22, "pull"), (H49, h49, "push")):
        _, tokens[code] = await register_agency(
            store,
            code=code,
            name=code,
            delivery_mode=mode,
            endpoint_url=f"http://127.0.0.1:{port}/" if mode == "push" else None,
            certificate_pems=[cert_to_pem(issued.cert)],
            at=now,
        )
    runtime = AxisRuntime(config, store, poll_interval_s=0.05)
    url = await runtime.start("127.0.0.1", 0)
    parser = argparse.ArgumentParser()
    edoc_endpoint.add_commands(parser.add_subparsers())
    args = parser.parse_args(
        [
            "endpoint",
            "--listen",
            f"127.0.0.1:{port}",
            "--out",
            str(tmp_path / "out"),
            "--axis-cert",
            str(pki / "axis.cert.pem"),
            "--ca",
            str(pki / "ca.cert.pem"),
            "--answer-arrival",
            "--code",
            H49,
            "--axis",
            url,
            "--token",
            tokens[answer_as],
            "--key",
            str(tmp_path / "h49.key.pem"),
            "--cert",
            str(tmp_path / "h49.cert.pem"),
        ]
    )
    stop = asyncio.Event()
    serving = asyncio.create_task(edoc_endpoint.serve(edoc_endpoint.options_from(args), stop))
    try:
        raw = sign_package(
            build_document(
                new_document(
                    sender=G22,
                    recipients=[H49],
                    subject="Trả lời tự động",
                    at=datetime(2026, 11, 23, 9),
                )
            ),
            g22.key,
            g22.cert,
        )
        headers = {"Authorization": f"Bearer {tokens[G22]}"}
        async with aiohttp.ClientSession() as http:
            async with http.post(
                f"{url}/api/v1/documents",
                data=raw,
                headers={**headers, "Content-Type": "application/xml"},
            ) as r:
                axis_id = r.headers["Edoc-Axis-Id"]

            async def delivered() -> list[dict[str, Any]] | None:
                async with http.get(
                    f"{url}/api/v1/documents/{axis_id}/trace", headers=headers
                ) as r:
                    delivery = (await r.json())["deliveries"][0]
                statuses: list[dict[str, Any]] = delivery["statuses"]
                # "delivered" is recorded when the endpoint answers, after its hook posted
                return statuses if statuses and delivery["state"] == "delivered" else None

            statuses = await eventually(delivered, 20.0, "the delivery and its statuses")
            for status in statuses:
                async with http.get(
                    f"{url}/api/v1/statuses/{status['status_id']}", headers=headers
                ) as r:
                    status["signed"] = b"SignatureValue" in await r.read()
            return statuses
    finally:
        stop.set()
        await serving
        await runtime.stop()
        await store.close()


def test_answer_arrival_needs_a_code(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    edoc_endpoint.add_commands(parser.add_subparsers())
    args = parser.parse_args(
        [
            "endpoint",
            "--out",
            str(tmp_path),
            "--axis-cert",
            __file__,
            "--answer-arrival",
            "--axis",
            "http://127.0.0.1:1",
            "--token",
            "t",
        ]
    )
    try:
        edoc_endpoint._arrival_hook(args)
    except edoc_endpoint.CliFailure as failure:
        assert failure.exit_code == 2
    else:
        raise AssertionError("a missing --code must be a usage error")
