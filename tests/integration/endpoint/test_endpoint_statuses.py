"""Statuses and the axis's delivery-failure notices pushed to an endpoint."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from edoc_axis.core.compose import new_status
from edoc_axis.core.notice import DeliveryFailure, sign_delivery_failure
from edoc_axis.edxml import StatusCode, build_status
from edoc_axis.pki import Issued, create_ca, issue_axis_certificate
from edoc_axis.signature import TrustStore, sign_package
from tests.integration.endpoint import AXIS_ID, serve_endpoint, signed_delivery


def status_bytes() -> bytes:
    return build_status(
        new_status(
            sender="000.00.00.H49",
            about_document_id="D1",
            counterparty="000.00.00.G22",
            code=StatusCode.ACCEPTED,
            at=datetime(2026, 11, 23, 9),
        )
    )


def notice(key_holder: Issued) -> bytes:
    return sign_delivery_failure(
        DeliveryFailure(
            "axis",
            AXIS_ID,
            "D1",
            "000.00.00.G22",
            "000.00.00.H49",
            3,
            "HTTP 500",
            datetime.now(UTC),
        ),
        key_holder.key,
        key_holder.cert,
    )


async def test_unsigned_status_is_stored_a_broken_signature_is_not(
    tmp_path: Path, axis_signer: Issued, trust_store: TrustStore, agency_h49: Issued
) -> None:
    raw = status_bytes()
    async with serve_endpoint(tmp_path, axis_signer, trust_store) as client:
        stored = await client.post(
            "/", data=raw, headers=signed_delivery(raw, axis_signer, kind="status")
        )
        assert stored.status == 201
        signed = sign_package(raw, agency_h49.key, agency_h49.cert)
        broken = signed.replace(b"<edXML:StatusCode>03<", b"<edXML:StatusCode>04<")
        headers = signed_delivery(broken, axis_signer, kind="status", axis_id="other-id")
        refused = await client.post("/", data=broken, headers=headers)
        assert refused.status == 422
        assert (await refused.json())["code"] == "signature.invalid"
    assert (tmp_path / "statuses" / f"{AXIS_ID}.xml").read_bytes() == raw


async def test_notice_must_carry_the_axis_signature(
    tmp_path: Path, axis_signer: Issued, trust_store: TrustStore
) -> None:
    genuine = notice(axis_signer)
    forged = notice(issue_axis_certificate(create_ca("rogue"), "rogue"))
    async with serve_endpoint(tmp_path, axis_signer, trust_store) as client:
        ok = await client.post(
            "/", data=genuine, headers=signed_delivery(genuine, axis_signer, kind="status")
        )
        assert ok.status == 201
        headers = signed_delivery(forged, axis_signer, kind="status", axis_id="forged-id")
        refused = await client.post("/", data=forged, headers=headers)
        assert refused.status == 422
