"""Helpers for the VDXP tests: two agencies, a system for each, signed packages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from edoc_axis.core.compose import new_status
from edoc_axis.edxml import StatusCode, build_status
from edoc_axis.service.systems import register_system
from edoc_axis.vdxp_client import VdxpClient, sdk_timestamp
from tests.integration.server.conftest import VN, AgencyKit, RunningAxis

A, B, C = "000.00.00.G22", "000.00.00.H49", "000.00.00.A01"


@dataclass
class VdxpPair:
    axis: RunningAxis
    a: AgencyKit
    b: AgencyKit
    client_a: VdxpClient
    client_b: VdxpClient
    secret_a: str
    secret_b: str


async def add_system(axis: RunningAxis, system_id: str, *agencies: str) -> str:
    _, secret = await register_system(
        axis.store, axis.config.vdxp_key_file(), system_id, list(agencies), datetime.now(UTC)
    )
    return secret


def client(axis: RunningAxis, system_id: str, secret: str) -> VdxpClient:
    return VdxpClient(
        axis.session,
        axis.url + axis.config.vdxp.path_prefix,
        system_id,
        secret,
        sdk_timestamp(datetime.now(UTC)),
    )


async def vdxp_pair(axis: RunningAxis) -> VdxpPair:
    a = await axis.register(A, aliases=("G22",))
    b = await axis.register(B, aliases=("H49",))
    secret_a = await add_system(axis, "vxp.saas.01", A)
    secret_b = await add_system(axis, "vxp.saas.02", B)
    return VdxpPair(
        axis,
        a,
        b,
        client(axis, "vxp.saas.01", secret_a),
        client(axis, "vxp.saas.02", secret_b),
        secret_a,
        secret_b,
    )


def signed_status(kit: AgencyKit, document_id: str, counterparty: str, code: str) -> bytes:
    return kit.sign(unsigned_status(kit, document_id, counterparty, code))


def unsigned_status(kit: AgencyKit, document_id: str, counterparty: str, code: str) -> bytes:
    """A status as the reference SDK sends it: no signature."""
    return build_status(
        new_status(
            sender=kit.code,
            about_document_id=document_id,
            counterparty=counterparty,
            code=StatusCode(code),
            at=datetime.now(UTC).replace(tzinfo=None) + VN,
            description=f"trạng thái {code}",
        )
    )
