"""Admin certificates must chain to an anchor; X-Request-Id is kept only when short and plain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from edoc_axis.pki import cert_to_pem, create_ca, issue_certificate
from tests.integration.server.conftest import RunningAxis

G22, H49 = "000.00.00.G22", "000.00.00.H49"


def _agency_body(code: str, pem: bytes) -> dict[str, object]:
    return {"code": code, "name": code, "delivery_mode": "pull", "certificates": [pem.decode()]}


async def test_admin_refuses_a_certificate_of_another_ca_with_intakes_code(
    axis: RunningAxis,
) -> None:
    rogue = issue_certificate(create_ca("Rogue CA"), "G22", agency_code=G22)
    created = await axis.call(
        "POST",
        "/admin/v1/agencies",
        token=axis.operator_token,
        json_body=_agency_body(G22, cert_to_pem(rogue.cert)),
    )
    assert (created.status, created.code) == (422, "certificate.untrusted")
    assert await axis.store.get_agency(G22) is None

    kit = await axis.register(H49)
    added = await axis.call(
        "POST",
        f"/admin/v1/agencies/{H49}/certificates",
        token=axis.operator_token,
        json_body={"certificate": cert_to_pem(rogue.cert).decode()},
    )
    assert (added.status, added.code) == (422, "certificate.untrusted")
    agency = await axis.store.get_agency(H49)
    assert agency is not None and len(agency.certificate_fingerprints) == 1
    assert kit.code == H49


async def test_admin_refuses_a_certificate_that_can_never_sign(axis: RunningAxis) -> None:
    no_signing = axis.issue(G22, key_usage_digital_signature=False)
    created = await axis.call(
        "POST",
        "/admin/v1/agencies",
        token=axis.operator_token,
        json_body=_agency_body(G22, cert_to_pem(no_signing.cert)),
    )
    assert (created.status, created.code) == (422, "certificate.untrusted")


async def test_admin_takes_anchored_certificates_that_are_not_yet_or_no_longer_valid(
    axis: RunningAxis,
) -> None:
    """Validity is a matter of the day: intake judges it per document, registration does not."""
    future = axis.issue(G22, valid_from=datetime.now(UTC) + timedelta(days=10))
    expired = axis.issue(H49, valid_from=datetime.now(UTC) - timedelta(days=30), valid_days=10)
    await axis.register(G22, issued=future)
    await axis.register(H49, issued=expired)


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("3f2b6c1e-8a4d-4c55-9a0e-5d7b1c2e9f10", True),
        ("agency-123/4", True),
        ("x" * 128, True),
        ("x" * 129, False),
        ("bad id with spaces", False),
        ("a;b", False),
        ("<script>", False),
        ("", False),
    ],
)
async def test_x_request_id_is_kept_only_when_short_and_plain(
    axis: RunningAxis, given: str, kept: bool
) -> None:
    response = await axis.call("GET", "/api/v1/me", headers={"X-Request-Id": given})
    assert response.code == "auth.required"
    echoed = {k.lower(): v for k, v in response.headers.items()}["x-request-id"]
    assert (echoed == given) is kept
    if not kept:
        assert len(echoed) == 32 and echoed.isalnum()
