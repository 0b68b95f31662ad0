"""TrustStore.check and the agency mapping: each refusal with its own error class."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from edoc_axis.errors import (
    CertificateExpired,
    CertificateNotAgency,
    CertificateRevoked,
    CertificateUntrusted,
)
from edoc_axis.keyfiles import load_trust_store
from edoc_axis.pki import Issued, cert_to_pem, create_ca, issue_certificate, make_crl
from edoc_axis.signature import TrustStore, certificate_fingerprint, check_agency_certificate


def _now() -> datetime:
    """Now at the time of the check: the session's certificates are issued when first
    used (backdated 5 minutes), which in a long run is well after this module loads."""
    return datetime.now(UTC)


@pytest.mark.parametrize("name", ["agency_g22", "agency_h49", "agency_g22_ec", "axis_signer"])
def test_good_certificates_pass(
    name: str, request: pytest.FixtureRequest, trust_store: TrustStore
) -> None:
    issued: Issued = request.getfixturevalue(name)
    trust_store.check(issued.cert, _now())


def test_expired(expired_cert: Issued, trust_store: TrustStore) -> None:
    with pytest.raises(CertificateExpired, match="expired"):
        trust_store.check(expired_cert.cert, _now())


def test_not_yet_valid(not_yet_valid_cert: Issued, trust_store: TrustStore) -> None:
    with pytest.raises(CertificateExpired, match="not valid before"):
        trust_store.check(not_yet_valid_cert.cert, _now())


def test_validity_is_judged_at_the_given_time(agency_g22: Issued, trust_store: TrustStore) -> None:
    with pytest.raises(CertificateExpired):
        trust_store.check(agency_g22.cert, _now() + timedelta(days=900))
    with pytest.raises(CertificateExpired):
        trust_store.check(agency_g22.cert, _now() - timedelta(days=1))


def test_revoked(revoked_cert: Issued, trust_store: TrustStore) -> None:
    with pytest.raises(CertificateRevoked, match="revoked"):
        trust_store.check(revoked_cert.cert, _now())


def test_revoked_certificate_passes_without_the_crl(revoked_cert: Issued, dev_ca: Issued) -> None:
    TrustStore([dev_ca.cert]).check(revoked_cert.cert, _now())


def test_untrusted_ca(
    untrusted_cert: Issued, untrusted_ca: Issued, trust_store: TrustStore
) -> None:
    with pytest.raises(CertificateUntrusted, match="does not chain"):
        trust_store.check(untrusted_cert.cert, _now())
    with pytest.raises(CertificateUntrusted, match="does not chain"):
        trust_store.check(untrusted_cert.cert, _now(), chain=[untrusted_ca.cert])


def test_untrusted_reason_is_in_our_words(
    untrusted_cert: Issued, dev_ca: Issued, trust_store: TrustStore
) -> None:
    with pytest.raises(CertificateUntrusted) as refused:
        trust_store.check(untrusted_cert.cert, _now())
    detail = refused.value.detail
    assert f"its issuer {untrusted_cert.cert.issuer.rfc4514_string()} is not a trusted CA" in detail
    assert f"trusted: {dev_ca.cert.subject.rfc4514_string()}" in detail
    assert "candidates" not in detail and "exhausted" not in detail


def test_a_namesake_of_the_trusted_ca_is_told_apart(agency_g22: Issued, dev_ca: Issued) -> None:
    namesake = create_ca(dev_ca.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)
    with pytest.raises(CertificateUntrusted) as refused:
        TrustStore([namesake.cert]).check(agency_g22.cert, _now())
    assert "has the name of a trusted CA but not its key" in refused.value.detail


def test_without_digital_signature_usage(
    no_signing_usage_cert: Issued, trust_store: TrustStore
) -> None:
    with pytest.raises(CertificateUntrusted, match="neither digitalSignature nor nonRepudiation"):
        trust_store.check(no_signing_usage_cert.cert, _now())


def test_ca_certificate_cannot_sign_documents(dev_ca: Issued, trust_store: TrustStore) -> None:
    with pytest.raises(CertificateUntrusted):
        trust_store.check(dev_ca.cert, _now())


def _cert(
    issuer: Issued,
    name: str,
    *,
    ca: bool,
    usage: x509.KeyUsage | None,
    path_length: int | None = None,
) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - timedelta(days=1))
        .not_valid_after(_now() + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
    )
    if usage is not None:
        builder = builder.add_extension(usage, critical=True)
    return Issued(key, builder.sign(issuer.key, hashes.SHA256()))


def _usage(*, signing: bool = False, ca: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=signing,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def test_certificate_without_key_usage(dev_ca: Issued, trust_store: TrustStore) -> None:
    bare = _cert(dev_ca, "bare", ca=False, usage=None)
    with pytest.raises(CertificateUntrusted, match="no KeyUsage"):
        trust_store.check(bare.cert, _now())


def test_non_repudiation_alone_is_enough(dev_ca: Issued, trust_store: TrustStore) -> None:
    usage = x509.KeyUsage(False, True, False, False, False, False, False, False, False)
    trust_store.check(_cert(dev_ca, "nr", ca=False, usage=usage).cert, _now())


def test_ca_flagged_leaf_with_signing_usage_is_untrusted(
    dev_ca: Issued, trust_store: TrustStore
) -> None:
    sneaky = _cert(dev_ca, "sneaky", ca=True, usage=_usage(signing=True, ca=True), path_length=0)
    with pytest.raises(CertificateUntrusted, match="does not chain") as refused:
        trust_store.check(sneaky.cert, _now())
    assert "no valid path to" in refused.value.detail
    assert "exhausted" not in refused.value.detail


def _root_ca(path_length: int) -> Issued:
    # create_ca limits its path length to 0; a root for intermediates is made by hand.
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Root CA")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(_now() - timedelta(days=1))
        .not_valid_after(_now() + timedelta(days=60))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Issued(key, cert)


@pytest.fixture(scope="module")
def three_level() -> tuple[Issued, Issued, Issued]:
    root = _root_ca(path_length=1)
    intermediate = _cert(root, "Intermediate CA", ca=True, usage=_usage(ca=True), path_length=0)
    leaf = issue_certificate(intermediate, "Agency", agency_code="000.00.00.A01", key_type="ec")
    return root, intermediate, leaf


def test_intermediate_from_the_signature_or_the_store(
    three_level: tuple[Issued, Issued, Issued],
) -> None:
    root, intermediate, leaf = three_level
    with pytest.raises(CertificateUntrusted):
        TrustStore([root.cert]).check(leaf.cert, _now())
    TrustStore([root.cert]).check(leaf.cert, _now(), chain=[intermediate.cert])
    TrustStore([root.cert], intermediates=[intermediate.cert]).check(leaf.cert, _now())


def test_crl_of_an_intermediate(three_level: tuple[Issued, Issued, Issued]) -> None:
    root, intermediate, leaf = three_level
    crl = make_crl(intermediate, [leaf.cert.serial_number])
    store = TrustStore([root.cert], [crl], intermediates=[intermediate.cert])
    with pytest.raises(CertificateRevoked):
        store.check(leaf.cert, _now())


def test_revoked_intermediate(three_level: tuple[Issued, Issued, Issued]) -> None:
    root, intermediate, leaf = three_level
    crl = make_crl(root, [intermediate.cert.serial_number])
    with pytest.raises(CertificateRevoked):
        TrustStore([root.cert], [crl]).check(leaf.cert, _now(), chain=[intermediate.cert])


def test_crl_of_an_unknown_issuer_is_a_configuration_error(
    untrusted_ca: Issued, dev_ca: Issued
) -> None:
    with pytest.raises(ValueError, match="not signed by a configured CA"):
        TrustStore([dev_ca.cert], [make_crl(untrusted_ca, [1])])


def test_forged_crl_is_a_configuration_error(dev_ca: Issued) -> None:
    impostor = create_ca()  # same default subject as the dev CA, different key
    assert impostor.cert.subject == dev_ca.cert.subject
    with pytest.raises(ValueError, match="not signed by a configured CA"):
        TrustStore([dev_ca.cert], [make_crl(impostor, [1])])


def test_empty_store_and_naive_time_are_refused(
    agency_g22: Issued, trust_store: TrustStore
) -> None:
    with pytest.raises(ValueError, match="trust anchor"):
        TrustStore([])
    with pytest.raises(ValueError, match="timezone-aware"):
        trust_store.check(agency_g22.cert, datetime.now())


def test_from_files(
    tmp_path: Path,
    dev_ca_pem_file: Path,
    dev_crl: x509.CertificateRevocationList,
    untrusted_ca: Issued,
    revoked_cert: Issued,
    agency_g22: Issued,
    untrusted_cert: Issued,
) -> None:
    bundle = tmp_path / "anchors.pem"
    bundle.write_bytes(dev_ca_pem_file.read_bytes() + cert_to_pem(untrusted_ca.cert))
    der_crl = tmp_path / "ca.crl"
    der_crl.write_bytes(dev_crl.public_bytes(Encoding.DER))
    store = load_trust_store([bundle], [der_crl])
    store.check(agency_g22.cert, _now())
    store.check(untrusted_cert.cert, _now())  # the second anchor of the bundle
    with pytest.raises(CertificateRevoked):
        store.check(revoked_cert.cert, _now())


def test_fingerprint_is_lowercase_sha256_of_der(agency_g22: Issued) -> None:
    expected = hashlib.sha256(agency_g22.cert.public_bytes(Encoding.DER)).hexdigest()
    assert certificate_fingerprint(agency_g22.cert) == expected
    assert len(expected) == 64 and expected == expected.lower()


def test_agency_mapping_is_by_registered_fingerprint(
    agency_g22: Issued, agency_h49: Issued
) -> None:
    fingerprint = certificate_fingerprint(agency_g22.cert)
    check_agency_certificate(agency_g22.cert, {fingerprint}, "000.00.00.G22")
    colon_upper = ":".join(fingerprint[i : i + 2] for i in range(0, 64, 2)).upper()
    check_agency_certificate(agency_g22.cert, [colon_upper], "000.00.00.G22")
    with pytest.raises(CertificateNotAgency, match=r"000\.00\.00\.G22"):
        # H49's certificate names its own agency in the subject; only registration counts.
        check_agency_certificate(agency_h49.cert, {fingerprint}, "000.00.00.G22")
    with pytest.raises(CertificateNotAgency):
        check_agency_certificate(agency_g22.cert, (), "000.00.00.G22")
