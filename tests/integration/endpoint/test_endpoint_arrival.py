"""`edoc endpoint --answer-arrival` answers each new document with a signed status 01."""

from __future__ import annotations

import argparse
import asyncio
import socket
from datetime import datetime
from pathlib import Path

import aiohttp

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

G22, H49 = "000.00.00.G22", "000.00.00.H49"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_new_document_is_answered_with_a_signed_01(tmp_path: Path) -> None:
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
            tokens[H49],
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
            statuses: list[dict[str, str]] = []
            for _ in range(250):
                async with http.get(
                    f"{url}/api/v1/documents/{axis_id}/trace", headers=headers
                ) as r:
                    statuses = (await r.json())["deliveries"][0]["statuses"]
                if statuses:
                    break
                await asyncio.sleep(0.02)
            assert [s["status_code"] for s in statuses] == ["01"]
            assert statuses[0]["description"] == "Đã đến: stored by the agency's endpoint"
            async with http.get(
                f"{url}/api/v1/statuses/{statuses[0]['status_id']}", headers=headers
            ) as r:
                assert b"SignatureValue" in await r.read()
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
