"""Real-world packages through intake on a real server: [interop] on (default) and off.

Each package is signed by its sender; the tolerances widen what the reader
accepts but the signature still covers exactly the bytes received, and those
bytes are what the recipient gets.
"""

from __future__ import annotations

import dataclasses
import hashlib

import pytest

from edoc_axis.config import AxisConfig, Interop
from edoc_axis.core.receipt import verify_receipt
from edoc_axis.edxml import StatusCode
from tests.integration.server.conftest import (
    AgencyKit,
    ConfigTweak,
    Response,
    RunningAxis,
    axis_certificate,
)
from tests.interop_packages import KINDS, SWITCH, real_world_document, real_world_status

G22, H49 = "000.00.00.G22", "000.00.00.H49"
TENANT = "vxp.saas.03"


async def _kits(axis: RunningAxis, kind: str) -> tuple[AgencyKit, AgencyKit, bytes]:
    """Sender, recipient and the signed package of ``kind``."""
    if kind == "lower-case":
        sender = await axis.register(TENANT)  # registered as VXP.SAAS.03
        recipient = await axis.register(H49)
        raw = real_world_document(kind, sender=TENANT, recipients=[H49.lower()])
    else:
        sender, recipient = await axis.register(G22), await axis.register(H49)
        raw = real_world_document(kind, sender=G22, recipients=[H49])
    return sender, recipient, sender.sign(raw)


async def _post_status(axis: RunningAxis, kit: AgencyKit, raw: bytes) -> Response:
    return await axis.call("POST", "/api/v1/statuses", token=kit.token, data=raw)


@pytest.mark.parametrize("kind", KINDS)
async def test_real_world_document_goes_through_end_to_end(axis: RunningAxis, kind: str) -> None:
    sender, recipient, raw = await _kits(axis, kind)

    response = await axis.submit(raw, sender)

    assert response.status == 202, response.body
    receipt = verify_receipt(response.body, [axis_certificate(axis)])
    assert receipt.sender == sender.code.upper()
    assert receipt.recipients == (H49,)
    assert receipt.sha256 == hashlib.sha256(raw).hexdigest()
    axis_id = response.headers["Edoc-Axis-Id"]
    assert await axis.store.document_bytes(axis_id) == raw, "stored bytes are received bytes"
    assert (await axis.submit(raw, sender)).status == 200, "idempotent as any package"

    # The recipient pulls the exact bytes, acknowledges, and answers with a signed status
    # in the real-world shape (lower-case counterparty, From without OrganName).
    listing = (await axis.call("GET", "/api/v1/inbox", token=recipient.token)).json()
    assert [item["id"] for item in listing["items"]] == [axis_id]
    fetched = await axis.call("GET", f"/api/v1/inbox/{axis_id}", token=recipient.token)
    assert fetched.body == raw
    acked = await axis.call("POST", f"/api/v1/inbox/{axis_id}/ack", token=recipient.token)
    assert acked.status == 200
    document_id = receipt.document_id
    status = real_world_status(
        sender=H49.lower(),
        counterparty=sender.code.lower(),
        about_document_id=document_id,
        code=StatusCode.ACCEPTED,
    )
    answered = await _post_status(axis, recipient, recipient.sign(status))
    assert answered.status == 202, answered.body
    trace = (
        await axis.call("GET", f"/api/v1/documents/{axis_id}/trace", token=sender.token)
    ).json()
    (delivery,) = trace["deliveries"]
    assert [s["status_code"] for s in delivery["statuses"]] == ["01", "03"], trace
    assert delivery["statuses"][1]["staff"]["staff"] == "Văn thư", "read from the tolerated status"


async def test_lower_case_code_unknown_to_the_registry_is_refused(axis: RunningAxis) -> None:
    sender = await axis.register(G22)
    raw = sender.sign(real_world_document("lower-case", sender=G22, recipients=["vxp.saas.99"]))
    response = await axis.submit(raw, sender)
    assert (response.status, response.code) == (422, "recipient.unknown")


async def test_lower_case_from_still_has_to_be_the_callers(axis: RunningAxis) -> None:
    tenant = await axis.register(TENANT)
    other = await axis.register(G22)
    await axis.register(H49)
    raw = tenant.sign(real_world_document("lower-case", sender=TENANT, recipients=[H49]))
    response = await axis.submit(raw, other)
    assert (response.status, response.code) == (403, "auth.sender-mismatch")


async def test_the_signature_covers_the_bytes_as_received_not_a_normalised_form(
    axis: RunningAxis,
) -> None:
    """An upper-cased copy of a signed lower-case package is a tampered package."""
    sender, _recipient, raw = await _kits(axis, "lower-case")
    normalised = raw.replace(b"000.00.00.h49", b"000.00.00.H49")
    assert normalised != raw
    response = await axis.submit(normalised, sender)
    assert (response.status, response.code) == (422, "signature.invalid")
    assert not (await axis.store.inbox(H49, limit=10)).items


async def test_codes_differing_only_in_case_are_one_agency(axis: RunningAxis) -> None:
    await axis.register(TENANT)
    again = await axis.call(
        "POST",
        "/admin/v1/agencies",
        token=axis.operator_token,
        json_body={"code": TENANT.upper(), "name": "again", "delivery_mode": "pull"},
    )
    assert (again.status, again.code) == (409, "agency.exists")
    listed = (await axis.call("GET", "/admin/v1/agencies", token=axis.operator_token)).json()
    assert [a["code"] for a in listed["agencies"]] == [TENANT.upper()]


def _without(switch: str) -> ConfigTweak:
    def tweak(config: AxisConfig) -> AxisConfig:
        return dataclasses.replace(config, interop=Interop(**{switch: False}))

    return tweak


@pytest.mark.parametrize(
    ("kind", "config_tweak"), [(kind, _without(SWITCH[kind])) for kind in KINDS]
)
async def test_each_tolerance_switched_off_refuses_its_kind(axis: RunningAxis, kind: str) -> None:
    sender, _recipient, raw = await _kits(axis, kind)
    response = await axis.submit(raw, sender)
    assert (response.status, response.code) == (400, "schema.invalid"), response.body
    assert not (await axis.store.inbox(H49, limit=10)).items
