"""The whole catalogue against our own axis and our own reference endpoint: all of it passes."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from edoc_axis.config import load_config
from edoc_axis.conformance import (
    AgencyCreds,
    EndpointContext,
    EndpointTarget,
    Outcome,
    endpoint_catalogue,
    required_passed,
    run_cases,
)
from edoc_axis.conformance.report import junit_xml, summary
from edoc_axis.conformance.setup import home_ca
from edoc_axis.endpoint import make_endpoint_app
from edoc_axis.pki import issue_certificate, load_certs, load_key
from edoc_axis.signature import TrustStore
from tests.conformance import explain, run_catalogue, running_axis, small_limit_home


async def test_every_case_passes_against_our_axis(tmp_path: Path) -> None:
    async with running_axis(tmp_path / "home") as (url, config):
        results = await run_catalogue(url, config)
        again = await run_catalogue(url, config)  # fresh ids: the suite re-runs on one axis
    assert len(results) >= 60
    assert required_passed(results), explain(results)
    assert all(r.outcome is Outcome.PASS for r in results), explain(results)
    assert all(r.outcome is Outcome.PASS for r in again), explain(again)
    assert summary(results) == f"{len(results)} passed, 0 failed, 0 skipped"
    assert junit_xml(results).count(b"<testcase ") == len(results)


async def test_every_endpoint_case_passes_against_our_reference_endpoint(tmp_path: Path) -> None:
    config = load_config(small_limit_home(tmp_path / "home"))
    ca = home_ca(config)
    axis_cert = load_certs(config.axis_cert)[0]
    app = make_endpoint_app(tmp_path / "received", [axis_cert], TrustStore([ca.cert]))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    signer = issue_certificate(ca, "Conformance signer", agency_code="000.00.00.G99")
    target = EndpointTarget(
        url=f"http://127.0.0.1:{port}/",
        axis_key=load_key(config.axis_key),
        axis_cert=axis_cert,
        signer=AgencyCreds("000.00.00.G99", "", signer.key, signer.cert),
        recipient_code="000.00.00.G01",
        read_timeout_s=config.retry.read_timeout_s,
    )
    try:
        async with EndpointContext(target) as ctx:
            results = await run_cases(endpoint_catalogue(), ctx)
    finally:
        await runner.cleanup()
    assert all(r.outcome is Outcome.PASS for r in results), explain(results)
    stored = list((tmp_path / "received").rglob("*.xml"))
    # 001, 002 (same document), 007, 009, 010 (first one only): five documents stored once each.
    assert len(stored) == 5, stored
    # ... all in the endpoint's conformance folder, none among the agency's real documents.
    received = tmp_path / "received"
    assert all(path.is_relative_to(received / "conformance") for path in stored), stored
    assert not any((received / "documents").iterdir())
    assert not (received / "received.jsonl").exists()
    assert len((received / "conformance" / "received.jsonl").read_text().splitlines()) == 5
