"""The development CA: what its certificates and CRLs contain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from edoc_axis.pki import Issued, create_ca, issue_axis_certificate, issue_certificate, make_crl


def _usage(cert: x509.Certificate) -> x509.KeyUsage:
    return cert.extensions.get_extension_for_class(x509.KeyUsage).value


def test_ca_is_a_self_signed_ca(dev_ca: Issued) -> None:
    cert = dev_ca.cert
    assert cert.subject == cert.issuer
    cert.verify_directly_issued_by(cert)
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert _usage(cert).key_cert_sign and _usage(cert).crl_sign
    assert isinstance(dev_ca.key, rsa.RSAPrivateKey) and dev_ca.key.key_size == 2048


def test_ca_validity_follows_now_and_valid_days() -> None:
    now = datetime(2030, 5, 1, tzinfo=UTC)
    ca = create_ca("Test CA", valid_days=10, now=now, key_type="ec")
    assert now - timedelta(hours=1) < ca.cert.not_valid_before_utc <= now
    assert ca.cert.not_valid_after_utc - ca.cert.not_valid_before_utc == timedelta(days=10)
    assert ca.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Test CA"


def test_agency_certificate_subject_and_usage(agency_g22: Issued, dev_ca: Issued) -> None:
    cert = agency_g22.cert
    subject = cert.subject
    assert subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == (
        "Văn phòng Chính phủ"
    )
    assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "000.00.00.G22"
    assert subject.get_attributes_for_oid(NameOID.USER_ID)[0].value == "000.00.00.G22"
    assert cert.issuer == dev_ca.cert.subject
    cert.verify_directly_issued_by(dev_ca.cert)
    assert _usage(cert).digital_signature and _usage(cert).content_commitment
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert isinstance(agency_g22.key, rsa.RSAPrivateKey) and agency_g22.key.key_size == 2048


def test_ec_agency_certificate(agency_g22_ec: Issued) -> None:
    assert isinstance(agency_g22_ec.key, ec.EllipticCurvePrivateKey)
    assert agency_g22_ec.key.curve.name == "secp256r1"


def test_validity_window_for_expired_and_future_certificates(
    expired_cert: Issued, not_yet_valid_cert: Issued
) -> None:
    now = datetime.now(UTC)
    assert expired_cert.cert.not_valid_after_utc < now
    assert not_yet_valid_cert.cert.not_valid_before_utc > now
    assert expired_cert.cert.not_valid_after_utc - expired_cert.cert.not_valid_before_utc == (
        timedelta(days=30)
    )


def test_certificate_without_signing_usage(no_signing_usage_cert: Issued) -> None:
    usage = _usage(no_signing_usage_cert.cert)
    assert not usage.digital_signature and not usage.content_commitment
    assert usage.key_encipherment


def test_plain_common_name_without_agency_code(dev_ca: Issued) -> None:
    issued = issue_certificate(dev_ca, "edoc client", key_type="ec")
    assert issued.cert.subject.rfc4514_string() == "CN=edoc client"


def test_axis_certificate_is_ec_by_default(axis_signer: Issued) -> None:
    assert isinstance(axis_signer.key, ec.EllipticCurvePrivateKey)
    assert axis_signer.cert.subject.rfc4514_string() == "CN=edoc-axis"
    assert _usage(axis_signer.cert).digital_signature


def test_axis_certificate_may_be_rsa(dev_ca: Issued) -> None:
    issued = issue_axis_certificate(dev_ca, "axis-2", key_type="rsa", valid_days=30)
    assert isinstance(issued.key, rsa.RSAPrivateKey)


def test_unknown_key_type_is_refused(dev_ca: Issued) -> None:
    with pytest.raises(ValueError, match="key_type"):
        issue_certificate(dev_ca, "x", key_type="dsa")  # type: ignore[arg-type]


def test_serial_numbers_differ(agency_g22: Issued, agency_h49: Issued) -> None:
    assert agency_g22.cert.serial_number != agency_h49.cert.serial_number


def test_crl_lists_the_revoked_serials_and_is_signed(
    dev_ca: Issued, dev_crl: x509.CertificateRevocationList, revoked_cert: Issued
) -> None:
    assert dev_crl.issuer == dev_ca.cert.subject
    assert dev_crl.is_signature_valid(dev_ca.key.public_key())  # type: ignore[arg-type]
    assert dev_crl.get_revoked_certificate_by_serial_number(revoked_cert.cert.serial_number)
    assert len(dev_crl) == 1


def test_crl_dates_follow_now(dev_ca: Issued) -> None:
    now = datetime(2031, 1, 1, tzinfo=UTC)
    crl = make_crl(dev_ca, [], now=now, next_update_days=7)
    assert crl.next_update_utc == now + timedelta(days=7)
    assert crl.last_update_utc is not None and crl.last_update_utc <= now
    assert len(crl) == 0
