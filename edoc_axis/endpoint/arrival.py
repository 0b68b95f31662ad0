"""Answer status 01 (arrived) to the axis for each newly stored push delivery."""

from __future__ import annotations

import asyncio
import ssl
from datetime import UTC, datetime
from pathlib import Path

import structlog
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes

from edoc_axis.client import AxisClient, AxisUnreachable
from edoc_axis.clock import to_vietnam_local
from edoc_axis.core.compose import new_status
from edoc_axis.edxml import (
    REAL_WORLD,
    DocumentPackage,
    Package,
    StatusCode,
    build_status,
    read_package,
)
from edoc_axis.endpoint.app import OnStored, Received
from edoc_axis.signature import sign_package

log = structlog.get_logger("edoc_axis.endpoint")


def _header_of(path: Path) -> Package:
    """The stored package, read off the event loop, its attachments' text not kept."""
    return read_package(path.read_bytes(), tolerances=REAL_WORLD, keep_attachment_text=False)


def arrival_notifier(
    axis_url: str,
    token: str | None,
    agency_code: str,
    *,
    key: CertificateIssuerPrivateKeyTypes | None = None,
    cert: x509.Certificate | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> OnStored:
    """An ``on_stored`` hook that posts a (signed, given key and cert) status 01."""

    async def notify(received: Received) -> None:
        package = await asyncio.to_thread(_header_of, received.absolute_path)
        if not isinstance(package, DocumentPackage):
            return
        status = new_status(
            sender=agency_code,
            about_document_id=package.document_id,
            counterparty=package.sender.organ_id,
            code=StatusCode.ARRIVED,
            document_code=f"{package.code.code_number}/{package.code.code_notation}",
            at=to_vietnam_local(datetime.now(UTC)),
            description="Đã đến: stored by the agency's endpoint",
        )
        raw = build_status(status)
        if key is not None and cert is not None:
            raw = sign_package(raw, key, cert)
        axis_id = received.item.axis_id
        try:
            async with AxisClient(axis_url, token, ssl_context=ssl_context) as client:
                response = await client.post_status(raw)
        except AxisUnreachable as exc:  # the document is stored; only the 01 is missing
            log.warning("endpoint.status_unsent", axis_id=axis_id, reason=str(exc))
            return
        if response.ok:
            status_id = response.json().get("status_id")
            log.info("endpoint.status_sent", axis_id=axis_id, status_id=status_id)
        else:
            detail = response.problem.get("detail")
            log.warning(
                "endpoint.status_refused",
                axis_id=axis_id,
                http_status=response.status,
                code=response.code,
                detail=detail,
            )

    return notify
