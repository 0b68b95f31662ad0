"""Every intake refusal of API.md's table, shown with its status and stable code.

Each test also shows that nothing was stored for the refused submission.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from edoc_axis.pki import cert_to_pem, create_ca, issue_certificate
from edoc_axis.signature import certificate_fingerprint
from tests.integration.server.conftest import AgencyKit, RunningAxis
from tests.unit.signature import legacy_sign

G22, H49, G14 = "000.00.00.G22", "000.00.00.H49", "000.00.00.G14"


async def pair(axis: RunningAxis) -> tuple[AgencyKit, AgencyKit]:
    return await axis.register(G22), await axis.register(H49)


async def assert_refused(
    axis: RunningAxis, raw: bytes, kit: AgencyKit, status: int, code: str, **kwargs: object
) -> None:
    response = await axis.call("POST", "/api/v1/documents", token=kit.token, data=raw, **kwargs)  # type: ignore[arg-type]
    assert (response.status, response.code) == (status, code), response.body
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert response.json()["detail"]
    page = await axis.store.inbox(H49, limit=10)
    assert page.items == ()


async def test_not_well_formed_xml(axis: RunningAxis) -> None:
    sender, _ = await pair(axis)
    raw = b"1212" + axis.signed(sender, [H49])  # the reference SDK sample's stray bytes
    await assert_refused(axis, raw, sender, 400, "xml.malformed")


@pytest.mark.parametrize(
    "prolog",
    [
        b'<!DOCTYPE edXML [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
        b'<!DOCTYPE edXML SYSTEM "http://127.0.0.1:9/evil.dtd">',
        b'<!DOCTYPE edXML [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>',
    ],
)
async def test_dtds_and_entities_are_forbidden(axis: RunningAxis, prolog: bytes) -> None:
    sender, _ = await pair(axis)
    signed = axis.signed(sender, [H49])
    head, _, rest = signed.partition(b"?>")
    await assert_refused(axis, head + b"?>\n" + prolog + rest, sender, 400, "xml.forbidden")


async def test_well_formed_but_not_edxml(axis: RunningAxis) -> None:
    sender, _ = await pair(axis)
    raw = axis.signed(sender, [H49]).replace(b"edXML:Subject", b"edXML:Subjekt")
    await assert_refused(axis, raw, sender, 400, "schema.invalid")


async def test_a_status_package_is_not_a_document(axis: RunningAxis) -> None:
    from edoc_axis.core.compose import new_status
    from edoc_axis.edxml import StatusCode, build_status

    sender, _ = await pair(axis)
    status = new_status(
        sender=G22,
        about_document_id="X",
        counterparty=H49,
        code=StatusCode.ACCEPTED,
        at=datetime(2026, 11, 23, 9, 0),
    )
    await assert_refused(axis, sender.sign(build_status(status)), sender, 400, "schema.invalid")


async def test_unsupported_media_type(axis: RunningAxis) -> None:
    sender, _ = await pair(axis)
    raw = axis.signed(sender, [H49])
    await assert_refused(axis, raw, sender, 415, "media.unsupported", content_type="text/plain")


@pytest.mark.parametrize("token", [None, "edoc_not-a-real-token"])
async def test_missing_or_unknown_token(axis: RunningAxis, token: str | None) -> None:
    sender, _ = await pair(axis)
    response = await axis.call(
        "POST", "/api/v1/documents", token=token, data=axis.signed(sender, [H49])
    )
    assert (response.status, response.code) == (401, "auth.required")


async def test_token_of_one_agency_from_of_another(axis: RunningAxis) -> None:
    sender, other = await pair(axis)
    await axis.register(G14)
    raw = axis.signed(sender, [G14])  # From G22, signed by G22
    await assert_refused(axis, raw, other, 403, "auth.sender-mismatch")


async def test_signature_of_another_agency(axis: RunningAxis) -> None:
    sender, other = await pair(axis)
    raw = other.sign(axis.document(sender, [H49]))  # From G22, token G22, signed by H49
    await assert_refused(axis, raw, sender, 422, "certificate.not-agency")


async def test_disabled_agency_and_rotated_token(axis: RunningAxis) -> None:
    sender, _ = await pair(axis)
    old_token = sender.token
    rotated = await axis.call(
        "POST", f"/admin/v1/agencies/{G22}/rotate-token", token=axis.operator_token
    )
    new_token = rotated.json()["token"]
    raw = axis.signed(sender, [H49])
    refused = await axis.call("POST", "/api/v1/documents", token=old_token, data=raw)
    assert (refused.status, refused.code) == (401, "auth.required")
    await axis.call("POST", f"/admin/v1/agencies/{G22}/disable", token=axis.operator_token)
    disabled = await axis.call("POST", "/api/v1/documents", token=new_token, data=raw)
    assert (disabled.status, disabled.code) == (401, "auth.required")
    await axis.call("POST", f"/admin/v1/agencies/{G22}/enable", token=axis.operator_token)
    accepted = await axis.call("POST", "/api/v1/documents", token=new_token, data=raw)
    assert accepted.status == 202


async def test_unknown_and_disabled_recipients(axis: RunningAxis) -> None:
    sender, _ = await pair(axis)
    await assert_refused(axis, axis.signed(sender, [G14]), sender, 422, "recipient.unknown")
    await axis.register(G14)
    await axis.call("POST", f"/admin/v1/agencies/{G14}/disable", token=axis.operator_token)
    await assert_refused(axis, axis.signed(sender, [H49, G14]), sender, 422, "recipient.disabled")


async def test_unsigned_document(axis: RunningAxis) -> None:
    sender, _ = await pair(axis)
    await assert_refused(axis, axis.document(sender, [H49]), sender, 422, "signature.missing")


async def test_tampered_document(axis: RunningAxis) -> None:
    sender, _ = await pair(axis)
    raw = axis.signed(sender, [H49], subject="Giữ nguyên")
    tampered = raw.replace("Giữ nguyên".encode(), "Đã sửa".encode())
    await assert_refused(axis, tampered, sender, 422, "signature.invalid")


async def test_sha1_signature_without_the_legacy_policy(axis: RunningAxis) -> None:
    sender, _ = await pair(axis)
    raw = legacy_sign(axis.document(sender, [H49]), sender.issued.key, sender.issued.cert)
    await assert_refused(axis, raw, sender, 422, "signature.algorithm")


async def test_second_signature_is_wrapping(axis: RunningAxis) -> None:
    sender, _ = await pair(axis)
    raw = axis.signed(sender, [H49])
    start = raw.index(b"<ds:Signature")
    end = raw.index(b"</ds:Signature>") + len(b"</ds:Signature>")
    envelope_end = raw.index(b"</edXML:edXMLEnvelope>")
    wrapped = raw[:envelope_end] + raw[start:end] + raw[envelope_end:]
    await assert_refused(axis, wrapped, sender, 422, "signature.wrapping")


async def test_certificate_from_an_untrusted_ca(axis: RunningAxis) -> None:
    """The admin API refuses it (see test_admin_certificates); put into the store another way
    (say, before its CA was dropped from the anchors), intake still refuses what it signs."""
    rogue = issue_certificate(create_ca("Rogue CA"), "Agency G22", agency_code=G22)
    sender = await axis.register(G22)
    await axis.store.add_certificate(
        G22, certificate_fingerprint(rogue.cert), cert_to_pem(rogue.cert)
    )
    sender = AgencyKit(sender.code, sender.name, rogue, sender.token)
    await axis.register(H49)
    await assert_refused(axis, axis.signed(sender, [H49]), sender, 422, "certificate.untrusted")


async def test_expired_certificate(axis: RunningAxis) -> None:
    expired = axis.issue(G22, valid_from=datetime.now(UTC) - timedelta(days=30), valid_days=10)
    sender = await axis.register(G22, issued=expired)
    await axis.register(H49)
    await assert_refused(axis, axis.signed(sender, [H49]), sender, 422, "certificate.expired")
