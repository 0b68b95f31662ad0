"""A development certificate authority: CA, agency and axis certificates, CRLs.

For local setups (`edoc-axis init`) and tests only. Production trusts the
government CA; nothing here is meant to stand in for it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

KeyType = Literal["rsa", "ec"]
# Tolerates small clock differences between the issuing and the checking machine.
_BACKDATE = timedelta(minutes=5)


@dataclass(frozen=True)
class Issued:
    """A private key and the certificate issued for it."""

    key: CertificateIssuerPrivateKeyTypes
    cert: x509.Certificate


def _new_key(key_type: KeyType) -> CertificateIssuerPrivateKeyTypes:
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if key_type == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    raise ValueError(f"key_type must be 'rsa' or 'ec', not {key_type!r}")


def _now(now: datetime | None) -> datetime:
    return datetime.now(UTC) if now is None else now.astimezone(UTC)


def create_ca(
    common_name: str = "edoc-axis development CA",
    *,
    valid_days: int = 3650,
    now: datetime | None = None,
    key_type: KeyType = "rsa",
) -> Issued:
    """A self-signed CA that may sign end-entity certificates and CRLs."""
    key = _new_key(key_type)
    start = _now(now) - _BACKDATE
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "edoc-axis development"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    usage = x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Issued(key, cert)


def _leaf_usage(digital_signature: bool) -> x509.KeyUsage:
    # Without digitalSignature the certificate still has a KeyUsage (encipherment
    # only), which is the realistic shape of a certificate meant for another job.
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=digital_signature,
        key_encipherment=not digital_signature,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def issue_certificate(
    ca: Issued,
    common_name: str,
    *,
    agency_code: str | None = None,
    key_type: KeyType = "rsa",
    valid_from: datetime | None = None,
    valid_days: int = 825,
    key_usage_digital_signature: bool = True,
) -> Issued:
    """An end-entity signing certificate issued by ``ca``.

    With ``agency_code`` the subject is O=<common_name> (the agency's name),
    CN=<agency_code>, UID=<agency_code>; without it, CN=<common_name>. The
    axis maps certificates to agencies by fingerprint, never by this text.
    ``valid_from`` in the past or future makes expired or not-yet-valid
    certificates for tests.
    """
    if agency_code is None:
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    else:
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, common_name),
                x509.NameAttribute(NameOID.COMMON_NAME, agency_code),
                x509.NameAttribute(NameOID.USER_ID, agency_code),
            ]
        )
    key = _new_key(key_type)
    start = _now(None) - _BACKDATE if valid_from is None else valid_from.astimezone(UTC)
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca.key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_leaf_usage(key_usage_digital_signature), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(ca.key, hashes.SHA256())
    )
    return Issued(key, cert)


def issue_axis_certificate(
    ca: Issued, axis_name: str = "edoc-axis", *, key_type: KeyType = "ec", valid_days: int = 825
) -> Issued:
    """The axis's own signing certificate (receipts); ECDSA P-256 by default for speed."""
    return issue_certificate(ca, axis_name, key_type=key_type, valid_days=valid_days)


DEV_SERVER_HOSTS = ("127.0.0.1", "localhost")


def issue_server_certificate(
    ca: Issued,
    hosts: Sequence[str] = DEV_SERVER_HOSTS,
    *,
    key_type: KeyType = "ec",
    valid_days: int = 825,
) -> Issued:
    """A TLS server certificate for ``hosts`` (IP addresses or DNS names, all in the SAN)."""
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    key = _new_key(key_type)
    start = _now(None) - _BACKDATE
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=key_type == "rsa",
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca.key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(ca.key, hashes.SHA256())
    )
    return Issued(key, cert)


def make_crl(
    ca: Issued,
    revoked_serials: Sequence[int],
    *,
    now: datetime | None = None,
    next_update_days: int = 30,
) -> x509.CertificateRevocationList:
    """A CRL signed by ``ca`` listing ``revoked_serials`` as revoked at ``now``."""
    at = _now(now)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.cert.subject)
        .last_update(at - _BACKDATE)
        .next_update(at + timedelta(days=next_update_days))
        .add_extension(x509.CRLNumber(int(at.timestamp())), critical=False)
    )
    for serial in revoked_serials:
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(at - _BACKDATE)
            .build()
        )
        builder = builder.add_revoked_certificate(entry)
    return builder.sign(ca.key, hashes.SHA256())
